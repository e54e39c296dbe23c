using Gatehouse.Pipeline;
using Microsoft.DurableTask;

namespace Gatehouse.HuggingFace.Prefetch;

/// <summary>
/// Whole-repository prefetch: lists every file at the commit, prepares each one (<see cref="PrefetchFileActivity"/>: its
/// sha256 and reference) and scans it as a <see cref="ScanArtifactOrchestrator"/> sub-orchestration whose instance id
/// is the content's sha256, which fetches it: the same scan a download would start. At most
/// <see cref="PrefetchRequest.Parallelism"/> files are in flight; the custom status counts files and bytes done.
/// Content someone else is scanning (a download in flight) is not scanned twice: its decision is polled for, up to
/// <see cref="PrefetchRequest.ScanTimeoutSeconds"/>; content repeated within the repository is scanned once.
/// </summary>
public sealed class ScanRepositoryOrchestrator : TaskOrchestrator<PrefetchRequest, PrefetchResult>
{
    public override async Task<PrefetchResult> RunAsync(TaskOrchestrationContext context, PrefetchRequest input)
    {
        var listing = await context.CallActivityAsync<RepositoryListing>(nameof(ListRepositoryFilesActivity), input, PipelineTasks.Retry);
        var files = listing.Files ?? throw new PrefetchRefusedException(listing.Refusal ?? "The repository could not be listed");
        var progress = new PrefetchProgress(files.Count, 0, files.Sum(f => f.Size), 0);
        context.SetCustomStatus(progress);

        // Paths with the same content (the same LFS sha256, or the same git blob) are fetched and scanned once.
        var groups = Enumerable.Range(0, files.Count)
            .GroupBy(i => files[i].LfsSha256 ?? "git:" + files[i].GitOid, StringComparer.Ordinal)
            .Select(g => g.ToList())
            .ToList();
        var scans = new Dictionary<string, Task<Scanned>>(StringComparer.Ordinal);
        var results = new PrefetchedFile[files.Count];
        var running = new List<(Task<IReadOnlyList<PrefetchedFile>> Task, List<int> Indexes)>();
        var next = 0;
        while (next < groups.Count || running.Count > 0)
        {
            while (next < groups.Count && running.Count < Math.Max(1, input.Parallelism))
            {
                var group = groups[next++];
                var alsoAt = group.Skip(1).Select(i => files[i].Path).ToList();
                running.Add((PrefetchAsync(context, input, files[group[0]], alsoAt, scans), group));
            }
            var done = await Task.WhenAny(running.Select(r => r.Task));
            var slot = running.FindIndex(r => r.Task == done);
            var indexes = running[slot].Indexes;
            running.RemoveAt(slot);
            var groupResults = await done;
            for (var i = 0; i < indexes.Count; i++)
            {
                results[indexes[i]] = groupResults[i];
            }
            progress = progress with
            {
                FilesDone = progress.FilesDone + indexes.Count,
                BytesDone = progress.BytesDone + indexes.Sum(i => files[i].Size),
            };
            context.SetCustomStatus(progress);
        }
        return new PrefetchResult(input.RepoType, input.RepoId, input.Revision, input.Commit, results);
    }

    /// <summary>One group of paths with the same content: prepared once, scanned once, decided per path.</summary>
    private static async Task<IReadOnlyList<PrefetchedFile>> PrefetchAsync(TaskOrchestrationContext context, PrefetchRequest input, HfRepoFile file,
        List<string> alsoAt, Dictionary<string, Task<Scanned>> scans)
    {
        IReadOnlyList<PrefetchedFile> Failed(string? sha256, string? error, double fetchMs) =>
            [.. new[] { file.Path }.Concat(alsoAt).Select(path => new PrefetchedFile(path, file.Size, sha256, PrefetchDecisions.Failed, null, error, fetchMs, 0))];
        PrefetchFileOutcome outcome;
        try
        {
            outcome = await context.CallActivityAsync<PrefetchFileOutcome>(nameof(PrefetchFileActivity),
                new PrefetchFileInput(input.RepoType, input.RepoId, input.Commit, file, alsoAt), PipelineTasks.Retry);
        }
        catch (TaskFailedException e)
        {
            return Failed(file.LfsSha256, e.FailureDetails.ErrorMessage, 0);
        }
        if (outcome.State == PrefetchFileState.Failed)
        {
            return Failed(outcome.Sha256, outcome.Error, outcome.FetchMs);
        }
        if (outcome.State == PrefetchFileState.Decided)
        {
            return outcome.Results!;
        }
        var sha256 = outcome.Sha256!;
        var started = context.CurrentUtcDateTime;
        if (!scans.TryGetValue(sha256, out var scan))
        {
            scan = outcome.State == PrefetchFileState.NeedsScan ? ScanAsync(context, input, outcome.Scan!) : WaitForDecisionAsync(context, input, outcome.Scan!.Requester);
            scans[sha256] = scan;
        }
        var scanned = await scan;
        var results = new List<PrefetchedFile>();
        var paths = new[] { file.Path }.Concat(alsoAt).ToList();
        foreach (var (reference, path) in outcome.References!.Zip(paths))
        {
            // The scan decided for its requester; every other name of the content is decided for itself.
            var verdict = scanned.Verdict is { } v && scanned.For == reference.Key
                ? v
                : scanned.FetchError is null ? await ReadDecisionAsync(context, reference) : null;
            var scanMs = (context.CurrentUtcDateTime - started).TotalMilliseconds;
            results.Add(verdict is not null
                ? new PrefetchedFile(path, file.Size, sha256, verdict.Decision.ToString(), verdict.Rule, verdict.Reason, outcome.FetchMs, scanMs)
                : scanned.FetchError is { } error
                    ? new PrefetchedFile(path, file.Size, sha256, PrefetchDecisions.Failed, null, error, outcome.FetchMs, scanMs)
                    : new PrefetchedFile(path, file.Size, sha256, PrefetchDecisions.Pending, null,
                        $"No verdict within {input.ScanTimeoutSeconds} s; a later download or prefetch picks it up", outcome.FetchMs, scanMs));
        }
        return results;
    }

    private static async Task<VerdictSummary?> ReadDecisionAsync(TaskOrchestrationContext context, ArtifactReference reference) =>
        await context.CallActivityAsync<ArtifactDecision?>(nameof(ReadDecisionActivity), reference, PipelineTasks.Retry) is { } d
            ? new VerdictSummary(d.Decision, d.Rule, d.Reason)
            : null;

    /// <summary>
    /// The scan as a sub-orchestration whose instance id is the sha256 (it fetches the content too), started only by
    /// the holder of the content's claim. If it fails for good, the decision store has the last word.
    /// </summary>
    private static async Task<Scanned> ScanAsync(TaskOrchestrationContext context, PrefetchRequest input, ScanRequest request)
    {
        try
        {
            var outcome = await context.CallSubOrchestratorAsync<ScanOutcome>(nameof(ScanArtifactOrchestrator), request,
                new SubOrchestrationOptions { InstanceId = DurableScanScheduler.InstanceId(request.Sha256) });
            return outcome.RequesterDecision is { } decision
                ? new Scanned(new VerdictSummary(decision.Decision, decision.Rule, decision.Reason), request.Requester.Key, null)
                : new Scanned(null, null, outcome.Message ?? "The file could not be fetched");
        }
        catch (TaskFailedException)
        {
            return await WaitForDecisionAsync(context, input, request.Requester);
        }
    }

    /// <summary>Someone else is scanning this content: poll for the reference's decision with a backoff of 1 s doubling to 30 s.</summary>
    private static async Task<Scanned> WaitForDecisionAsync(TaskOrchestrationContext context, PrefetchRequest input, ArtifactReference reference)
    {
        var deadline = context.CurrentUtcDateTime.AddSeconds(input.ScanTimeoutSeconds);
        for (var delay = 1; ; delay = Math.Min(delay * 2, 30))
        {
            if (await ReadDecisionAsync(context, reference) is { } verdict)
            {
                return new Scanned(verdict, reference.Key, null);
            }
            var now = context.CurrentUtcDateTime;
            if (now >= deadline)
            {
                return new Scanned(null, null, null);
            }
            var wake = now.AddSeconds(delay);
            await context.CreateTimer(wake < deadline ? wake : deadline, CancellationToken.None);
        }
    }

    /// <summary>How a content's scan ended for the report: a decision (for the reference <paramref name="For"/>), a failed fetch, or neither yet.</summary>
    private sealed record Scanned(VerdictSummary? Verdict, ReferenceKey? For, string? FetchError);
}

/// <summary>A prefetch the repository's listing refused (a limit, the Hub's refusal): the orchestration fails with this message.</summary>
public sealed class PrefetchRefusedException(string message) : Exception(message);
