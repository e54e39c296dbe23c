using System.Text.Json;
using Azure;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;

namespace Gatehouse.PyPI;

/// <summary>
/// An upstream document with a short TTL: memory, then the <c>upstream-cache</c> blob, then the upstream, one refresh
/// per key at a time. When the upstream fails, the last good copy is served stale; a definite "not found" is not.
/// </summary>
public abstract class UpstreamCache<T>(GatehouseStorage storage, IMemoryCache memory, TimeProvider time, TimeSpan ttl, ILogger log) where T : class
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly SingleFlight<string, CacheLookup<T>> _refresh = new();

    protected GatehouseStorage Storage => storage;

    /// <summary>What the documents are, for logs and errors ("index", "JSON API").</summary>
    protected abstract string What { get; }

    /// <summary>The folder of these documents under <c>upstream-cache</c> ("pypi/simple").</summary>
    protected abstract string Folder { get; }

    /// <summary>The upstream the documents come from: a cache filled from another upstream is not read.</summary>
    protected abstract Uri Source { get; }

    /// <summary>Where this upstream's documents are kept: the folder, then a tag of the upstream URL.</summary>
    protected string Prefix => $"{Folder}/{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Source.AbsoluteUri)))[..12]}/";

    /// <summary>The blob a key's document is kept in.</summary>
    protected string BlobName(string key) => $"{Prefix}{key}.json";

    protected abstract Task<UpstreamResult<T>> FetchAsync(string key, CancellationToken cancellationToken);

    public async Task<CacheLookup<T>> GetAsync(string key, CancellationToken cancellationToken)
    {
        if (memory.TryGetValue(MemoryKey(key), out Cached? cached) && cached is not null && IsFresh(cached))
        {
            return CacheLookup<T>.Found(cached.Value, stale: false);
        }
        return await _refresh.RunAsync(key, () => RefreshAsync(key, cached)).WaitAsync(cancellationToken);
    }

    private async Task<CacheLookup<T>> RefreshAsync(string key, Cached? inMemory)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120), time);
        var stored = inMemory ?? await ReadBlobAsync(key, timeout.Token);
        if (stored is not null && IsFresh(stored))
        {
            Remember(key, stored);
            return CacheLookup<T>.Found(stored.Value, stale: false);
        }
        var result = await FetchAsync(key, timeout.Token);
        if (result.Value is { } fresh)
        {
            var entry = new Cached(fresh, time.GetUtcNow());
            await WriteBlobAsync(key, entry, timeout.Token);
            Remember(key, entry);
            return CacheLookup<T>.Found(fresh, stale: false);
        }
        if (result.IsNotFound)
        {
            return CacheLookup<T>.Missing();
        }
        if (stored is not null)
        {
            log.LogWarning("Serving stale {What} for {Key} fetched {FetchedAt}: {UpstreamError}", What, key, stored.FetchedAt, result.Error);
            return CacheLookup<T>.Found(stored.Value, stale: true);
        }
        log.LogError("No {What} for {Key}: {UpstreamError}", What, key, result.Error);
        return CacheLookup<T>.Failed(result.Error ?? $"the upstream {What} failed");
    }

    private bool IsFresh(Cached entry) => time.GetUtcNow() - entry.FetchedAt < ttl;

    private void Remember(string key, Cached entry) => memory.Set(MemoryKey(key), entry, TimeSpan.FromHours(1));

    private string MemoryKey(string key) => What + ":" + key;

    private async Task<Cached?> ReadBlobAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var content = await storage.Container(GatehouseStorage.UpstreamCacheContainer).GetBlobClient(BlobName(key)).DownloadContentAsync(cancellationToken);
            return content.Value.Content.ToObjectFromJson<Cached>(Json);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (JsonException)
        {
            // A copy in an older layout: as good as none.
            return null;
        }
    }

    private Task WriteBlobAsync(string key, Cached entry, CancellationToken cancellationToken) =>
        storage.Container(GatehouseStorage.UpstreamCacheContainer).GetBlobClient(BlobName(key))
            .UploadAsync(BinaryData.FromObjectAsJson(entry, Json), overwrite: true, cancellationToken);

    /// <summary>A document and when it was fetched.</summary>
    public sealed record Cached(T Value, DateTimeOffset FetchedAt);
}

/// <summary>The outcome of looking a document up.</summary>
public sealed record CacheLookup<T>(T? Value, bool Stale, bool NotFound, string? Error) where T : class
{
    public static CacheLookup<T> Found(T value, bool stale) => new(value, stale, false, null);

    public static CacheLookup<T> Missing() => new(null, false, true, null);

    public static CacheLookup<T> Failed(string error) => new(null, false, false, error);
}
