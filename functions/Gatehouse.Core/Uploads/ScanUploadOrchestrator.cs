using Gatehouse.Pipeline;
using Microsoft.DurableTask;

namespace Gatehouse.Uploads;

/// <summary>
/// One version of one uploaded blob (instance id <see cref="UploadScans.InstanceId"/>, from its name and ETag, so a
/// repeated event or a restarted watcher finds it already started): hash and record it
/// (<see cref="PrepareUploadActivity"/>), scan its content as the <see cref="ScanArtifactOrchestrator"/> sub-orchestration
/// whose instance id is the sha256 (the same scan a download would start; its fetch reads the uploads blob through
/// <see cref="UploadsRemote"/>), or wait for the scan someone else started, then announce the verdict
/// (<see cref="PublishUploadVerdictActivity"/>: the <c>Gatehouse.UploadScanned</c> event).
/// </summary>
public sealed class ScanUploadOrchestrator : TaskOrchestrator<UploadScanRequest, UploadScanResult>
{
    public override async Task<UploadScanResult> RunAsync(TaskOrchestrationContext context, UploadScanRequest input)
    {
        var prepared = await context.CallActivityAsync<UploadPrepared>(nameof(PrepareUploadActivity), input, PipelineTasks.Retry);
        if (prepared.Next == UploadNext.Skip || prepared.Scan is not { } scan)
        {
            return new UploadScanResult(input.BlobName, input.ETag, null, null, null, null, null, prepared.Message);
        }
        var reference = scan.Requester;
        var decision = prepared.Decision;
        string? message = null;
        if (prepared.Next == UploadNext.Scan)
        {
            try
            {
                var outcome = await context.CallSubOrchestratorAsync<ScanOutcome>(nameof(ScanArtifactOrchestrator), scan,
                    new SubOrchestrationOptions { InstanceId = DurableScanScheduler.InstanceId(scan.Sha256) });
                decision = outcome.RequesterDecision;
                message = outcome.Problem is null ? null : outcome.Message ?? "The upload could not be read";
            }
            catch (TaskFailedException)
            {
                // The scan failed for good, or another instance of it was started first: the decision store has the last word.
            }
        }
        if (decision is null && message is null)
        {
            decision = await WaitForDecisionAsync(context, reference, prepared.WaitSeconds);
            message = decision is null ? $"No verdict within {prepared.WaitSeconds} s" : null;
        }
        await context.CallActivityAsync(nameof(PublishUploadVerdictActivity),
            new UploadVerdict(context.InstanceId, input, reference, prepared.Uploader ?? UploadIntake.UnknownUploader, decision, message), PipelineTasks.Retry);
        return new UploadScanResult(input.BlobName, input.ETag, reference.Sha256, decision?.Decision.ToString(), decision?.Rule, decision?.Reason, prepared.Uploader,
            message);
    }

    /// <summary>Someone else scans the content: poll the reference's decision with a backoff of 1 s doubling to 30 s, at most <paramref name="seconds"/>.</summary>
    private static async Task<ArtifactDecision?> WaitForDecisionAsync(TaskOrchestrationContext context, ArtifactReference reference, int seconds)
    {
        var deadline = context.CurrentUtcDateTime.AddSeconds(seconds);
        for (var delay = 1; ; delay = Math.Min(delay * 2, 30))
        {
            if (await context.CallActivityAsync<ArtifactDecision?>(nameof(ReadDecisionActivity), reference, PipelineTasks.Retry) is { } decision)
            {
                return decision;
            }
            var now = context.CurrentUtcDateTime;
            if (now >= deadline)
            {
                return null;
            }
            var wake = now.AddSeconds(delay);
            await context.CreateTimer(wake < deadline ? wake : deadline, CancellationToken.None);
        }
    }
}
