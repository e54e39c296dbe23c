using System.Globalization;
using System.Net.Http.Headers;
using Gatehouse.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.HuggingFace;

/// <summary>
/// The configured Hub endpoint. Sends Gatehouse's own upstream token when one is configured, to the Hub only, and
/// nothing of the client's (research H0); file downloads follow redirects to the Hub or its configured CDN hosts only.
/// </summary>
public sealed class HuggingFaceUpstream
{
    public const string HttpClientName = "gatehouse-hf";
    private const int MaxRedirects = 3;

    /// <summary>The Hub keeps files above 10 MB in LFS; a non-LFS answer larger than this is refused.</summary>
    public const int MaxSmallFileBytes = 32 * 1024 * 1024;
    private static readonly UriCreationOptions Verbatim = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private readonly IHttpClientFactory _clients;
    private readonly string? _token;
    private readonly string[] _fileHosts;

    public HuggingFaceUpstream(IHttpClientFactory clients, IOptions<GatehouseOptions> options, ILogger<HuggingFaceUpstream>? log = null)
    {
        _clients = clients;
        var hf = options.Value.HuggingFace;
        EndpointBase = hf.Endpoint.TrimEnd('/');
        Endpoint = new Uri(EndpointBase + "/");
        _token = string.IsNullOrWhiteSpace(hf.UpstreamToken) ? null : hf.UpstreamToken.Trim();
        // App Service passes a Key Vault reference it could not resolve (missing secret, missing role) through as its
        // own text; that is not a token and must not be sent to the Hub.
        if (_token?.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase) == true)
        {
            log?.LogError("Gatehouse__HuggingFace__UpstreamToken is an unresolved Key Vault reference; gated repositories will be refused until the secret resolves");
            _token = null;
        }
        _fileHosts = hf.FileHosts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>True for the Hub itself (same scheme and authority).</summary>
    private bool IsHub(Uri url) =>
        string.Equals(url.Authority, Endpoint.Authority, StringComparison.OrdinalIgnoreCase) && url.Scheme == Endpoint.Scheme;

    /// <summary>True for a configured CDN host reached over HTTPS (or the Hub's own scheme): no open proxy.</summary>
    internal bool IsFileHost(Uri url) =>
        (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Endpoint.Scheme)
        && _fileHosts.Any(h => h.StartsWith("*.", StringComparison.Ordinal)
            ? url.Host.EndsWith(h[1..], StringComparison.OrdinalIgnoreCase)
            : string.Equals(url.Authority, h, StringComparison.OrdinalIgnoreCase));

    /// <summary>The endpoint with a trailing slash.</summary>
    public Uri Endpoint { get; }

    /// <summary>The endpoint without a trailing slash, as it prefixes absolute URLs in upstream answers.</summary>
    public string EndpointBase { get; }

    /// <summary>
    /// Sends <paramref name="method"/> to <c>{endpoint}/{pathAndQuery}</c> (already percent-encoded, sent verbatim).
    /// The caller disposes the response; null when the upstream could not be reached or redirected elsewhere.
    /// </summary>
    public async Task<HttpResponseMessage?> SendAsync(HttpMethod method, string pathAndQuery, byte[]? body, string? contentType, CancellationToken cancellationToken)
    {
        var client = _clients.CreateClient(HttpClientName);
        var url = new Uri(EndpointBase + "/" + pathAndQuery.TrimStart('/'), in Verbatim);
        for (var hop = 0; hop <= MaxRedirects; hop++)
        {
            if (!string.Equals(url.Authority, Endpoint.Authority, StringComparison.OrdinalIgnoreCase) || url.Scheme != Endpoint.Scheme)
            {
                return null;
            }
            using var request = new HttpRequestMessage(method, url);
            request.Headers.TryAddWithoutValidation("Accept", "application/json");
            if (_token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            }
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                if (contentType is not null)
                {
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
                }
            }
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                return null;
            }
            var status = (int)response.StatusCode;
            // Renamed repos answer 307/301 with a relative API path; POST bodies are only resent on 307/308.
            if (status is >= 300 and < 400 && response.Headers.Location is { } location
                && (method == HttpMethod.Get || status is 307 or 308))
            {
                url = location.IsAbsoluteUri ? location : new Uri(url, location);
                response.Dispose();
                continue;
            }
            return response;
        }
        return null;
    }

    /// <summary>The absolute upstream URL for an already percent-encoded path.</summary>
    public Uri Url(string pathAndQuery) => new(EndpointBase + "/" + pathAndQuery.TrimStart('/'), in Verbatim);

    /// <summary>HEAD of a resolve URL without following its redirect, so the LFS headers of the 302 can be read.</summary>
    public Task<HttpResponseMessage?> HeadFileAsync(Uri url, CancellationToken cancellationToken) =>
        SendFileAsync(HttpMethod.Head, url, followRedirects: false, cancellationToken);

    /// <summary>GET of a file, following redirects (the Hub's 302 to its CDN) only on the upstream host. Null when unreachable.</summary>
    public Task<HttpResponseMessage?> GetFileAsync(Uri url, CancellationToken cancellationToken) =>
        SendFileAsync(HttpMethod.Get, url, followRedirects: true, cancellationToken);

    /// <summary>Downloads a small (non-LFS) file, at most <see cref="MaxSmallFileBytes"/>, from its commit-pinned URL and checks its git blob sha1.</summary>
    public async Task<(byte[]? Bytes, string? Error)> GetSmallFileAsync(Uri url, string gitSha1, CancellationToken cancellationToken)
    {
        using var response = await GetFileAsync(url, cancellationToken);
        if (response is null || !response.IsSuccessStatusCode)
        {
            return (null, $"The Hugging Face upstream could not deliver the file ({(response is null ? "no answer" : ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture))})");
        }
        if (response.Content.Headers.ContentLength > MaxSmallFileBytes)
        {
            return (null, "The Hugging Face upstream sent a non-LFS file larger than Gatehouse accepts");
        }
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxSmallFileBytes)
            {
                return (null, "The Hugging Face upstream sent a non-LFS file larger than Gatehouse accepts");
            }
            buffer.Write(chunk, 0, read);
        }
        var bytes = buffer.ToArray();
        var actual = HfFileDigests.GitBlobSha1(bytes);
        return actual == gitSha1
            ? (bytes, null)
            : (null, $"Upstream content does not match its git sha1 (got {actual}, expected {gitSha1})");
    }

    private async Task<HttpResponseMessage?> SendFileAsync(HttpMethod method, Uri url, bool followRedirects, CancellationToken cancellationToken)
    {
        var client = _clients.CreateClient(HttpClientName);
        for (var hop = 0; hop <= MaxRedirects; hop++)
        {
            var hub = IsHub(url);
            if (!hub && !IsFileHost(url))
            {
                return null;
            }
            using var request = new HttpRequestMessage(method, url);
            request.Headers.TryAddWithoutValidation("Accept", "*/*");
            request.Headers.TryAddWithoutValidation("Accept-Encoding", "identity");
            if (_token is not null && hub)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            }
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                return null;
            }
            var status = (int)response.StatusCode;
            if (followRedirects && status is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                url = location.IsAbsoluteUri ? location : new Uri(url, location);
                response.Dispose();
                continue;
            }
            return response;
        }
        return null;
    }
}
