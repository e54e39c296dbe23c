using Gatehouse.Pipeline;
using Microsoft.DurableTask;

namespace Gatehouse.Rescans;

/// <summary>
/// Evaluates cached verdicts again after a change they rest on: the checks' version, the policy, the OSV data. One
/// execution handles one batch of the <c>references</c> table (<see cref="ListRescanBatchActivity"/>), fans its
/// selected references out to at most <see cref="RescanInput.Parallelism"/> activities (every reference to a content in
/// the same one), runs the scans it claimed as <see cref="ScanArtifactOrchestrator"/> sub-orchestrations (instance id =
/// sha256, as a download would), then continues as new with the next continuation token and the counts so far, which
/// are also its custom status. A restart replays at most the batch in flight, and deciding again writes nothing where
/// nothing changed, so no change is recorded or audited twice. One rescan runs at a time: its instance id is fixed
/// (<see cref="RescanRuns.InstanceId"/>).
/// </summary>
public sealed class RescanOrchestrator : TaskOrchestrator<RescanInput, RescanProgress>
{
    public override async Task<RescanProgress> RunAsync(TaskOrchestrationContext context, RescanInput input)
    {
        var progress = input.Progress ?? new RescanProgress(input.Trigger, context.CurrentUtcDateTime,
            await context.CallActivityAsync<RescanBaseline>(nameof(RescanBaselineActivity), input, PipelineTasks.Retry), 0, 0, 0, 0, 0, 0, 0,
            new Dictionary<string, long>(), new Dictionary<string, long>());
        context.SetCustomStatus(progress);
        var slots = Math.Max(1, input.Parallelism);
        var batch = await context.CallActivityAsync<RescanBatch>(nameof(ListRescanBatchActivity),
            new RescanPage(input.Continuation, input.BatchSize, slots, progress.Baseline), PipelineTasks.Retry);
        var chunks = batch.Items.GroupBy(i => RescanSelection.Slot(i.Sha256, slots)).OrderBy(g => g.Key)
            .Select(g => new RescanChunk([.. g], progress.Baseline))
            .ToList();
        var results = await Task.WhenAll(chunks.Select(c => DecideAsync(context, c)));
        var (rescanned, scanFailures, scanError) = await ScanAsync(context, [.. results.SelectMany(r => r.Scans)], slots);
        progress = progress.Add(batch, results, rescanned, scanFailures, scanError);
        if (batch.Next is not null)
        {
            context.SetCustomStatus(progress);
            context.ContinueAsNew(input with { Continuation = batch.Next, Progress = progress });
            return progress;
        }
        progress = progress with { FinishedAt = context.CurrentUtcDateTime };
        context.SetCustomStatus(progress);
        return progress;
    }

    private static async Task<RescanChunkResult> DecideAsync(TaskOrchestrationContext context, RescanChunk chunk)
    {
        try
        {
            return await context.CallActivityAsync<RescanChunkResult>(nameof(RescanChunkActivity), chunk, PipelineTasks.Retry);
        }
        catch (TaskFailedException e)
        {
            // Counted and left for the next rescan, which selects them again; the rest of the run goes on.
            return new RescanChunkResult(0, [], [], chunk.Items.Count, e.FailureDetails.ErrorMessage);
        }
    }

    /// <summary>The claimed scans, at most <paramref name="slots"/> at once: how many finished, how many failed, and the last failure.</summary>
    private static async Task<(int Done, int Failed, string? Error)> ScanAsync(TaskOrchestrationContext context, IReadOnlyList<ScanRequest> scans, int slots)
    {
        var done = 0;
        var failed = 0;
        string? error = null;
        var running = new List<Task<ScanOutcome>>();
        var next = 0;
        while (next < scans.Count || running.Count > 0)
        {
            while (next < scans.Count && running.Count < slots)
            {
                var request = scans[next++];
                running.Add(context.CallSubOrchestratorAsync<ScanOutcome>(request.Orchestrator, request,
                    new SubOrchestrationOptions { InstanceId = DurableScanScheduler.InstanceId(request.Sha256) }));
            }
            var finished = await Task.WhenAny(running);
            running.Remove(finished);
            try
            {
                var outcome = await finished;
                if (outcome.Problem is null)
                {
                    done++;
                }
                else
                {
                    failed++;
                    error = outcome.Message;
                }
            }
            catch (TaskFailedException e)
            {
                failed++;
                error = e.FailureDetails.ErrorMessage;
            }
        }
        return (done, failed, error);
    }
}
