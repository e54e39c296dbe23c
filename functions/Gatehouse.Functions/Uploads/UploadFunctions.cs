using Azure;
using Azure.Storage.Blobs;
using Gatehouse.Uploads;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Functions.Uploads;

/// <summary>
/// The uploads source on Azure: the blob trigger that Event Grid calls for every blob created in <c>uploads</c>
/// (infra/eventgrid.bicep subscribes <c>Host.Functions.ScanUpload</c> at <c>/runtime/webhooks/blobs</c>), and the
/// <c>/uploads/{path}</c> HTTP trigger.
/// </summary>
public sealed class UploadFunctions(GatehouseHttp http, ILogger<UploadFunctions> log)
{
    /// <summary>The blob trigger's function name; infra/eventgrid.bicep's <c>blobTriggerFunctionName</c> and scripts/eventgrid-subscription.sh default to it.</summary>
    public const string ScanUploadName = "ScanUpload";

    /// <summary>The trigger's blob path: every blob of the <c>uploads</c> container, folders included.</summary>
    public const string UploadsPath = "uploads/{name}";

    /// <summary>The app's own storage connection (AzureWebJobsStorage__blobServiceUri with the managed identity in Azure).</summary>
    public const string StorageConnection = "AzureWebJobsStorage";

    /// <summary>
    /// Starts the scan of the blob's current version. Event Grid delivers at least once and a blob may be rewritten
    /// before its event arrives; both land on the instance of that name and ETag (<see cref="UploadScans.InstanceId"/>).
    /// </summary>
    [Function(ScanUploadName)]
    public async Task ScanUpload(
        [BlobTrigger(UploadsPath, Source = BlobTriggerSource.EventGrid, Connection = StorageConnection)] BlobClient blob, string name,
        [DurableClient] DurableTaskClient durable, CancellationToken cancellationToken)
    {
        string etag;
        try
        {
            etag = UploadScans.VersionOf((await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value.ETag);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            log.LogInformation("Upload {BlobName} was deleted before its event arrived; nothing to scan", name);
            return;
        }
        await new UploadScans(durable, log).StartAsync(name, etag, cancellationToken);
    }

    [Function(nameof(GatehouseHttp.Uploads))]
    public async Task<IActionResult> Uploads(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", "PUT", Route = GatehouseRoutes.Uploads)] HttpRequest req,
        [DurableClient] DurableTaskClient durable, string? path)
    {
        await http.Uploads(req.HttpContext, durable, path);
        return new EmptyResult();
    }
}
