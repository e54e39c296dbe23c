using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Core.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Cli.Tests.Fakes;

/// <summary>One request the fake received, with its body, as it arrived.</summary>
public sealed record RecordedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body, DateTimeOffset At)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public string? QueryValue(string name) => QueryHelpers.ParseQuery(Query).TryGetValue(name, out var values) ? values.ToString() : null;

    public string? ApiVersion => QueryValue("api-version");

    public JsonNode? Json => JsonNode.Parse(Encoding.UTF8.GetString(Body));

    public override string ToString() => $"{Method} {Path}{Query}";
}

/// <summary>A scripted answer: status, JSON body and headers.</summary>
public sealed record FakeResponse(int Status, JsonNode? Json = null, IReadOnlyDictionary<string, string>? Headers = null, string? Text = null)
{
    public static FakeResponse Ok(JsonNode? json, params (string Name, string Value)[] headers) => new(200, json, headers.ToDictionary(h => h.Name, h => h.Value));

    public static FakeResponse With(int status, JsonNode? json, params (string Name, string Value)[] headers) => new(status, json, headers.ToDictionary(h => h.Name, h => h.Value));
}

/// <summary>
/// Azure Resource Manager (and a Kudu SCM site) on loopback: a real Kestrel HTTPS socket with a throwaway self-signed
/// certificate, which the client side trusts by pinning it (<see cref="Transport"/>). Every request is recorded; answers
/// come from a script of (method, path) → responses served in order, the last one repeating. Anything unscripted gets
/// ARM's 404 error body, so a wrong path shows up as a failure naming it.
/// </summary>
public sealed class FakeAzure : IAsyncDisposable
{
    private static readonly Lazy<X509Certificate2> SharedCertificate = new(CreateCertificate);

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentDictionary<string, Script> _scripts = new(StringComparer.OrdinalIgnoreCase);

    private FakeAzure(WebApplication app) => _app = app;

    /// <summary>https://127.0.0.1:port/</summary>
    public Uri BaseUri { get; private set; } = null!;

    /// <summary>127.0.0.1:port, as a site lists its SCM host name.</summary>
    public string Host => BaseUri.Authority;

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    public static async Task<FakeAzure> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(SharedCertificate.Value)));
        var app = builder.Build();
        var fake = new FakeAzure(app);
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        fake.BaseUri = new Uri(app.Urls.Single().Replace("[::1]", "127.0.0.1") + "/");
        return fake;
    }

    /// <summary>An Azure.Core transport that reaches this server and trusts only its certificate.</summary>
    public HttpPipelineTransport Transport() => new HttpClientTransport(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && certificate.GetCertHashString() == SharedCertificate.Value.GetCertHashString(),
        },
    });

    /// <summary>An absolute URL on this server, e.g. for an Azure-AsyncOperation header.</summary>
    public string Url(string pathAndQuery) => new Uri(BaseUri, pathAndQuery).AbsoluteUri;

    /// <summary>Answers <paramref name="method"/> <paramref name="path"/> (any query) with these responses in turn; the last repeats.</summary>
    public void On(string method, string path, params FakeResponse[] responses) => _scripts[$"{method} {path}"] = new Script(responses);

    /// <summary>The requests to one path (query ignored), in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> To(string method, string path) =>
        Requests.Where(r => r.Method == method && string.Equals(r.Path, path, StringComparison.OrdinalIgnoreCase)).ToList();

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        var recorded = new RecordedRequest(request.Method, request.Path.Value ?? "", request.QueryString.Value ?? "",
            request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body.ToArray(), DateTimeOffset.UtcNow);
        _requests.Enqueue(recorded);

        var response = _scripts.TryGetValue($"{recorded.Method} {recorded.Path}", out var script)
            ? script.Next()
            : FakeResponse.With(404, Arm.Error("NotScripted", $"The fake has no answer for {recorded}."));
        context.Response.StatusCode = response.Status;
        foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }
        if (response.Text is not null || response.Json is not null)
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync(response.Text ?? response.Json!.ToJsonString());
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private static X509Certificate2 CreateCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    private sealed class Script(FakeResponse[] responses)
    {
        private int _next;

        public FakeResponse Next()
        {
            var index = Interlocked.Increment(ref _next) - 1;
            return responses[Math.Min(index, responses.Length - 1)];
        }
    }
}
