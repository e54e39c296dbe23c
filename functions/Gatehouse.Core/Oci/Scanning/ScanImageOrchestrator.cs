using Gatehouse.Pipeline;
using Microsoft.DurableTask;

namespace Gatehouse.Oci.Scanning;

/// <summary>
/// One image manifest, one orchestration (instance id = the manifest's sha256, as for any content, so a burst of pulls
/// scans it once): its blobs are each read by a <see cref="ScanLayerOrchestrator"/> in parallel, then the layers are
/// judged together as the filesystem a container gets, and the result is recorded as the manifest's facts through
/// the pipeline's <see cref="RecordFactsActivity"/>, so decisions, overrides, audit and events work as for any file.
/// A blob that cannot be fetched ends the scan without facts; the next pull tries again.
/// </summary>
public sealed class ScanImageOrchestrator : TaskOrchestrator<ScanRequest, ScanOutcome>
{
    public override async Task<ScanOutcome> RunAsync(TaskOrchestrationContext context, ScanRequest input)
    {
        var plan = await context.CallActivityAsync<ImagePlan>(nameof(PrepareImageActivity), input, PipelineTasks.Retry);
        if (plan.Problem is { } problem)
        {
            await context.CallActivityAsync(nameof(ReleaseImageClaimActivity), input.Sha256, PipelineTasks.Retry);
            return new ScanOutcome(input.Sha256, FetchProblem.Upstream, problem, null, null);
        }
        // Sub-orchestration ids are per image: two images sharing a layer share its report and its fetch through the
        // layer's claim (InspectLayerActivity), without two parents addressing one instance.
        var read = await Task.WhenAll(plan.Blobs.Select(blob => context.CallSubOrchestratorAsync<LayerOutcome>(nameof(ScanLayerOrchestrator), new LayerRequest(blob),
            new SubOrchestrationOptions(PipelineTasks.Retry, $"{context.InstanceId}:{blob.Sha256}"))));
        if (read.FirstOrDefault(r => r.Problem is not null) is { } failed)
        {
            await context.CallActivityAsync(nameof(ReleaseImageClaimActivity), input.Sha256, PipelineTasks.Retry);
            return new ScanOutcome(input.Sha256, failed.Problem, failed.Message, null, null);
        }
        var judged = await context.CallActivityAsync<CheckResult>(nameof(JudgeImageActivity),
            new ImageJudgement(input.Sha256, [.. plan.Layers.Select(b => b.Sha256)]), PipelineTasks.Retry);
        return await context.CallActivityAsync<ScanOutcome>(nameof(RecordFactsActivity),
            new FactsInput(input, [judged]) { Checks = [ImageChecks.Layers] }, PipelineTasks.Retry);
    }
}

/// <summary>One blob of an image: fetched once, digest verified, and read (<see cref="InspectLayerActivity"/>).</summary>
public sealed class ScanLayerOrchestrator : TaskOrchestrator<LayerRequest, LayerOutcome>
{
    public override Task<LayerOutcome> RunAsync(TaskOrchestrationContext context, LayerRequest input) =>
        context.CallActivityAsync<LayerOutcome>(nameof(InspectLayerActivity), input, PipelineTasks.Retry);
}
