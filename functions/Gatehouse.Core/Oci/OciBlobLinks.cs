using Azure;
using Azure.Data.Tables;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Microsoft.Extensions.Caching.Memory;

namespace Gatehouse.Oci;

/// <summary>
/// Which blobs a repository may serve: those of an image Gatehouse allowed there. Written when an image's manifest is
/// answered 200 (before the client can ask for its blobs), in table <c>ociblobs</c> (partition the repository, row
/// the digest, the image that allowed it). A blob's bytes move to <c>artifacts</c> at the same time.
/// </summary>
public sealed class OciBlobLinks(GatehouseStorage storage, ContentStore content, IMemoryCache cache)
{
    private static readonly TimeSpan Remembered = TimeSpan.FromMinutes(10);

    private readonly SingleFlight<string, bool> _linking = new();

    private TableClient Links => storage.Table(GatehouseStorage.OciBlobsTable);

    /// <summary>The manifest digest of the allowed image that links <paramref name="digest"/> in <paramref name="repository"/>; null when none does.</summary>
    public async Task<string?> ImageOfAsync(OciRepository repository, string digest, CancellationToken cancellationToken)
    {
        try
        {
            var row = await Links.GetEntityAsync<TableEntity>(ReferenceKey.Escape(repository.Canonical), digest, ["Image"], cancellationToken);
            return row.Value.GetString("Image");
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>
    /// Links every blob of an allowed image in its repository and places their bytes in <c>artifacts</c>; idempotent. The
    /// pulls of one image in this process do it once; another instance doing it at the same time finds the blob placed.
    /// </summary>
    public Task AllowAsync(OciRepository repository, OciManifest image, CancellationToken cancellationToken)
    {
        var key = ("oci-linked", repository.Canonical, image.Digest);
        return cache.TryGetValue(key, out _)
            ? Task.CompletedTask
            : _linking.RunAsync($"{repository.Canonical}@{image.Digest}", async () =>
            {
                await LinkAsync(repository, image, CancellationToken.None);
                cache.Set(key, true, Remembered);
                return true;
            }).WaitAsync(cancellationToken);
    }

    private async Task LinkAsync(OciRepository repository, OciManifest image, CancellationToken cancellationToken)
    {
        var partition = ReferenceKey.Escape(repository.Canonical);
        foreach (var blob in image.Blobs)
        {
            if (await content.LocateAsync(blob.Sha256, cancellationToken) is { } where && where != GatehouseStorage.ArtifactsContainer)
            {
                try
                {
                    await content.PlaceAsync(blob.Sha256, GatehouseStorage.ArtifactsContainer, cancellationToken);
                }
                catch (Exception e) when (e is RequestFailedException or InvalidOperationException)
                {
                    // Another instance placing it at the same time is no failure once the blob is there.
                    if (!await content.Blob(GatehouseStorage.ArtifactsContainer, blob.Sha256).ExistsAsync(cancellationToken))
                    {
                        throw;
                    }
                }
            }
            await Links.UpsertEntityAsync(new TableEntity(partition, blob.Digest) { ["Image"] = image.Digest, ["Size"] = blob.Size, ["MediaType"] = blob.MediaType },
                TableUpdateMode.Replace, cancellationToken);
        }
    }
}
