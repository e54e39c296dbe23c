using Gatehouse.Audit;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Pipeline;

/// <summary>
/// Decisions per context: the policy in force applied to what is known of one reference (its content's facts, once
/// scanned, and its remote's facts), recorded on that reference (and in the audit) whenever it differs from what was
/// recorded. The policy is pure and the remote's facts are cached, so deciding again costs microseconds; a write
/// happens only when the decision, its rule or the policy changed.
/// </summary>
public sealed class ReferenceDecisions(IPolicySource policies, RemoteRegistry remotes, IReferenceStore references, IAuditLog audit, TimeProvider time,
    ILogger<ReferenceDecisions> log, IVerdictOverrides? overrides = null)
{
    /// <summary>
    /// The reference in its remote's context, with the remote's facts (<paramref name="gathered"/> when the scan already
    /// gathered them) and what the request itself says.
    /// </summary>
    public async Task<ArtifactContext> ContextAsync(ArtifactReference reference, FactScope scope, CancellationToken cancellationToken, RequestFacts? request = null,
        ReferenceFacts? gathered = null)
    {
        var remote = remotes[reference.Remote];
        var facts = gathered ?? await remote.GatherAsync(reference, scope, cancellationToken);
        if (request?.Pinned is { } pinned)
        {
            facts = facts with { Pinned = pinned };
        }
        return remote.ContextOf(reference) with { Facts = facts };
    }

    /// <summary>What the policy in force would decide for <paramref name="reference"/>, without recording anything.</summary>
    public async Task<(PolicyOutcome Outcome, string PolicyVersion)> PreviewAsync(ContentFacts? facts, ArtifactReference reference, CancellationToken cancellationToken,
        RequestFacts? request = null, ReferenceFacts? gathered = null)
    {
        var policy = await policies.CurrentAsync(cancellationToken);
        var scope = facts is null ? FactScope.BeforeFetch : FactScope.Full;
        var outcome = policy.Decide(facts, await ContextAsync(reference, scope, cancellationToken, request, gathered));
        return (overrides is not null && await overrides.FindAsync(reference, cancellationToken) is { } reviewed ? Overridden(reviewed, outcome) : outcome, policy.Version);
    }

    /// <summary>A reviewer's release or block in place of the policy's outcome, which its reason still names.</summary>
    internal static PolicyOutcome Overridden(VerdictOverride reviewed, PolicyOutcome policy) => reviewed.Decision switch
    {
        Decision.Allowed => new PolicyOutcome(Decision.Allowed, ReleasedRule,
            $"Released by {reviewed.By} until {reviewed.Expires:yyyy-MM-dd}: {reviewed.Reason} (the policy said {policy.Decision} by {policy.Rule})", policy.Considered)
        {
            PolicyRule = reviewed.Id,
            Warnings = [.. policy.Warnings, $"released by {reviewed.By}: {reviewed.Reason}"],
        },
        _ => new PolicyOutcome(reviewed.Decision, BlockedRule, $"Blocked by Gatehouse: {reviewed.Reason} (blocked by {reviewed.By})", policy.Considered)
        {
            PolicyRule = reviewed.Id,
        },
    };

    /// <summary>The rule of a decision a reviewer's release made.</summary>
    public const string ReleasedRule = "review.released";

    /// <summary>The rule of a decision a reviewer's block made.</summary>
    public const string BlockedRule = "review.blocked";

    /// <summary>
    /// The decision for a file whose content is not known yet, from its remote's facts alone: a refusal here is final
    /// (nothing needs downloading to refuse it); an allowed file is still fetched and scanned before it is served.
    /// Not recorded on the reference (the content's facts will decide it), but a refusal is audited.
    /// </summary>
    public async Task<ArtifactDecision> DecideOnMetadataAsync(ArtifactReference reference, CancellationToken cancellationToken, RequestFacts? request = null)
    {
        var (outcome, version) = await PreviewAsync(null, reference, cancellationToken, request);
        var decision = Stamp(outcome, version);
        if (!decision.IsAllowed)
        {
            await audit.WriteAsync(new AuditEntry(AuditActions.MetadataDecisionAction, Describe(reference),
                $"{decision.Decision} by {decision.Rule} (policy {version}, rule {decision.PolicyRule}): {decision.Reason}") { Artifact = AuditArtifacts.Of(reference) }, cancellationToken);
            log.LogInformation("Decision {Decision} before download for {Remote} {Subject} {FileName} ({Sha256}) by rule {Rule} ({PolicyRule}) under policy {PolicyVersion}",
                decision.Decision, reference.Remote, reference.Subject, reference.FileName, reference.Sha256, decision.Rule, decision.PolicyRule, version);
        }
        return decision;
    }

    /// <summary>
    /// The decision for <paramref name="reference"/>; <paramref name="recorded"/> is what its row holds, if it was read;
    /// <paramref name="gathered"/> the remote's facts, when they were gathered already.
    /// </summary>
    public async Task<ArtifactDecision> DecideAsync(ContentFacts facts, ArtifactReference reference, ArtifactDecision? recorded, CancellationToken cancellationToken,
        RequestFacts? request = null, ReferenceFacts? gathered = null)
    {
        var (outcome, version) = await PreviewAsync(facts, reference, cancellationToken, request, gathered);
        if (recorded is not null && recorded.Decision == outcome.Decision && recorded.Rule == outcome.Rule && recorded.PolicyVersion == version)
        {
            return recorded with { PolicyRule = outcome.PolicyRule, Warnings = outcome.Warnings };
        }
        var decision = Stamp(outcome, version);
        if (!await references.RecordDecisionAsync(reference, decision, cancellationToken))
        {
            return decision;
        }
        var warnings = decision.Warnings.Count > 0 ? $"; warnings: {string.Join("; ", decision.Warnings)}" : "";
        await audit.WriteAsync(new AuditEntry(AuditActions.DecisionAction, Describe(reference),
            $"{decision.Decision} by {decision.Rule} (policy {decision.PolicyVersion}, rule {decision.PolicyRule}): {decision.Reason}{warnings}") { Artifact = AuditArtifacts.Of(reference) },
            cancellationToken);
        log.LogInformation("Decision {Decision} for {Remote} {Subject} {FileName} ({Sha256}) by rule {Rule} ({PolicyRule}) under policy {PolicyVersion} with {Warnings} warnings",
            decision.Decision, reference.Remote, reference.Subject, reference.FileName, reference.Sha256, decision.Rule, decision.PolicyRule, decision.PolicyVersion,
            decision.Warnings.Count);
        return decision;
    }

    /// <summary>The decision for a reference whose recorded state is not at hand: reads it first.</summary>
    public async Task<ArtifactDecision> DecideAsync(ContentFacts facts, ArtifactReference reference, CancellationToken cancellationToken, RequestFacts? request = null,
        ReferenceFacts? gathered = null)
    {
        var stored = await references.GetAsync(reference.Key, cancellationToken);
        return await DecideAsync(facts, reference, stored?.Reference.Sha256 == reference.Sha256 ? stored.Decision : null, cancellationToken, request, gathered);
    }

    private ArtifactDecision Stamp(PolicyOutcome outcome, string version) =>
        new(outcome.Decision, outcome.Rule, outcome.Reason, version, time.GetUtcNow()) { PolicyRule = outcome.PolicyRule, Warnings = outcome.Warnings };

    private static string Describe(ArtifactReference reference) => $"{reference.Remote} {reference.Subject} {reference.FileName} {reference.Sha256}";
}
