using Gatehouse.Artifacts;
using Gatehouse.Scans;
using Microsoft.DurableTask;

namespace Gatehouse.HuggingFace.Prefetch;

/// <summary>
/// Whole-repository prefetch: lists every file at the commit, then fetches, verifies and stages each one
/// (<see cref="PrefetchFileActivity"/>) and scans it as a <see cref="ScanArtifactOrchestrator"/> sub-orchestration whose
/// instance id is the content's sha256 — the same scan a download would start. At most
/// <see cref="PrefetchRequest.Parallelism"/> files are in flight; the custom status counts files and bytes done.
/// Content staged by someone else (a download in flight) is not scanned twice: its verdict is polled for, up to
/// <see cref="PrefetchRequest.ScanTimeoutSeconds"/>; content repeated within the repository is scanned once.
/// </summary>
public sealed class ScanRepositoryOrchestrator : TaskOrchestrator<PrefetchRequest, PrefetchResult>
{
    private static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(3, TimeSpan.FromSeconds(2), backoffCoefficient: 2));

    public override async Task<PrefetchResult> RunAsync(TaskOrchestrationContext context, PrefetchRequest input)
    {
        var files = await context.CallActivityAsync<List<HfRepoFile>>(nameof(ListRepositoryFilesActivity), input, Retry);
        var progress = new PrefetchProgress(files.Count, 0, files.Sum(f => f.Size), 0);
        context.SetCustomStatus(progress);

        // Paths with the same content (the same LFS sha256, or the same git blob) are fetched and scanned once.
        var groups = Enumerable.Range(0, files.Count)
            .GroupBy(i => files[i].LfsSha256 ?? "git:" + files[i].GitOid, StringComparer.Ordinal)
            .Select(g => g.ToList())
            .ToList();
        var scans = new Dictionary<string, Task<VerdictSummary?>>(StringComparer.Ordinal);
        var results = new PrefetchedFile[files.Count];
        var running = new List<(Task<PrefetchedFile> Task, List<int> Indexes)>();
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
            var result = await done;
            foreach (var index in indexes)
            {
                results[index] = result with { Path = files[index].Path };
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

    private static async Task<PrefetchedFile> PrefetchAsync(TaskOrchestrationContext context, PrefetchRequest input, HfRepoFile file,
        List<string> alsoAt, Dictionary<string, Task<VerdictSummary?>> scans)
    {
        PrefetchFileOutcome outcome;
        try
        {
            outcome = await context.CallActivityAsync<PrefetchFileOutcome>(nameof(PrefetchFileActivity),
                new PrefetchFileInput(input.RepoType, input.RepoId, input.Commit, file, alsoAt), Retry);
        }
        catch (TaskFailedException e)
        {
            return new PrefetchedFile(file.Path, file.Size, file.LfsSha256, PrefetchDecisions.Failed, null, e.FailureDetails.ErrorMessage, 0, 0);
        }
        switch (outcome.State)
        {
            case PrefetchFileState.Decided:
                return outcome.Result!;
            case PrefetchFileState.Failed:
                return new PrefetchedFile(file.Path, file.Size, outcome.Sha256, PrefetchDecisions.Failed, null, outcome.Error, outcome.FetchMs, 0);
        }
        var sha256 = outcome.Sha256!;
        var started = context.CurrentUtcDateTime;
        if (outcome.State == PrefetchFileState.NeedsScan && !scans.ContainsKey(sha256))
        {
            scans[sha256] = ScanAsync(context, outcome.Scan!);
        }
        var verdict = scans.TryGetValue(sha256, out var scan) ? await scan : await WaitForVerdictAsync(context, input, sha256);
        var scanMs = (context.CurrentUtcDateTime - started).TotalMilliseconds;
        return verdict is null
            ? new PrefetchedFile(file.Path, file.Size, sha256, PrefetchDecisions.Pending, null,
                $"No verdict within {input.ScanTimeoutSeconds} s; a later download or prefetch picks it up", outcome.FetchMs, scanMs)
            : new PrefetchedFile(file.Path, file.Size, sha256, verdict.Decision.ToString(), verdict.Rule, verdict.Reason, outcome.FetchMs, scanMs);
    }

    /// <summary>
    /// The scan as a sub-orchestration. It always ends (a failing check becomes a quarantine, see
    /// <see cref="ScanArtifactOrchestrator"/>); if recording its verdict failed for good, the verdict store has the last word.
    /// </summary>
    private static async Task<VerdictSummary?> ScanAsync(TaskOrchestrationContext context, ScanRequest request)
    {
        try
        {
            var verdict = await context.CallSubOrchestratorAsync<Verdict>(nameof(ScanArtifactOrchestrator), request,
                new SubOrchestrationOptions { InstanceId = ArtifactGate.InstanceId(request.Sha256) });
            return new VerdictSummary(verdict.Decision, verdict.Rule, verdict.Reason);
        }
        catch (TaskFailedException)
        {
            return await context.CallActivityAsync<VerdictSummary?>(nameof(ReadVerdictActivity), request.Sha256, Retry);
        }
    }

    /// <summary>Someone else is scanning this content: poll the verdict store with a backoff of 1 s doubling to 30 s.</summary>
    private static async Task<VerdictSummary?> WaitForVerdictAsync(TaskOrchestrationContext context, PrefetchRequest input, string sha256)
    {
        var deadline = context.CurrentUtcDateTime.AddSeconds(input.ScanTimeoutSeconds);
        for (var delay = 1; ; delay = Math.Min(delay * 2, 30))
        {
            if (await context.CallActivityAsync<VerdictSummary?>(nameof(ReadVerdictActivity), sha256, Retry) is { } verdict)
            {
                return verdict;
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
