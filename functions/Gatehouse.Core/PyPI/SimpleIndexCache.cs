using System.Text.Json;
using Azure;
using Gatehouse.Artifacts;
using Gatehouse.Configuration;
using Gatehouse.Storage;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.PyPI;

/// <summary>
/// Project pages with a short TTL: memory, then the <c>upstream-cache</c> blob, then the upstream. When the upstream
/// fails, the last good page is served stale (research §2.11 P17).
/// </summary>
public sealed class SimpleIndexCache
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly PyPIUpstream _upstream;
    private readonly GatehouseStorage _storage;
    private readonly IMemoryCache _memory;
    private readonly TimeProvider _time;
    private readonly ILogger<SimpleIndexCache> _log;
    private readonly TimeSpan _ttl;
    private readonly SingleFlight<string, ProjectLookup> _refresh = new();

    public SimpleIndexCache(PyPIUpstream upstream, GatehouseStorage storage, IMemoryCache memory, TimeProvider time, IOptions<GatehouseOptions> options, ILogger<SimpleIndexCache> log)
    {
        _upstream = upstream;
        _storage = storage;
        _memory = memory;
        _time = time;
        _log = log;
        _ttl = TimeSpan.FromSeconds(options.Value.PyPI.IndexTtlSeconds);
    }

    public async Task<ProjectLookup> GetAsync(string project, CancellationToken cancellationToken)
    {
        if (_memory.TryGetValue(MemoryKey(project), out SimpleProject? cached) && cached is not null && IsFresh(cached))
        {
            return ProjectLookup.Found(cached, stale: false);
        }
        return await _refresh.RunAsync(project, () => RefreshAsync(project, cached));
    }

    private async Task<ProjectLookup> RefreshAsync(string project, SimpleProject? inMemory)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var stored = inMemory ?? await ReadBlobAsync(project, timeout.Token);
        if (stored is not null && IsFresh(stored))
        {
            Remember(stored);
            return ProjectLookup.Found(stored, stale: false);
        }
        var result = await _upstream.GetProjectAsync(project, timeout.Token);
        if (result.Value is { } fresh)
        {
            await WriteBlobAsync(fresh, timeout.Token);
            Remember(fresh);
            return ProjectLookup.Found(fresh, stale: false);
        }
        if (result.IsNotFound)
        {
            return ProjectLookup.Missing();
        }
        if (stored is not null)
        {
            _log.LogWarning("Serving stale index for {Project} fetched {FetchedAt}: {UpstreamError}", project, stored.FetchedAt, result.Error);
            return ProjectLookup.Found(stored, stale: true);
        }
        _log.LogError("No index for {Project}: {UpstreamError}", project, result.Error);
        return ProjectLookup.Failed(result.Error ?? "the upstream index failed");
    }

    /// <summary>Names of the projects with a cached page.</summary>
    public async IAsyncEnumerable<string> ListCachedAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const string prefix = "pypi/simple/";
        await foreach (var blob in _storage.Container(GatehouseStorage.UpstreamCacheContainer).GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, cancellationToken))
        {
            yield return blob.Name[prefix.Length..^".json".Length];
        }
    }

    private bool IsFresh(SimpleProject p) => _time.GetUtcNow() - p.FetchedAt < _ttl;

    private void Remember(SimpleProject p) => _memory.Set(MemoryKey(p.Name), p, TimeSpan.FromHours(1));

    private static string MemoryKey(string project) => "simple:" + project;

    private static string BlobName(string project) => $"pypi/simple/{project}.json";

    private async Task<SimpleProject?> ReadBlobAsync(string project, CancellationToken cancellationToken)
    {
        try
        {
            var content = await _storage.Container(GatehouseStorage.UpstreamCacheContainer).GetBlobClient(BlobName(project))
                .DownloadContentAsync(cancellationToken);
            return content.Value.Content.ToObjectFromJson<SimpleProject>(Json);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    private Task WriteBlobAsync(SimpleProject project, CancellationToken cancellationToken) =>
        _storage.Container(GatehouseStorage.UpstreamCacheContainer).GetBlobClient(BlobName(project.Name))
            .UploadAsync(BinaryData.FromObjectAsJson(project, Json), overwrite: true, cancellationToken);
}

/// <summary>The outcome of looking a project up.</summary>
public sealed record ProjectLookup(SimpleProject? Project, bool Stale, bool NotFound, string? Error)
{
    public static ProjectLookup Found(SimpleProject p, bool stale) => new(p, stale, false, null);
    public static ProjectLookup Missing() => new(null, false, true, null);
    public static ProjectLookup Failed(string error) => new(null, false, false, error);
}
