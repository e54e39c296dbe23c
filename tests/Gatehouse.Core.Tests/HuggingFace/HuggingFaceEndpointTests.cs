using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Gatehouse.HuggingFace;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Core.Tests.HuggingFace;

public class HuggingFaceEndpointTests
{
    private sealed class Handler(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public List<HttpRequestMessage> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            return Task.FromResult(answer(request));
        }
    }

    /// <summary>The endpoint as both hosts compose it (AddGatehouse), with the Hub's HTTP client sending to <paramref name="handler"/>.</summary>
    private static HuggingFaceEndpoint Endpoint(Handler handler, string? upstreamToken = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["Gatehouse:PublicBaseUrl"] = "http://gatehouse.test",
            ["Gatehouse:HuggingFace:Endpoint"] = "https://hub.test/",
            ["Gatehouse:HuggingFace:UpstreamToken"] = upstreamToken,
        }).Build();
        var services = new ServiceCollection().AddLogging().AddGatehouse(configuration);
        services.AddSingleton<Microsoft.Extensions.Hosting.IHostApplicationLifetime, Pipeline.FakeLifetime>(); // what each host provides
        services.AddHttpClient(HuggingFaceUpstream.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => handler);
        return services.BuildServiceProvider().GetRequiredService<HuggingFaceEndpoint>();
    }

    private static DefaultHttpContext Context(string path, string method = "GET")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("gatehouse.test");
        context.Request.Path = path;
        context.Request.Headers.Authorization = "Bearer entitlement-secret";
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static string Body(HttpContext context) => Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray());

    [Fact]
    public async Task Only_the_configured_upstream_token_is_sent_never_the_clients()
    {
        var handler = new Handler(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"sha\":\"x\"}") });
        var context = Context("/hf/api/models/ns/name");
        await Endpoint(handler, "hf_service_token").HandleAsync(context, null!);
        Assert.Equal(200, context.Response.StatusCode);
        var request = Assert.Single(handler.Requests);
        Assert.Equal("https://hub.test/api/models/ns/name", request.RequestUri!.AbsoluteUri);
        Assert.Equal("Bearer hf_service_token", request.Headers.Authorization?.ToString());

        handler.Requests.Clear();
        await Endpoint(handler).HandleAsync(Context("/hf/api/models/ns/name"), null!);
        Assert.Null(Assert.Single(handler.Requests).Headers.Authorization);
    }

    [Fact]
    public async Task An_unreachable_upstream_is_a_502_with_a_json_error()
    {
        var handler = new Handler(_ => throw new HttpRequestException("connection refused"));
        var context = Context("/hf/api/datasets/ns/name/tree/main");
        await Endpoint(handler).HandleAsync(context, null!);
        Assert.Equal(502, context.Response.StatusCode);
        Assert.Contains("could not be reached", JsonDocument.Parse(Body(context)).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Tree_answers_lose_xet_hashes_and_links_point_at_gatehouse()
    {
        var handler = new Handler(_ =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent("[{\"type\":\"file\",\"path\":\"m.safetensors\",\"xetHash\":\"abc\",\"lfs\":{\"oid\":\"s\"}}]"),
            };
            response.Headers.TryAddWithoutValidation("Link", "<https://hub.test/api/models/ns/name/tree/main?cursor=c2>; rel=\"next\", <https://hub.test/x>; rel=\"xet-auth\"");
            return response;
        });
        var context = Context("/hf/api/models/ns/name/tree/main");
        await Endpoint(handler).HandleAsync(context, null!);
        Assert.Equal(200, context.Response.StatusCode);
        Assert.DoesNotContain("xetHash", Body(context));
        Assert.Equal("<http://gatehouse.test/hf/api/models/ns/name/tree/main?cursor=c2>; rel=\"next\"", context.Response.Headers.Link.ToString());

        // The link comes from Gatehouse's configured address, never from the Host header a client sends.
        var forged = Context("/hf/api/models/ns/name/tree/main");
        forged.Request.Host = new HostString("evil.example");
        await Endpoint(handler).HandleAsync(forged, null!);
        Assert.StartsWith("<http://gatehouse.test/hf/", forged.Response.Headers.Link.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_anonymous_upstream_401_for_an_unknown_repo_becomes_a_404_repo_not_found()
    {
        var handler = new Handler(_ =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.Unauthorized) { Content = new StringContent("{\"error\":\"Repository not found\"}") };
            response.Headers.TryAddWithoutValidation("X-Error-Code", "RepoNotFound");
            return response;
        });
        var context = Context("/hf/api/models/ns/missing");
        await Endpoint(handler).HandleAsync(context, null!);
        Assert.Equal(404, context.Response.StatusCode);
        Assert.Equal("RepoNotFound", context.Response.Headers["X-Error-Code"].ToString());
    }

    [Theory]
    [InlineData("/hf/api/models/a--b/c")]
    [InlineData("/hf/api/models/ns/name/tree/main/%2e%2e/x")]
    public async Task Invalid_input_is_refused_without_an_upstream_call(string path)
    {
        var handler = new Handler(_ => throw new InvalidOperationException("must not be called"));
        var context = Context(path);
        await Endpoint(handler).HandleAsync(context, null!);
        Assert.Equal(400, context.Response.StatusCode);
        Assert.Equal("BadRequest", context.Response.Headers["X-Error-Code"].ToString());
        Assert.Empty(handler.Requests);
    }
}
