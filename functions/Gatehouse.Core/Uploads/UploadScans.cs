using System.Security.Cryptography;
using System.Text;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Uploads;

/// <summary>Starts the scan of an upload version; the seam the watcher's tests replace.</summary>
public interface IUploadScans
{
    /// <summary>Starts the scan of this version of the blob unless it was started before; true when this call started it.</summary>
    Task<bool> StartAsync(string blobName, string etag, CancellationToken cancellationToken);
}

/// <summary>
/// Starts <see cref="ScanUploadOrchestrator"/> for one version of one blob, under an instance id made of its name and
/// ETag: the Event Grid trigger (which may deliver an event more than once), the standalone watcher and <c>PUT /uploads</c>
/// all land on the same instance, so a version is scanned once however it was noticed.
/// </summary>
public sealed class UploadScans(DurableTaskClient durable, ILogger log) : IUploadScans
{
    /// <summary>
    /// A blob version as one string whoever read it: a listing gives the ETag bare (<c>0x8D…</c>), a write or a
    /// properties call quoted (<c>"0x8D…"</c>); unquoted, so the trigger, the watcher and PUT name one version alike.
    /// </summary>
    public static string VersionOf(Azure.ETag etag) => etag.ToString().Trim('"');

    /// <summary>The orchestration instance id of one blob version: <c>upload-</c> and a sha256 of name and ETag.</summary>
    public static string InstanceId(string blobName, string etag) =>
        "upload-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(blobName + "\n" + etag)))[..40];

    public async Task<bool> StartAsync(string blobName, string etag, CancellationToken cancellationToken)
    {
        var id = InstanceId(blobName, etag);
        if (await durable.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken) is not null)
        {
            return false;
        }
        try
        {
            await durable.ScheduleNewOrchestrationInstanceAsync(nameof(ScanUploadOrchestrator), new UploadScanRequest(blobName, etag),
                new StartOrchestrationOptions(id), cancellationToken);
            log.LogInformation("Upload scan {Instance} started for {BlobName} version {ETag}", id, blobName, etag);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Another instance of the app started it first; that is the same scan.
            if (await durable.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken) is null)
            {
                throw;
            }
            return false;
        }
    }
}

/// <summary>The uploads source's orchestration and activities, for both hosts' Durable registration.</summary>
public static class UploadTasks
{
    public static void Register(DurableTaskRegistry registry)
    {
        registry.AddOrchestrator<ScanUploadOrchestrator>();
        registry.AddActivity<PrepareUploadActivity>();
        registry.AddActivity<PublishUploadVerdictActivity>();
    }
}
