using System.Text.Json;
using Azure;
using Gatehouse.Oci.Layers;
using Gatehouse.Storage;

namespace Gatehouse.Oci.Scanning;

/// <summary>
/// What each layer holds (<see cref="LayerReport"/>), kept per layer digest in the <c>reports</c> container: a layer is
/// read once, whichever images share it, and an image's judgement reads its layers' reports.
/// </summary>
public sealed class LayerReports(GatehouseStorage storage)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private Azure.Storage.Blobs.BlobClient Blob(string sha256) =>
        storage.Container(GatehouseStorage.ReportsContainer).GetBlobClient($"oci/layers/{sha256}.json");

    /// <summary>The layer's report when one of the current version exists; null otherwise.</summary>
    public async Task<LayerReport?> GetAsync(string sha256, CancellationToken cancellationToken)
    {
        try
        {
            var content = (await Blob(sha256).DownloadContentAsync(cancellationToken)).Value.Content;
            var report = content.ToObjectFromJson<LayerReport>(Json);
            return report is { Version: LayerInspector.CurrentVersion } ? report : null;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public Task SaveAsync(string sha256, LayerReport report, CancellationToken cancellationToken) =>
        Blob(sha256).UploadAsync(BinaryData.FromObjectAsJson(report, Json), overwrite: true, cancellationToken);
}
