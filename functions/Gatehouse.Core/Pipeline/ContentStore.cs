using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Gatehouse.Storage;
using Microsoft.Extensions.Options;

namespace Gatehouse.Pipeline;

/// <summary>Where fetched bytes are verified and kept until their facts are recorded: all the fetch needs of storage.</summary>
public interface IContentStaging
{
    /// <summary>True when Gatehouse holds the content already, staged or placed.</summary>
    Task<bool> HoldsAsync(string sha256, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="body"/> to staging, committed only when its sha256 (and size, when given) match.
    /// <paramref name="verified"/> is told as soon as the bytes matched, before the commit: the content can be read from then on.
    /// </summary>
    Task<StagingOutcome> WriteVerifiedAsync(Stream body, string sha256, long? expectedSize, CancellationToken cancellationToken, Action? verified = null);
}

/// <summary>
/// The content-addressed blobs, named by sha256: <c>staging</c> while a content is fetched and scanned, then
/// <c>artifacts</c> (no findings) or <c>quarantine</c> (findings). A blob is committed to staging only when its digest
/// matched (<see cref="StagingWriter"/>), so every blob in these containers is the content its name says. While a content
/// is staged, a local copy of the verified bytes (<see cref="LocalStagedCopies"/>) serves this process's checks until the
/// content is placed.
/// </summary>
public sealed class ContentStore(GatehouseStorage storage, LocalStagedCopies? copies = null, IOptions<StagingOptions>? options = null) : IContentStaging
{
    private readonly int _blocksInFlight = options?.Value.BlocksInFlight ?? StagingWriter.DefaultBlocksInFlight;

    private const int ReadBuffer = 4 * 1024 * 1024;

    private static readonly string[] Places =
        [GatehouseStorage.StagingContainer, GatehouseStorage.ArtifactsContainer, GatehouseStorage.QuarantineContainer];

    public BlockBlobClient Blob(string container, string sha256) => storage.Container(container).GetBlockBlobClient(sha256);

    public BlockBlobClient Staging(string sha256) => storage.Staging(sha256);

    public async Task<bool> HoldsAsync(string sha256, CancellationToken cancellationToken) => await LocateAsync(sha256, cancellationToken) is not null;

    public async Task<StagingOutcome> WriteVerifiedAsync(Stream body, string sha256, long? expectedSize, CancellationToken cancellationToken, Action? verified = null)
    {
        using var copy = copies?.Begin(sha256, expectedSize);
        return await StagingWriter.WriteVerifiedAsync(body, Staging(sha256), sha256, expectedSize, cancellationToken, copy: copy is null ? null : copy.WriteAsync,
            blocksInFlight: _blocksInFlight, verified: async size =>
            {
                if (copy is not null)
                {
                    await copy.KeepAsync(size);
                }
                verified?.Invoke();
            });
    }

    /// <summary>The container holding the content (staging first), or null when Gatehouse does not have it.</summary>
    public async Task<string?> LocateAsync(string sha256, CancellationToken cancellationToken)
    {
        foreach (var container in Places)
        {
            if (await Blob(container, sha256).ExistsAsync(cancellationToken))
            {
                return container;
            }
        }
        return null;
    }

    /// <summary>Opens the content for a check: the local copy made while staging it, else the blob wherever it is (a repeated scan finds it already placed).</summary>
    public async Task<Stream> OpenAsync(string sha256, CancellationToken cancellationToken)
    {
        if (copies?.OpenRead(sha256) is { } local)
        {
            return local;
        }
        foreach (var container in Places)
        {
            try
            {
                return await Blob(container, sha256).OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = ReadBuffer }, cancellationToken);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
            }
        }
        throw new FileNotFoundException($"Content {sha256} is in neither staging, artifacts nor quarantine.");
    }

    /// <summary>
    /// Moves the content into <paramref name="container"/> (a copy, then the other places are emptied), idempotent on
    /// retry. Returns the time the copy took.
    /// </summary>
    public async Task<TimeSpan> PlaceAsync(string sha256, string container, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var target = Blob(container, sha256);
        if (!await target.ExistsAsync(cancellationToken))
        {
            var source = await LocateAsync(sha256, cancellationToken)
                ?? throw new InvalidOperationException($"Content {sha256} is neither staged nor placed.");
            var copy = await target.StartCopyFromUriAsync(Blob(source, sha256).Uri, cancellationToken: cancellationToken);
            await copy.WaitForCompletionAsync(cancellationToken);
        }
        var took = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        // Placed means checked: the local copy has served its purpose.
        copies?.Remove(sha256);
        foreach (var other in Places.Where(p => p != container))
        {
            await Blob(other, sha256).DeleteIfExistsAsync(cancellationToken: cancellationToken);
        }
        return took;
    }
}
