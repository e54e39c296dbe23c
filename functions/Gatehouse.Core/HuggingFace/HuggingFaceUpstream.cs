using Gatehouse.Configuration;
using Gatehouse.Upstream;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.HuggingFace;

/// <summary>
/// The configured Hub endpoint, through <see cref="UpstreamClient"/>. The API goes to the Hub only; file downloads
/// follow the Hub's redirects to its configured CDN hosts. Gatehouse's own upstream token, when configured, goes to the
/// Hub and never to a CDN host (their URLs are pre-signed); a client's token is never sent anywhere.
/// </summary>
public sealed class HuggingFaceUpstream
{
    public const string HttpClientName = "gatehouse-hf";

    /// <summary>The Hub keeps files above 10 MB in LFS; a non-LFS answer larger than this is refused.</summary>
    public const int MaxSmallFileBytes = 32 * 1024 * 1024;

    /// <summary>An API answer (repository info, a tree page of 1000 entries, paths-info) is far below this.</summary>
    public const long MaxApiBytes = 64L * 1024 * 1024;

    private static readonly UriCreationOptions Verbatim = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private readonly UpstreamClient _client;
    private readonly string[] _fileHosts;

    public HuggingFaceUpstream(UpstreamClient client, IOptions<GatehouseOptions> options, ILogger<HuggingFaceUpstream>? log = null)
    {
        _client = client;
        var hf = options.Value.HuggingFace;
        EndpointBase = hf.Endpoint.TrimEnd('/');
        Endpoint = new Uri(EndpointBase + "/");
        var token = string.IsNullOrWhiteSpace(hf.UpstreamToken) ? null : hf.UpstreamToken.Trim();
        // App Service passes a Key Vault reference it could not resolve (missing secret, missing role) through as its
        // own text; that is not a token and must not be sent to the Hub.
        if (token?.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase) == true)
        {
            log?.LogError("Gatehouse__HuggingFace__UpstreamToken is an unresolved Key Vault reference; gated repositories will be refused until the secret resolves");
            token = null;
        }
        _fileHosts = hf.FileHosts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Api = new UpstreamProfile("The Hugging Face upstream", HttpClientName, IsHub, IsHub, token);
        Files = new UpstreamProfile("The Hugging Face upstream", HttpClientName, url => IsHub(url) || IsFileHost(url), IsHub, token);
    }

    /// <summary>The endpoint with a trailing slash.</summary>
    public Uri Endpoint { get; }

    /// <summary>The endpoint without a trailing slash, as it prefixes absolute URLs in upstream answers.</summary>
    public string EndpointBase { get; }

    /// <summary>The repository API: the Hub's host only.</summary>
    public UpstreamProfile Api { get; }

    /// <summary>File downloads: the Hub and its CDN hosts.</summary>
    public UpstreamProfile Files { get; }

    /// <summary>The absolute upstream URL for an already percent-encoded path, kept verbatim.</summary>
    public Uri Url(string pathAndQuery) => new(EndpointBase + "/" + pathAndQuery.TrimStart('/'), in Verbatim);

    /// <summary>
    /// Sends an API request to <c>{endpoint}/{pathAndQuery}</c> (already percent-encoded). Renamed repositories answer
    /// with a redirect to another API path on the Hub, which is followed; anything else is refused.
    /// </summary>
    public Task<UpstreamResponse> SendApiAsync(HttpMethod method, string pathAndQuery, byte[]? body, string? contentType, CancellationToken cancellationToken) =>
        _client.SendAsync(Api, new UpstreamRequest(method, Url(pathAndQuery), "application/json", MaxApiBytes, Body: body, ContentType: contentType), cancellationToken);

    /// <summary>HEAD of a resolve URL without following its redirect, so the LFS headers of the 302 can be read.</summary>
    public Task<UpstreamResponse> HeadFileAsync(Uri url, CancellationToken cancellationToken) =>
        _client.SendAsync(Files, new UpstreamRequest(HttpMethod.Head, url, "*/*", 0, "identity", FollowRedirects: false), cancellationToken);

    /// <summary>GET of a file, following the Hub's redirect to its CDN; at most <paramref name="maxBytes"/>.</summary>
    public Task<UpstreamResponse> OpenFileAsync(Uri url, long maxBytes, CancellationToken cancellationToken) =>
        _client.SendAsync(Files, UpstreamRequest.Get(url, "*/*", maxBytes, "identity"), cancellationToken);

    /// <summary>Downloads a small (non-LFS) file, at most <see cref="MaxSmallFileBytes"/>, and checks its git blob sha1.</summary>
    public async Task<(byte[]? Bytes, string? Error)> GetSmallFileAsync(Uri url, string gitSha1, CancellationToken cancellationToken)
    {
        using var response = await OpenFileAsync(url, MaxSmallFileBytes, cancellationToken);
        if (response.Failure is { } failure)
        {
            return (null, failure.Message);
        }
        if (!response.IsSuccess)
        {
            return (null, $"The Hugging Face upstream could not deliver the file ({response.Status})");
        }
        var (bytes, problem) = await response.ReadBytesAsync(cancellationToken);
        if (bytes is null)
        {
            return (null, problem!.Kind == UpstreamFailureKind.TooLarge ? "The Hugging Face upstream sent a non-LFS file larger than Gatehouse accepts" : problem.Message);
        }
        var actual = HfFileDigests.GitBlobSha1(bytes);
        return actual == gitSha1
            ? (bytes, null)
            : (null, $"Upstream content does not match its git sha1 (got {actual}, expected {gitSha1})");
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
}
