using System.Collections.Concurrent;
using Azure.Data.Tables;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Gatehouse.Vulnerabilities;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Rescans;

/// <summary>What a rescan compares with, read once when it starts: the policy in force and the OSV mirror's last import of any export.</summary>
public sealed class RescanBaselineActivity(IPolicySource policies, VulnerabilityMirror mirror) : TaskActivity<RescanInput, RescanBaseline>
{
    public override async Task<RescanBaseline> RunAsync(TaskActivityContext context, RescanInput input)
    {
        var policy = await policies.CurrentAsync(CancellationToken.None);
        return new RescanBaseline(policy.Version, await mirror.LatestImportAsync(CancellationToken.None), input.OsvCovered);
    }
}

/// <summary>
/// One page of the <c>references</c> table from a continuation token, each reference's content facts read (at most
/// the run's parallelism at once), and only the references whose verdict rests on something that changed returned.
/// </summary>
public sealed class ListRescanBatchActivity(GatehouseStorage storage, IFactsStore facts) : TaskActivity<RescanPage, RescanBatch>
{
    public override async Task<RescanBatch> RunAsync(TaskActivityContext context, RescanPage input)
    {
        var table = storage.Table(GatehouseStorage.ReferencesTable);
        await foreach (var page in table.QueryAsync<TableEntity>(maxPerPage: input.Size).AsPages(input.Continuation, input.Size))
        {
            var stored = page.Values.Select(ReferenceStore.Read).OfType<StoredReference>().ToList();
            var known = new ConcurrentDictionary<string, ContentFacts?>(StringComparer.Ordinal);
            await Parallel.ForEachAsync(stored.Select(s => s.Reference.Sha256).Distinct(StringComparer.Ordinal),
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, input.Parallelism) },
                async (sha256, ct) => known[sha256] = await facts.GetAsync(sha256, ct));
            var items = stored
                .Select(s => new RescanItem(s.Reference.Key, s.Reference.Sha256, RescanSelection.Why(s, known[s.Reference.Sha256], input.Baseline)))
                .Where(i => i.Reason != RescanReason.None)
                .ToList();
            return new RescanBatch(items, page.Values.Count, string.IsNullOrEmpty(page.ContinuationToken) ? null : page.ContinuationToken);
        }
        return new RescanBatch([], 0, null);
    }
}

/// <summary>
/// Evaluates selected references again, all references to one content in one call. Each is read afresh and selected
/// again, so a reference decided since it was listed (by a request, or by this rescan before a restart) is left alone.
/// A verdict that stays the same is stamped with the policy it was checked under, without an audit row; one that
/// changes is recorded and audited once by <see cref="ReferenceDecisions.DecideAsync(ContentFacts, ArtifactReference, ArtifactDecision?, CancellationToken, RequestFacts?, ReferenceFacts?)"/>.
/// When a content's verdicts changed, its blob moves to <c>artifacts</c> if any reference allows it, else to
/// <c>quarantine</c>. A content whose facts are of an older version is claimed for a scan (the orchestrator runs it),
/// which decides every reference to it.
/// </summary>
public sealed class RescanChunkActivity(IReferenceStore references, IFactsStore facts, ReferenceDecisions decisions, ContentStore content, IScanClaims claims,
    ScanStarter starter, TimeProvider time, ILogger<RescanChunkActivity> log, RemoteRegistry remotes) : TaskActivity<RescanChunk, RescanChunkResult>
{
    /// <summary>What brings a content back to the scan: a rescan found its facts out of date.</summary>
    public static readonly ScanSource Source = new("rescan");

    public override async Task<RescanChunkResult> RunAsync(TaskActivityContext context, RescanChunk input)
    {
        var ct = CancellationToken.None;
        var decided = 0;
        var failed = 0;
        string? error = null;
        var changed = new List<string>();
        var scans = new List<ScanRequest>();
        foreach (var content in input.Items.GroupBy(i => i.Sha256, StringComparer.Ordinal))
        {
            try
            {
                var known = await facts.GetAsync(content.Key, ct);
                var flipped = false;
                var allowedHere = false;
                foreach (var item in content)
                {
                    if (await references.GetAsync(item.Key, ct) is not { } stored)
                    {
                        continue;
                    }
                    var why = RescanSelection.Why(stored, known, input.Baseline);
                    if (why == RescanReason.Facts)
                    {
                        if (scans.Count == 0 || scans[^1].Sha256 != content.Key)
                        {
                            await ClaimScanAsync(context, stored.Reference, scans, ct);
                        }
                    }
                    else if (why != RescanReason.None && await DecideAgainAsync(known!, stored, ct) is { } now)
                    {
                        decided++;
                        allowedHere |= now.Decision.IsAllowed;
                        if (now.Changed)
                        {
                            changed.Add(now.Decision.Decision.ToString());
                            // Only a change between allowed and refused can move the blob.
                            flipped |= now.Decision.IsAllowed != (stored.Decision?.IsAllowed ?? false);
                        }
                    }
                }
                if (flipped)
                {
                    await PlaceAsync(known!, allowedHere, ct);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failed += content.Count();
                error = $"{content.Key}: {e.Message}";
                log.LogError(e, "Rescan {Instance}: the references to {Sha256} could not be evaluated again", context.InstanceId, content.Key);
            }
        }
        return new RescanChunkResult(decided, changed, scans, failed, error);
    }

    private async Task ClaimScanAsync(TaskActivityContext context, ArtifactReference reference, List<ScanRequest> scans, CancellationToken ct)
    {
        // Only the holder of the content's claim starts its scan; a download or prefetch scanning it already decides every reference.
        if (await claims.TryClaimAsync(reference.Sha256, context.InstanceId, starter.ClaimLifetime, ct))
        {
            scans.Add(remotes.Scan(reference, Source));
        }
    }

    /// <summary>The reference decided under the policy and data in force now; null when its row changed under it.</summary>
    private async Task<(ArtifactDecision Decision, bool Changed)?> DecideAgainAsync(ContentFacts known, StoredReference stored, CancellationToken ct)
    {
        var recorded = stored.Decision;
        var (outcome, version) = await decisions.PreviewAsync(known, stored.Reference, ct);
        if (recorded is not null && recorded.Decision == outcome.Decision && recorded.Rule == outcome.Rule)
        {
            var checkedNow = new ArtifactDecision(outcome.Decision, outcome.Rule, outcome.Reason, version, time.GetUtcNow()) { PolicyRule = outcome.PolicyRule };
            await references.RecordDecisionAsync(stored.Reference, checkedNow, ct);
            return (checkedNow, false);
        }
        var decision = await decisions.DecideAsync(known, stored.Reference, recorded, ct);
        return (decision, recorded is null || recorded.Decision != decision.Decision || recorded.Rule != decision.Rule);
    }

    /// <summary>
    /// Content any reference is allowed (<paramref name="allowedHere"/>: one this chunk just decided) lives in
    /// <c>artifacts</c>; content every reference refuses, in <c>quarantine</c>.
    /// </summary>
    private async Task PlaceAsync(ContentFacts known, bool allowedHere, CancellationToken ct)
    {
        var allowed = allowedHere || (await references.ReferencesToAsync(known.Sha256, ct)).Any(r => r.Decision?.IsAllowed == true);
        var target = allowed ? GatehouseStorage.ArtifactsContainer : GatehouseStorage.QuarantineContainer;
        if (known.Container == target)
        {
            return;
        }
        await content.PlaceAsync(known.Sha256, target, ct);
        await facts.MoveAsync(known.Sha256, target, ct);
        log.LogInformation("Rescan moved {Sha256} from {From} to {To}", known.Sha256, known.Container, target);
    }
}
