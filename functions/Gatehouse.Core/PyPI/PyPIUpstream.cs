using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Configuration;
using Gatehouse.Upstream;
using Microsoft.Extensions.Options;

namespace Gatehouse.PyPI;

/// <summary>
/// The configured PyPI upstream, through <see cref="UpstreamClient"/>: project pages, JSON API documents, files and
/// their metadata and provenance, only from the index host, the JSON API host and the configured file hosts, and
/// every body capped for what it is.
/// </summary>
public sealed class PyPIUpstream
{
    public const string HttpClientName = "gatehouse-upstream";
    private const string JsonAccept = "application/vnd.pypi.simple.v1+json";

    /// <summary>A project page of PyPI's largest projects is a few MB; 64 MiB is far past any real one.</summary>
    public const long MaxPageBytes = 64L * 1024 * 1024;

    /// <summary>A JSON API document lists every release's files; the largest are tens of MB.</summary>
    public const long MaxJsonApiBytes = 64L * 1024 * 1024;

    /// <summary>A wheel's METADATA (PEP 658).</summary>
    public const long MaxMetadataBytes = 16L * 1024 * 1024;

    /// <summary>A PEP 740 provenance document (a few attestation bundles).</summary>
    public const long MaxProvenanceBytes = 4L * 1024 * 1024;

    private readonly UpstreamClient _client;
    private readonly TimeProvider _time;
    private readonly HashSet<string> _allowedHosts;

    public PyPIUpstream(UpstreamClient client, IOptions<GatehouseOptions> options, TimeProvider time)
    {
        _client = client;
        _time = time;
        var pypi = options.Value.PyPI;
        IndexUrl = new Uri(EnsureSlash(pypi.IndexUrl));
        JsonApiUrl = new Uri(EnsureSlash(pypi.JsonApiUrl));
        _allowedHosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { IndexUrl.Authority, JsonApiUrl.Authority };
        foreach (var host in pypi.FileHosts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            _allowedHosts.Add(host);
        }
        Profile = new UpstreamProfile("the PyPI upstream", HttpClientName, IsAllowed, _ => false);
    }

    public Uri IndexUrl { get; }

    public Uri JsonApiUrl { get; }

    public UpstreamProfile Profile { get; }

    /// <summary>True when a URL points at a configured upstream host over http(s): no open proxy.</summary>
    public bool IsAllowed(Uri url) =>
        (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp) && _allowedHosts.Contains(url.Authority);

    /// <summary>Fetches and parses a project page (PEP 691 JSON).</summary>
    public async Task<UpstreamResult<SimpleProject>> GetProjectAsync(string normalizedProject, CancellationToken cancellationToken)
    {
        var url = new Uri(IndexUrl, Uri.EscapeDataString(normalizedProject) + "/");
        using var response = await _client.SendAsync(Profile, UpstreamRequest.Get(url, JsonAccept, MaxPageBytes), cancellationToken);
        if (Problem<SimpleProject>(response, "index") is { } problem)
        {
            return problem;
        }
        if (response.MediaType != JsonAccept)
        {
            return UpstreamResult<SimpleProject>.Failed($"the upstream index answered {response.MediaType ?? "no content type"}, not PEP 691 JSON");
        }
        var (json, failure) = await response.ReadJsonAsync(cancellationToken);
        if (json is not JsonObject page)
        {
            return UpstreamResult<SimpleProject>.Failed(failure?.Message ?? "the upstream index sent no JSON object");
        }
        try
        {
            return UpstreamResult<SimpleProject>.Ok(SimpleProjectJson.Parse(page, response.Url ?? url, normalizedProject, _time.GetUtcNow()));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or UriFormatException)
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
        using var response = await _client.SendAsync(Profile, UpstreamRequest.Get(new Uri(JsonApiUrl, path), "application/json", MaxJsonApiBytes), cancellationToken);
        if (Problem<JsonObject>(response, "JSON API") is { } problem)
        {
            return problem;
        }
        var (json, failure) = await response.ReadJsonAsync(cancellationToken);
        return json is JsonObject document
            ? UpstreamResult<JsonObject>.Ok(document)
            : UpstreamResult<JsonObject>.Failed(failure?.Message ?? "the upstream JSON API sent no object");
    }

    /// <summary>Opens a file download (at most <paramref name="maxBytes"/>); the caller disposes the answer.</summary>
    public Task<UpstreamResponse> OpenFileAsync(Uri url, long maxBytes, CancellationToken cancellationToken) =>
        _client.SendAsync(Profile, UpstreamRequest.Get(url, "*/*", maxBytes, acceptEncoding: "identity"), cancellationToken);

    /// <summary>A small document (metadata, provenance) read whole, at most <paramref name="maxBytes"/>.</summary>
    public async Task<UpstreamResult<SmallDocument>> GetSmallAsync(Uri url, string accept, long maxBytes, CancellationToken cancellationToken)
    {
        using var response = await _client.SendAsync(Profile, UpstreamRequest.Get(url, accept, maxBytes, acceptEncoding: "identity"), cancellationToken);
        if (Problem<SmallDocument>(response, "file host") is { } problem)
        {
            return problem;
        }
        var (body, failure) = await response.ReadBytesAsync(cancellationToken);
        return body is null
            ? UpstreamResult<SmallDocument>.Failed(failure!.Message)
            : UpstreamResult<SmallDocument>.Ok(new SmallDocument(body, response.ContentTypeHeader));
    }

    private static UpstreamResult<T>? Problem<T>(UpstreamResponse response, string what) where T : class =>
        response.Failure is { } failure ? UpstreamResult<T>.Failed(failure.Message)
        : response.StatusCode == HttpStatusCode.NotFound ? UpstreamResult<T>.NotFound()
        : !response.IsSuccess ? UpstreamResult<T>.Failed($"the upstream {what} answered {response.Status}")
        : null;

    private static string EnsureSlash(string url) => url.EndsWith('/') ? url : url + "/";
}

/// <summary>An upstream answer: the value, a definite "not found", or a failure to tell the client about.</summary>
public sealed record UpstreamResult<T>(T? Value, bool IsNotFound, string? Error) where T : class
{
    public static UpstreamResult<T> Ok(T value) => new(value, false, null);

    public static UpstreamResult<T> NotFound() => new(null, true, null);

    public static UpstreamResult<T> Failed(string error) => new(null, false, error);
}

/// <summary>A small upstream document and its content type.</summary>
public sealed record SmallDocument(byte[] Body, string? ContentType);
