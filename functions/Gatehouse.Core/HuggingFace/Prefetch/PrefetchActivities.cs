using System.Diagnostics;
using Gatehouse.Pipeline;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Gatehouse.HuggingFace.Prefetch;

/// <summary>
/// Lists every file of the repository at the prefetch's commit. An upstream that cannot be reached fails the activity
/// (and is retried); a refusal by the Hub or a listing past the limits is returned, and fails the prefetch with its message.
/// </summary>
public sealed class ListRepositoryFilesActivity(HfRepository repository, ILogger<ListRepositoryFilesActivity> log) : TaskActivity<PrefetchRequest, RepositoryListing>
{
    public override async Task<RepositoryListing> RunAsync(TaskActivityContext context, PrefetchRequest input)
    {
        var listed = await repository.ListFilesAsync(input.RepoType, input.RepoId, input.Commit, input.MaxFiles, input.MaxTreePages, CancellationToken.None);
        if (listed.Value is not { } files)
        {
            if (listed.Status == System.Net.HttpStatusCode.BadGateway)
            {
                throw new InvalidOperationException(listed.Error);
            }
            log.LogWarning("Prefetch {Instance}: {Repo}@{Commit} refused: {Problem}", context.InstanceId, input.RepoId, input.Commit, listed.Error);
            return new RepositoryListing(null, listed.Error);
        }
        log.LogInformation("Prefetch {Instance}: {Repo}@{Commit} lists {Files} files, {Bytes} bytes",
            context.InstanceId, input.RepoId, input.Commit, files.Count, files.Sum(f => f.Size));
        return new RepositoryListing([.. files], null);
    }
}

/// <summary>
/// Makes one file ready to scan (<see cref="HfFiles"/>, as a download does): its sha256 and its recorded reference, and
/// the same for the other paths with the same content. A content with current facts is decided here; otherwise the
/// orchestrator starts its scan, which fetches it.
/// </summary>
public sealed class PrefetchFileActivity(HfFiles files, IFactsStore facts, ReferenceDecisions decisions, IScanClaims claims, ScanStarter starter,
    ILogger<PrefetchFileActivity> log)
    : TaskActivity<PrefetchFileInput, PrefetchFileOutcome>
{
    public override async Task<PrefetchFileOutcome> RunAsync(TaskActivityContext context, PrefetchFileInput input)
    {
        var ct = CancellationToken.None;
        var file = input.File;
        var started = Stopwatch.GetTimestamp();
        double Elapsed() => Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var prepared = await files.PrepareAsync(Spec(input, file.Path), ct);
        if (prepared.Reference is not { } reference)
        {
            log.LogError("Prefetch {Instance}: refused {Repo} {Path} at {Commit}: {Problem}", context.InstanceId, input.RepoId, file.Path, input.Commit, prepared.Error);
            return new PrefetchFileOutcome(PrefetchFileState.Failed, null, null, null, null, prepared.Error, Elapsed());
        }
        var all = new List<ArtifactReference> { reference };
        foreach (var path in input.AlsoAt ?? [])
        {
            all.Add(await files.RecordSameContentAsync(reference, Spec(input, path), ct));
        }
        if (await facts.GetAsync(reference.Sha256, ct) is { IsCurrent: true } known)
        {
            var results = new List<PrefetchedFile>();
            foreach (var (each, path) in all.Zip(new[] { file.Path }.Concat(input.AlsoAt ?? [])))
            {
                var decision = await decisions.DecideAsync(known, each, ct);
                results.Add(new PrefetchedFile(path, file.Size, reference.Sha256, decision.Decision.ToString(), decision.Rule, decision.Reason, 0, 0));
            }
            return new PrefetchFileOutcome(PrefetchFileState.Decided, reference.Sha256, null, all, results, null, Elapsed());
        }
        // Starting a scan that is already running would start it over: only the holder of the content's claim starts it.
        var mine = await claims.TryClaimAsync(reference.Sha256, context.InstanceId, starter.ClaimLifetime, ct);
        log.LogInformation("Prefetch {Instance}: {Repo} {Path} is {Sha256} ({Size} bytes), {State}", context.InstanceId, input.RepoId, file.Path, reference.Sha256,
            reference.Size, mine ? "to scan" : "being scanned by someone else");
        return new PrefetchFileOutcome(mine ? PrefetchFileState.NeedsScan : PrefetchFileState.InProgress, reference.Sha256,
            new ScanRequest(reference, ScanSource.Prefetch), all, null, null, Elapsed());
    }

    private static HfFileSpec Spec(PrefetchFileInput input, string path) =>
        new(input.RepoType, input.RepoId, input.Commit, path, input.File.LfsSha256, input.File.Size, input.File.LfsSha256 is null ? input.File.GitOid : null);
}

/// <summary>A content's decision for one reference once it has current facts (<see cref="ReadDecisionActivity"/>) as a prefetch reports it.</summary>
public sealed record VerdictSummary(Decision Decision, string Rule, string Reason);
