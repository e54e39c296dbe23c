using System.Text.Json.Nodes;
using Gatehouse.Events;
using Gatehouse.Pipeline;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Uploads;

/// <summary>
/// Hashes and records one upload version (<see cref="UploadIntake"/>). A content with current facts is decided here;
/// otherwise the orchestration scans it when this activity won the content's claim, or waits for whoever holds it.
/// </summary>
public sealed class PrepareUploadActivity(UploadIntake intake, IFactsStore facts, ReferenceDecisions decisions, IScanClaims claims, ScanStarter starter)
    : TaskActivity<UploadScanRequest, UploadPrepared>
{
    /// <summary>What brought an uploaded content to the pipeline.</summary>
    public static readonly ScanSource Upload = new("upload");

    public override async Task<UploadPrepared> RunAsync(TaskActivityContext context, UploadScanRequest input)
    {
        var ct = CancellationToken.None;
        var waitSeconds = (int)starter.ClaimLifetime.TotalSeconds;
        var prepared = await intake.PrepareAsync(input.BlobName, input.ETag, ct);
        if (prepared.Reference is not { } reference)
        {
            return new UploadPrepared(UploadNext.Skip, null, null, null, prepared.Message, waitSeconds);
        }
        var scan = new ScanRequest(reference, Upload);
        if (await facts.GetAsync(reference.Sha256, ct) is { IsCurrent: true } known)
        {
            return new UploadPrepared(UploadNext.Decided, scan, await decisions.DecideAsync(known, reference, ct), prepared.Uploader, null, waitSeconds);
        }
        // Starting a scan that is already running would start it over: only the holder of the content's claim starts it.
        var mine = await claims.TryClaimAsync(reference.Sha256, context.InstanceId, starter.ClaimLifetime, ct);
        return new UploadPrepared(mine ? UploadNext.Scan : UploadNext.Wait, scan, null, prepared.Uploader, null, waitSeconds);
    }
}

/// <summary>
/// Announces an upload's verdict as a <see cref="GatehouseEventTypes.UploadScanned"/> event (id: the upload's
/// orchestration, so a retried publish is the same event); an upload without a verdict (its blob could not be read
/// whole) is announced with <c>decision</c> null and the reason.
/// </summary>
public sealed class PublishUploadVerdictActivity(IEventOutbox outbox, TimeProvider time, ILogger<PublishUploadVerdictActivity> log) : TaskActivity<UploadVerdict, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, UploadVerdict input)
    {
        var data = new JsonObject
        {
            ["path"] = input.Upload.BlobName,
            ["etag"] = input.Upload.ETag,
            ["sha256"] = input.Reference.Sha256,
            ["size"] = input.Reference.Size,
            ["uploader"] = input.Uploader,
            ["decision"] = input.Decision?.Decision.ToString(),
            ["rule"] = input.Decision?.Rule,
            ["reason"] = input.Decision?.Reason ?? input.Message,
            ["policyVersion"] = input.Decision?.PolicyVersion,
        };
        await outbox.EnqueueAsync(new GatehouseEvent(input.InstanceId, GatehouseEventTypes.UploadScanned, "uploads/" + input.Upload.BlobName, data, time.GetUtcNow()),
            CancellationToken.None);
        log.LogInformation("Upload {BlobName} by {Uploader} ({Sha256}): {Decision} by rule {Rule}", input.Upload.BlobName, input.Uploader, input.Reference.Sha256,
            input.Decision?.Decision.ToString() ?? "no verdict", input.Decision?.Rule ?? input.Message);
        return true;
    }
}
