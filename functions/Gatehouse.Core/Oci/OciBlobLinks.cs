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

    private TableClient Links => storage.Table(GatehouseStorage.OciBlobsTable);

    /// <summary>The manifest digest of the allowed image that links <paramref name="digest"/> in <paramref name="repository"/>; null when none does.</summary>
    public async Task<string?> ImageOfAsync(OciRepository repository, string digest, CancellationToken cancellationToken)
    {
        try
        {
            var row = await Links.GetEntityAsync<TableEntity>(ReferenceKey.Escape(repository.Name), digest, ["Image"], cancellationToken);
            return row.Value.GetString("Image");
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Links every blob of an allowed image in its repository and places their bytes in <c>artifacts</c>; idempotent.</summary>
    public async Task AllowAsync(OciRepository repository, OciManifest image, CancellationToken cancellationToken)
    {
        var key = ("oci-linked", repository.Name, image.Digest);
        if (cache.TryGetValue(key, out _))
        {
            return;
        }
        var partition = ReferenceKey.Escape(repository.Name);
        foreach (var blob in image.Blobs)
        {
            if (await content.LocateAsync(blob.Sha256, cancellationToken) is { } where && where != GatehouseStorage.ArtifactsContainer)
            {
                await content.PlaceAsync(blob.Sha256, GatehouseStorage.ArtifactsContainer, cancellationToken);
            }
            await Links.UpsertEntityAsync(new TableEntity(partition, blob.Digest) { ["Image"] = image.Digest, ["Size"] = blob.Size, ["MediaType"] = blob.MediaType },
                TableUpdateMode.Replace, cancellationToken);
        }
        cache.Set(key, true, Remembered);
    }
}
