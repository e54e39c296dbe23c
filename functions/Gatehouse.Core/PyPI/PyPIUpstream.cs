using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Configuration;
using Microsoft.Extensions.Options;

namespace Gatehouse.PyPI;

/// <summary>The configured PyPI upstream: fetches project pages and files, and refuses any host it was not given.</summary>
public sealed class PyPIUpstream
{
    public const string HttpClientName = "gatehouse-upstream";
    private const string JsonAccept = "application/vnd.pypi.simple.v1+json";
    private const int MaxRedirects = 3;

    private readonly IHttpClientFactory _clients;
    private readonly PyPIOptions _options;
    private readonly TimeProvider _time;
    private readonly HashSet<string> _allowedHosts;

    public PyPIUpstream(IHttpClientFactory clients, IOptions<GatehouseOptions> options, TimeProvider time)
    {
        _clients = clients;
        _options = options.Value.PyPI;
        _time = time;
        IndexUrl = new Uri(EnsureSlash(_options.IndexUrl));
        JsonApiUrl = new Uri(EnsureSlash(_options.JsonApiUrl));
        _allowedHosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { IndexUrl.Authority, JsonApiUrl.Authority };
        foreach (var host in _options.FileHosts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            _allowedHosts.Add(host);
        }
    }

    public Uri IndexUrl { get; }
    public Uri JsonApiUrl { get; }

    /// <summary>True when a URL points at a configured upstream host over http(s): no open proxy.</summary>
    public bool IsAllowed(Uri url) =>
        (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp) && _allowedHosts.Contains(url.Authority);

    /// <summary>Fetches and parses a project page (PEP 691 JSON).</summary>
    public async Task<UpstreamResult<SimpleProject>> GetProjectAsync(string normalizedProject, CancellationToken cancellationToken)
    {
        var url = new Uri(IndexUrl, Uri.EscapeDataString(normalizedProject) + "/");
        using var response = await SendAsync(url, JsonAccept, null, cancellationToken);
        if (response is null)
        {
            return UpstreamResult<SimpleProject>.Failed("the upstream index could not be reached");
        }
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return UpstreamResult<SimpleProject>.NotFound();
        }
        if (!response.IsSuccessStatusCode)
        {
            return UpstreamResult<SimpleProject>.Failed($"the upstream index answered {(int)response.StatusCode}");
        }
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType != JsonAccept)
        {
            return UpstreamResult<SimpleProject>.Failed($"the upstream index answered {mediaType ?? "no content type"}, not PEP 691 JSON");
        }
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var node = await JsonNode.ParseAsync(body, cancellationToken: cancellationToken) as JsonObject
                ?? throw new JsonException("not an object");
            var pageUrl = response.RequestMessage?.RequestUri ?? url;
            return UpstreamResult<SimpleProject>.Ok(SimpleProjectJson.Parse(node, pageUrl, normalizedProject, _time.GetUtcNow()));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or HttpRequestException or IOException or UriFormatException)
        {
            return UpstreamResult<SimpleProject>.Failed("the upstream index sent an unreadable page: " + e.Message);
        }
    }

    /// <summary>Fetches a Warehouse JSON API document (<c>/pypi/p/json</c> or <c>/pypi/p/v/json</c>).</summary>
    public async Task<UpstreamResult<JsonObject>> GetJsonApiAsync(string normalizedProject, string? version, CancellationToken cancellationToken)
    {
        var path = version is null
            ? $"{Uri.EscapeDataString(normalizedProject)}/json"
            : $"{Uri.EscapeDataString(normalizedProject)}/{Uri.EscapeDataString(version)}/json";
        using var response = await SendAsync(new Uri(JsonApiUrl, path), "application/json", null, cancellationToken);
        if (response is null)
        {
            return UpstreamResult<JsonObject>.Failed("the upstream JSON API could not be reached");
        }
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return UpstreamResult<JsonObject>.NotFound();
        }
        if (!response.IsSuccessStatusCode)
        {
            return UpstreamResult<JsonObject>.Failed($"the upstream JSON API answered {(int)response.StatusCode}");
        }
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            return await JsonNode.ParseAsync(body, cancellationToken: cancellationToken) is JsonObject o
                ? UpstreamResult<JsonObject>.Ok(o)
                : UpstreamResult<JsonObject>.Failed("the upstream JSON API sent no object");
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or IOException)
        {
            return UpstreamResult<JsonObject>.Failed("the upstream JSON API sent an unreadable document: " + e.Message);
        }
    }

    /// <summary>Opens a file download; the caller disposes the response. Null when the upstream could not be reached.</summary>
    public Task<HttpResponseMessage?> GetFileAsync(Uri url, CancellationToken cancellationToken) =>
        SendAsync(url, "*/*", "identity", cancellationToken);

    private async Task<HttpResponseMessage?> SendAsync(Uri url, string accept, string? acceptEncoding, CancellationToken cancellationToken)
    {
        var client = _clients.CreateClient(HttpClientName);
        for (var hop = 0; hop <= MaxRedirects; hop++)
        {
            if (!IsAllowed(url))
            {
                throw new UpstreamNotAllowedException(url);
            }
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.TryAddWithoutValidation("Accept", accept);
            if (acceptEncoding is not null)
            {
                request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
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
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                url = location.IsAbsoluteUri ? location : new Uri(url, location);
                response.Dispose();
                continue;
            }
            return response;
        }
        return null;
    }

    private static string EnsureSlash(string url) => url.EndsWith('/') ? url : url + "/";
}

/// <summary>An upstream answer: the value, a definite "not found", or a failure to tell the client about.</summary>
public sealed record UpstreamResult<T>(T? Value, bool IsNotFound, string? Error) where T : class
{
    public static UpstreamResult<T> Ok(T value) => new(value, false, null);
    public static UpstreamResult<T> NotFound() => new(null, true, null);
    public static UpstreamResult<T> Failed(string error) => new(null, false, error);
}

/// <summary>An upstream URL outside the configured hosts: never contacted.</summary>
public sealed class UpstreamNotAllowedException(Uri url) : Exception($"{url.Authority} is not a configured upstream host.")
{
    public Uri Url { get; } = url;
}
