using System.Text.Json.Nodes;
using Gatehouse.Audit;
using Gatehouse.Pipeline;
using Gatehouse.Scans;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Quarantine;

/// <summary>What a reviewer asks the quarantine list for; every field but the sort and the limit is optional.</summary>
/// <param name="Rule">Matches the decision's rule (<c>install.pth-exec</c>) or the policy rule that made it (<c>content-dangerous</c>).</param>
/// <param name="Severity">The least severity of the content's worst finding.</param>
/// <param name="Since">Only decisions made at or after this time.</param>
/// <param name="Sort"><c>decided</c> (newest first), <c>severity</c> (worst first) or <c>subject</c>.</param>
public sealed record QuarantineQuery(string? Remote, string? Rule, Severity? Severity, DateTimeOffset? Since, string Sort, int Limit)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;
    public static readonly IReadOnlyList<string> Sorts = ["decided", "severity", "subject"];
}

/// <summary>The first audit row that names a content: how and when it was first asked for (and by whom, when the row says).</summary>
public sealed record FirstRequest(DateTimeOffset At, string Action, string Subject, IReadOnlyDictionary<string, string> Extra);

/// <summary>One refused reference with its content's facts summarised.</summary>
/// <param name="Severity">The worst finding's severity; null when the content has no finding (or no facts: refused before download).</param>
public sealed record QuarantinedReference(string Remote, string Subject, string File, string Sha256, Decision Decision, string Rule, string PolicyRule,
    string PolicyVersion, string Reason, DateTimeOffset DecidedAt, Severity? Severity, int Findings, string? Container, FirstRequest? FirstRequester);

/// <summary>A reference and the decision it has after a reviewer's action; null when its content has no facts yet.</summary>
public sealed record Redecision(string Remote, string Subject, string File, ArtifactDecision? Decision);

/// <summary>What a reviewer's action did: the override placed or lifted, and every reference of the content decided again.</summary>
public sealed record ReviewOutcome(string Action, string Sha256, VerdictOverride? Override, IReadOnlyList<Redecision> References, string? Container);

/// <summary>
/// The reviewers' side of quarantine: what is refused (from the recorded decisions), everything known about one
/// content, and the actions — release (a waiver with a reason, an expiry and the approver), block, re-scan, lift —
/// each audited with who did it and followed at once by a new decision for every reference of the content, with the
/// blob moved where those decisions put it.
/// </summary>
public sealed class QuarantineReview(IReferenceStore references, IFactsStore facts, ReferenceDecisions decisions, ContentPlacement placement,
    TableVerdictOverrides overrides, ScanStarter starter, AuditTrail trail, IAuditLog audit, TimeProvider time, ILogger<QuarantineReview> log, RemoteRegistry remotes)
{
    /// <summary>The longest a release may run before a reviewer must renew it.</summary>
    public static readonly TimeSpan MaxRelease = TimeSpan.FromDays(365);

    /// <summary>How many facts rows the list reads at once when its filter or order needs every refused content's.</summary>
    private const int FactsReadParallelism = 16;

    /// <summary>What a re-scan asked by a reviewer is started as.</summary>
    public static readonly ScanSource Review = new("review");

    /// <summary>Every reference whose recorded decision refuses it, filtered, sorted and cut at the limit.</summary>
    public async Task<IReadOnlyList<QuarantinedReference>> ListAsync(QuarantineQuery query, CancellationToken cancellationToken)
    {
        var refused = new List<StoredReference>();
        await foreach (var stored in references.ListRefusedAsync(cancellationToken))
        {
            if (stored.Decision is { IsAllowed: false } decision && (query.Remote is null || stored.Reference.Remote.Name == query.Remote)
                && (query.Rule is null || decision.Rule == query.Rule || decision.PolicyRule == query.Rule)
                && (query.Since is null || decision.DecidedAt >= query.Since))
            {
                refused.Add(stored);
            }
        }
        IEnumerable<(StoredReference Stored, ContentFacts? Facts, Severity? Severity)> Ordered(IEnumerable<(StoredReference Stored, ContentFacts? Facts, Severity? Severity)> items) =>
            query.Sort switch
            {
                "severity" => items.OrderByDescending(r => r.Severity ?? (Severity)(-1)).ThenByDescending(r => r.Stored.Decision!.DecidedAt),
                "subject" => items.OrderBy(r => r.Stored.Reference.Subject, StringComparer.Ordinal).ThenBy(r => r.Stored.Reference.FileName, StringComparer.Ordinal),
                _ => items.OrderByDescending(r => r.Stored.Decision!.DecidedAt),
            };
        IReadOnlyList<StoredReference> candidates = refused;
        if (query.Severity is null && query.Sort != "severity")
        {
            // Neither the filter nor the order needs facts: the page is cut first, and only its contents' facts are read.
            candidates = [.. Ordered(refused.Select(r => (r, (ContentFacts?)null, (Severity?)null))).Take(query.Limit).Select(r => r.Stored)];
        }
        var known = new System.Collections.Concurrent.ConcurrentDictionary<string, ContentFacts?>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(candidates.Select(r => r.Reference.Sha256).Distinct(StringComparer.Ordinal),
            new ParallelOptions { MaxDegreeOfParallelism = FactsReadParallelism, CancellationToken = cancellationToken },
            async (sha256, ct) => known[sha256] = await facts.GetAsync(sha256, ct));
        var selected = candidates
            .Select(r => (Stored: r, Facts: known[r.Reference.Sha256], Severity: Worst(known[r.Reference.Sha256])))
            .Where(r => query.Severity is null || r.Severity >= query.Severity);
        var page = Ordered(selected).Take(query.Limit).ToList();
        var firstSeen = page.Count == 0 ? time.GetUtcNow() : page.Min(r => r.Facts?.ScannedAt ?? r.Stored.Decision!.DecidedAt);
        var trails = await trail.ForContentsAsync([.. page.Select(r => r.Stored.Reference.Sha256)], firstSeen.AddDays(-1), cancellationToken);
        return [.. page.Select(r => Summary(r.Stored, r.Facts, r.Severity, trails[r.Stored.Reference.Sha256]))];
    }

    /// <summary>
    /// Everything known about one content: its facts and full scan report, every reference with its decision, the
    /// overrides placed on it and the audit rows naming it; null when Gatehouse knows nothing of it.
    /// </summary>
    public async Task<JsonObject?> ShowAsync(string sha256, CancellationToken cancellationToken)
    {
        var known = await facts.GetAsync(sha256, cancellationToken);
        var referring = await references.ReferencesToAsync(sha256, cancellationToken);
        var history = await overrides.HistoryAsync(sha256, cancellationToken);
        if (known is null && referring.Count == 0 && history.Count == 0)
        {
            return null;
        }
        var now = time.GetUtcNow();
        var since = new[] { known?.ScannedAt ?? now }.Concat(referring.Select(r => r.Decision?.DecidedAt ?? now)).Concat(history.Select(h => h.Override.At)).Min();
        var entries = (await trail.ForContentsAsync([sha256], since.AddDays(-1), cancellationToken))[sha256];
        return new JsonObject
        {
            ["sha256"] = sha256,
            ["severity"] = Worst(known)?.ToString(),
            ["facts"] = ReviewJson.Node(known),
            ["report"] = await facts.ReportAsync(sha256, cancellationToken),
            ["references"] = ReviewJson.Node(referring.Select(r => new
            {
                Remote = r.Reference.Remote.Name, r.Reference.Subject, File = r.Reference.FileName, r.Reference.UpstreamUrl, r.Reference.Size, r.Reference.UploadTime,
                r.Decision,
            })),
            ["override"] = ReviewJson.Node(history.FirstOrDefault(h => h.StateAt(now) == "active")?.Override),
            ["overrides"] = ReviewJson.Node(history.Select(h => new
            {
                h.Override.Id, h.Override.Decision, h.Override.Reason, h.Override.By, h.Override.At, h.Override.Expires, State = h.StateAt(now), h.LiftedAt, h.LiftedBy,
                h.LiftReason,
            })),
            ["firstRequester"] = ReviewJson.Node(First(entries)),
            ["audit"] = ReviewJson.Node(entries),
        };
    }

    /// <summary>Releases the content until <paramref name="expires"/>: a waiver that the approver, the caller's token, answers for.</summary>
    public async Task<ReviewOutcome> ReleaseAsync(string sha256, string reason, DateTimeOffset expires, Caller? caller, CancellationToken cancellationToken)
    {
        var placed = await overrides.PlaceAsync(sha256, Decision.Allowed, reason, Approver(caller), expires, cancellationToken);
        await audit.WriteAsync(Reviewed("quarantine.release", sha256, $"{placed.Id} released by {Who(caller)} until {expires:O}: {reason}"), cancellationToken);
        return await DecideAgainAsync("release", sha256, placed, cancellationToken);
    }

    /// <summary>Blocks the content everywhere until the block is lifted.</summary>
    public async Task<ReviewOutcome> BlockAsync(string sha256, string reason, Caller? caller, CancellationToken cancellationToken)
    {
        var placed = await overrides.PlaceAsync(sha256, Decision.Blocked, reason, Approver(caller), null, cancellationToken);
        await audit.WriteAsync(Reviewed("quarantine.block", sha256, $"{placed.Id} blocked by {Who(caller)}: {reason}"), cancellationToken);
        return await DecideAgainAsync("block", sha256, placed, cancellationToken);
    }

    /// <summary>Lifts the override in force, so the policy decides alone again; null when none stood.</summary>
    public async Task<ReviewOutcome?> LiftAsync(string sha256, string? reason, Caller? caller, CancellationToken cancellationToken)
    {
        if (await overrides.LiftAsync(sha256, Approver(caller), reason, cancellationToken) is not { } lifted)
        {
            return null;
        }
        var why = reason is { Length: > 0 } ? ": " + reason : "";
        await audit.WriteAsync(Reviewed("quarantine.lift", sha256, $"{lifted.Id} ({lifted.Decision} by {lifted.By}) lifted by {Who(caller)}{why}"), cancellationToken);
        return await DecideAgainAsync("lift", sha256, lifted, cancellationToken);
    }

    /// <summary>
    /// Forgets the content's facts and starts its scan again (fetched again if its blob is gone); the scan's end decides
    /// every reference. False when no reference names the content, so there is nothing to scan it as.
    /// </summary>
    public async Task<bool> RescanAsync(string sha256, Caller? caller, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var referring = await references.ReferencesToAsync(sha256, cancellationToken);
        if (referring.Count == 0)
        {
            return false;
        }
        await facts.ForgetAsync(sha256, cancellationToken);
        await starter.EnsureStartedAsync(remotes.Scan(referring[0].Reference, Review), new DurableScanScheduler(durable, log), cancellationToken);
        await audit.WriteAsync(Reviewed("quarantine.rescan", sha256, $"facts forgotten and the scan started again by {Who(caller)}"), cancellationToken);
        return true;
    }

    /// <summary>A reviewer's act, indexed by the content it concerns so the audit finds it by sha256.</summary>
    private static AuditEntry Reviewed(string action, string sha256, string detail) =>
        new(action, sha256, detail) { Artifact = new AuditArtifact("", "", null, sha256) };

    /// <summary>
    /// Every reference of the content decided again under the override now in force, and the blob moved where those
    /// decisions put it. A content without facts (refused before download, or being scanned) is decided at its next request.
    /// </summary>
    private async Task<ReviewOutcome> DecideAgainAsync(string action, string sha256, VerdictOverride placed, CancellationToken cancellationToken)
    {
        var referring = await references.ReferencesToAsync(sha256, cancellationToken);
        if (await facts.GetAsync(sha256, cancellationToken) is not { IsCurrent: true } known)
        {
            return new ReviewOutcome(action, sha256, placed, [.. referring.Select(r => Redecided(r.Reference, null))], null);
        }
        var decided = new List<(ArtifactReference Reference, ArtifactDecision Decision)>();
        foreach (var stored in referring)
        {
            decided.Add((stored.Reference, await decisions.DecideAsync(known, stored.Reference, stored.Decision, cancellationToken)));
        }
        if (decided.Count > 0)
        {
            known = await placement.MoveAsync(known, ContentPlacement.ContainerFor(decided.Select(d => d.Decision)), cancellationToken);
        }
        return new ReviewOutcome(action, sha256, placed, [.. decided.Select(d => Redecided(d.Reference, d.Decision))], known.Container);
    }

    private static Redecision Redecided(ArtifactReference reference, ArtifactDecision? decision) => new(reference.Remote.Name, reference.Subject, reference.FileName, decision);

    private static QuarantinedReference Summary(StoredReference stored, ContentFacts? known, Severity? severity, IReadOnlyList<TrailEntry> entries)
    {
        var (reference, decision) = (stored.Reference, stored.Decision!);
        return new QuarantinedReference(reference.Remote.Name, reference.Subject, reference.FileName, reference.Sha256, decision.Decision, decision.Rule,
            decision.PolicyRule, decision.PolicyVersion, decision.Reason, decision.DecidedAt, severity, known?.Findings.Count ?? 0, known?.Container, First(entries));
    }

    private static FirstRequest? First(IReadOnlyList<TrailEntry> entries) =>
        entries.FirstOrDefault() is { } first ? new FirstRequest(first.At, first.Action, first.Subject, first.Extra) : null;

    private static Severity? Worst(ContentFacts? known) => known is { Findings.Count: > 0 } ? known.Findings.Max(f => f.Severity) : null;

    private static string Approver(Caller? caller) => caller?.TokenName ?? caller?.TokenId ?? "unknown";

    private static string Who(Caller? caller) => $"{Approver(caller)} (token {caller?.TokenId ?? "unknown"}, from {caller?.ClientIp ?? "unknown"})";
}
