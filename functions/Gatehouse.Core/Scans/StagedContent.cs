using Azure;
using Azure.Storage.Blobs.Models;
using Gatehouse.Storage;

namespace Gatehouse.Scans;

/// <summary>Opens a content for a check: staging first, then wherever a replayed scan may find it already moved.</summary>
public sealed class StagedContent
{
    private const int ReadBuffer = 4 * 1024 * 1024;
    private readonly GatehouseStorage _storage;

    public StagedContent(GatehouseStorage storage) => _storage = storage;

    public async Task<Stream> OpenAsync(string sha256, CancellationToken cancellationToken)
    {
        foreach (var blob in new[] { _storage.Staging(sha256), _storage.Artifact(sha256), _storage.Quarantined(sha256) })
        {
            try
            {
                return await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = ReadBuffer }, cancellationToken);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
            }
        }
        throw new FileNotFoundException($"Content {sha256} is in neither staging, artifacts nor quarantine.");
    }
}
