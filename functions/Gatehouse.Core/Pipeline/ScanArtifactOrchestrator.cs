using Microsoft.DurableTask;

namespace Gatehouse.Pipeline;

/// <summary>
/// One content, one orchestration (instance id = sha256): gather the requester's remote facts while the content is
/// fetched and staged and its checks run (in the fetch's process, see <see cref="FetchContentActivity"/>; a check that
/// did not complete there runs as its own activity), then record the facts and the decisions. A fetch that fails ends the orchestration without facts; a check that
/// keeps failing becomes an error in the facts, which decisions treat as failing closed.
/// </summary>
public sealed class ScanArtifactOrchestrator : TaskOrchestrator<ScanRequest, ScanOutcome>
{
    private static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(3, TimeSpan.FromSeconds(2), backoffCoefficient: 2));

    public override async Task<ScanOutcome> RunAsync(TaskOrchestrationContext context, ScanRequest input)
    {
        var gathering = GatherAsync(context, input.Requester);
        var fetch = await context.CallActivityAsync<FetchOutcome>(nameof(FetchContentActivity), input, Retry);
        if (!fetch.Staged)
        {
            return ScanOutcome.NotFetched(input.Sha256, fetch);
        }
        var done = fetch.Checks ?? [];
        var checks = ContentChecks.All.Where(name => done.All(r => r.Check != name)).Select(name => RunCheckAsync(context, name, new CheckInput(input.Sha256)));
        CheckResult[] results = [.. done, .. await Task.WhenAll(checks)];
        return await context.CallActivityAsync<ScanOutcome>(nameof(RecordFactsActivity), new FactsInput(input, results, await gathering), Retry);
    }

    /// <summary>The requester's remote facts; null when gathering failed, and the decision then gathers them itself.</summary>
    private static async Task<ReferenceFacts?> GatherAsync(TaskOrchestrationContext context, ArtifactReference requester)
    {
        try
        {
            return await context.CallActivityAsync<ReferenceFacts>(nameof(GatherReferenceFactsActivity), requester);
        }
        catch (TaskFailedException)
        {
            return null;
        }
    }

    private static async Task<CheckResult> RunCheckAsync(TaskOrchestrationContext context, string check, CheckInput input)
    {
        try
        {
            return await context.CallActivityAsync<CheckResult>(check, input, Retry);
        }
        catch (TaskFailedException e)
        {
            return new CheckResult(check, [], e.FailureDetails.ErrorMessage);
        }
    }
}
