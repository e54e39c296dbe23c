using Microsoft.DurableTask;

namespace Gatehouse.Pipeline;

/// <summary>
/// One content, one orchestration (instance id = sha256): fetch and stage it (its checks run in the fetch's process,
/// see <see cref="FetchContentActivity"/>; a check that did not complete there runs as its own activity), gather the
/// requester's remote facts beside those checks, then record the facts and the decisions. The gathering starts only
/// once the content is staged: begun beside the fetch, its completion reached the control queue while the fetch ran,
/// and a host stopped at that moment left it invisible for the queue's visibility timeout (5 minutes), so the scan
/// stalled that long on the next host (HostShutdownTests). A fetch that fails ends the orchestration without facts; a
/// check that keeps failing becomes an error in the facts, which decisions treat as failing closed.
/// </summary>
public sealed class ScanArtifactOrchestrator : TaskOrchestrator<ScanRequest, ScanOutcome>
{
    public override async Task<ScanOutcome> RunAsync(TaskOrchestrationContext context, ScanRequest input)
    {
        var fetch = await context.CallActivityAsync<FetchOutcome>(nameof(FetchContentActivity), input, PipelineTasks.Retry);
        if (!fetch.Staged)
        {
            return ScanOutcome.NotFetched(input.Sha256, fetch);
        }
        var gathering = GatherAsync(context, input.Requester);
        // The checks that ran in the fetch's process are done; each activity that reports a check still missing runs,
        // and only the checks missing are taken from it.
        var done = fetch.Checks ?? [];
        var checks = ContentChecks.Activities.Where(a => !a.Checks.All(check => done.Any(r => r.Check == check)))
            .Select(a => RunChecksAsync(context, a.Activity, a.Checks, new CheckInput(input.Sha256)));
        var ran = (await Task.WhenAll(checks)).SelectMany(r => r).Where(r => done.All(d => d.Check != r.Check));
        CheckResult[] results = [.. done, .. ran];
        return await context.CallActivityAsync<ScanOutcome>(nameof(RecordFactsActivity), new FactsInput(input, results, await gathering), PipelineTasks.Retry);
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

    /// <summary>One activity's results; when it keeps failing, an error for each check it runs.</summary>
    private static async Task<IReadOnlyList<CheckResult>> RunChecksAsync(TaskOrchestrationContext context, string activity, IReadOnlyList<string> checks, CheckInput input)
    {
        try
        {
            return await context.CallActivityAsync<CheckResult[]>(activity, input, PipelineTasks.Retry);
        }
        catch (TaskFailedException e)
        {
            return [.. checks.Select(check => new CheckResult(check, [], e.FailureDetails.ErrorMessage))];
        }
    }
}
