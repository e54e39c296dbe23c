using Gatehouse.Configuration;
using Gatehouse.Storage;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.PyPI;

/// <summary>
/// Project pages (PEP 691 JSON, parsed) with <c>IndexTtlSeconds</c>, served stale when the upstream fails (a mirror
/// that loses its upstream still installs what it had).
/// </summary>
public sealed class SimpleIndexCache(PyPIUpstream upstream, GatehouseStorage storage, IMemoryCache memory, TimeProvider time, IOptions<GatehouseOptions> options,
    ILogger<SimpleIndexCache> log)
    : UpstreamCache<SimpleProject>(storage, memory, time, TimeSpan.FromSeconds(options.Value.PyPI.IndexTtlSeconds), log)
{
    protected override string What => "index";

    protected override string Folder => "pypi/simple";

    protected override Uri Source => upstream.IndexUrl;

    protected override Task<UpstreamResult<SimpleProject>> FetchAsync(string key, CancellationToken cancellationToken) =>
        upstream.GetProjectAsync(key, cancellationToken);

    /// <summary>Names of the projects with a cached page from the configured upstream.</summary>
    public async IAsyncEnumerable<string> ListCachedAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var blob in Storage.Container(GatehouseStorage.UpstreamCacheContainer).GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None,
            Azure.Storage.Blobs.Models.BlobStates.None, Prefix, cancellationToken))
        {
            yield return blob.Name[Prefix.Length..^".json".Length];
        }
    }
}

/// <summary>Warehouse JSON API documents (per project, or per version) with the index's TTL and stale serving.</summary>
public sealed class JsonApiCache(PyPIUpstream upstream, GatehouseStorage storage, IMemoryCache memory, TimeProvider time, IOptions<GatehouseOptions> options,
    ILogger<JsonApiCache> log)
    : UpstreamCache<System.Text.Json.Nodes.JsonObject>(storage, memory, time, TimeSpan.FromSeconds(options.Value.PyPI.IndexTtlSeconds), log)
{
    protected override string What => "JSON API";

    /// <summary>The cache key of a project's (or a version's) document.</summary>
    public static string Key(string project, string? version) => version is null ? project : project + "/" + version;

    protected override string Folder => "pypi/json";

    protected override Uri Source => upstream.JsonApiUrl;

    protected override Task<UpstreamResult<System.Text.Json.Nodes.JsonObject>> FetchAsync(string key, CancellationToken cancellationToken)
    {
        var slash = key.IndexOf('/');
        return upstream.GetJsonApiAsync(slash < 0 ? key : key[..slash], slash < 0 ? null : key[(slash + 1)..], cancellationToken);
    }
}
