using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Gatehouse.Artifacts;
using Gatehouse.Scans;
using Gatehouse.Verdicts;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Gatehouse.HuggingFace.Prefetch;

/// <summary>Lists every file of the repository at the prefetch's commit; a refusal by the Hub fails the prefetch with its message.</summary>
public sealed class ListRepositoryFilesActivity(HfRepository repository, ILogger<ListRepositoryFilesActivity> log) : TaskActivity<PrefetchRequest, List<HfRepoFile>>
{
    public override async Task<List<HfRepoFile>> RunAsync(TaskActivityContext context, PrefetchRequest input)
    {
        var listed = await repository.ListFilesAsync(input.RepoType, input.RepoId, input.Commit, input.MaxFiles, CancellationToken.None);
        if (listed.Value is not { } files)
        {
            // Bad gateway may pass (retried); a refusal or a too-large repository will not.
            throw new InvalidOperationException(listed.Error);
        }
        log.LogInformation("Prefetch {Instance}: {Repo}@{Commit} lists {Files} files, {Bytes} bytes",
            context.InstanceId, input.RepoId, input.Commit, files.Count, files.Sum(f => f.Size));
        return [.. files];
    }
}

/// <summary>
/// Makes one file ready to scan: its sha256 (the LFS oid, or by fetching a small file and checking its git sha1), the
/// (repo, commit, path) reference, and the verified content in staging — the same fetch a download performs.
/// </summary>
public sealed class PrefetchFileActivity(HuggingFaceUpstream upstream, ArtifactGate gate, VerdictStore verdicts, ReferenceStore references,
    TimeProvider time, ILogger<PrefetchFileActivity> log) : TaskActivity<PrefetchFileInput, PrefetchFileOutcome>
{
    public override async Task<PrefetchFileOutcome> RunAsync(TaskActivityContext context, PrefetchFileInput input)
    {
        var ct = CancellationToken.None;
        var file = input.File;
        var started = Stopwatch.GetTimestamp();
        double Elapsed() => Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var pinnedUrl = upstream.Url(HfFileDigests.ResolvePath(input.RepoType, input.RepoId, input.Commit, file.Path));
        var partition = HfFileDigests.ReferencePartition(input.RepoType, input.RepoId);
        var rowKey = HfFileDigests.ReferenceRowKey(input.Commit, file.Path);
        var subject = HfFileDigests.Subject(input.RepoType, input.RepoId, input.Commit);
        var fileName = file.Path[(file.Path.LastIndexOf('/') + 1)..];

        ArtifactSource source = upstream.GetFileAsync;
        var (sha256, size) = (file.LfsSha256, file.Size);
        if (sha256 is null)
        {
            if (await references.GetAsync(partition, rowKey, ct) is { Sha256.Length: 64 } known && known.HubEtag == file.GitOid)
            {
                (sha256, size) = (known.Sha256, known.Size);
            }
            else
            {
                var (bytes, error) = await upstream.GetSmallFileAsync(pinnedUrl, file.GitOid, ct);
                if (bytes is null)
                {
                    log.LogError("Prefetch {Instance}: refused {Repo} {Path} at {Commit}: {Problem}", context.InstanceId, input.RepoId, file.Path, input.Commit, error);
                    return new PrefetchFileOutcome(PrefetchFileState.Failed, null, null, null, error, Elapsed());
                }
                (sha256, size) = (Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.Length);
                source = (_, _) => Task.FromResult<HttpResponseMessage?>(new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(bytes) });
            }
        }

        var fetchedAt = time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        var reference = new ArtifactReference(partition, fileName, sha256, pinnedUrl.AbsoluteUri, fetchedAt, size, rowKey, file.LfsSha256 ?? file.GitOid);
        await references.RecordAsync(reference, ct);
        foreach (var path in input.AlsoAt ?? [])
        {
            await references.RecordAsync(reference with
            {
                FileName = path[(path.LastIndexOf('/') + 1)..],
                UpstreamUrl = upstream.Url(HfFileDigests.ResolvePath(input.RepoType, input.RepoId, input.Commit, path)).AbsoluteUri,
                RowKey = HfFileDigests.ReferenceRowKey(input.Commit, path),
            }, ct);
        }
        if (await verdicts.GetAsync(sha256, ct) is { } verdict)
        {
            var result = new PrefetchedFile(file.Path, file.Size, sha256, verdict.Decision.ToString(), verdict.Rule, verdict.Reason, 0, 0);
            return new PrefetchFileOutcome(PrefetchFileState.Decided, sha256, null, result, null, Elapsed());
        }
        var scan = new ScanRequest(sha256, "hf", subject, fileName, size);
        if (await gate.StagedAsync(sha256, ct) is { } staged)
        {
            // Ours (this run, before a retry or for a sibling with the same bytes) is scanned by this run; anyone else's is awaited.
            var state = staged.Owner == context.InstanceId ? PrefetchFileState.NeedsScan : PrefetchFileState.InProgress;
            return new PrefetchFileOutcome(state, sha256, scan, null, null, Elapsed());
        }
        if (await gate.StageAsync(new ArtifactRequest(reference, "hf", subject, source), context.InstanceId, ct) is { } failure)
        {
            return new PrefetchFileOutcome(PrefetchFileState.Failed, sha256, null, null, failure.Message, Elapsed());
        }
        log.LogInformation("Prefetch {Instance}: staged {Repo} {Path} ({Sha256}, {Size} bytes) in {FetchMs} ms",
            context.InstanceId, input.RepoId, file.Path, sha256, size, Elapsed());
        return new PrefetchFileOutcome(PrefetchFileState.NeedsScan, sha256, scan, null, null, Elapsed());
    }
}

/// <summary>The stored verdict of a content, if there is one yet.</summary>
public sealed class ReadVerdictActivity(VerdictStore verdicts) : TaskActivity<string, VerdictSummary?>
{
    public override async Task<VerdictSummary?> RunAsync(TaskActivityContext context, string sha256) =>
        await verdicts.GetAsync(sha256, CancellationToken.None) is { } v ? new VerdictSummary(v.Decision, v.Rule, v.Reason) : null;
}

/// <summary>A verdict's decision, rule and reason.</summary>
public sealed record VerdictSummary(Decision Decision, string Rule, string Reason);
