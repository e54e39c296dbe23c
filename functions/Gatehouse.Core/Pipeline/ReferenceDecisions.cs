using Gatehouse.Audit;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Pipeline;

/// <summary>
/// Decisions per context: the policy applied to a content's facts for one reference, recorded on that reference (and
/// in the audit) whenever it differs from what was recorded. The policy is pure, so deciding again costs microseconds;
/// a write happens only when the decision, its rule or the policy changed.
/// </summary>
public sealed class ReferenceDecisions(IDecisionPolicy policy, RemoteRegistry remotes, IReferenceStore references, IAuditLog audit, TimeProvider time,
    ILogger<ReferenceDecisions> log)
{
    /// <summary>What the policy would decide for <paramref name="reference"/>, without recording anything.</summary>
    public PolicyOutcome Preview(ContentFacts facts, ArtifactReference reference) => policy.Decide(facts, remotes[reference.Remote].ContextOf(reference));

    /// <summary>The decision for <paramref name="reference"/>; <paramref name="recorded"/> is what its row holds, if it was read.</summary>
    public async Task<ArtifactDecision> DecideAsync(ContentFacts facts, ArtifactReference reference, ArtifactDecision? recorded, CancellationToken cancellationToken)
    {
        var outcome = Preview(facts, reference);
        if (recorded is not null && recorded.Decision == outcome.Decision && recorded.Rule == outcome.Rule && recorded.PolicyVersion == policy.Version)
        {
            return recorded;
        }
        var decision = new ArtifactDecision(outcome.Decision, outcome.Rule, outcome.Reason, policy.Version, time.GetUtcNow());
        if (!await references.RecordDecisionAsync(reference, decision, cancellationToken))
        {
            return decision;
        }
        await audit.WriteAsync("decision", $"{reference.Remote} {reference.Subject} {reference.FileName} {reference.Sha256}",
            $"{decision.Decision} by {decision.Rule} (policy {decision.PolicyVersion}): {decision.Reason}", cancellationToken);
        log.LogInformation("Decision {Decision} for {Remote} {Subject} {FileName} ({Sha256}) by rule {Rule} under policy {PolicyVersion}",
            decision.Decision, reference.Remote, reference.Subject, reference.FileName, reference.Sha256, decision.Rule, decision.PolicyVersion);
        return decision;
    }

    /// <summary>The decision for a reference whose recorded state is not at hand: reads it first.</summary>
    public async Task<ArtifactDecision> DecideAsync(ContentFacts facts, ArtifactReference reference, CancellationToken cancellationToken)
    {
        var stored = await references.GetAsync(reference.Key, cancellationToken);
        return await DecideAsync(facts, reference, stored?.Reference.Sha256 == reference.Sha256 ? stored.Decision : null, cancellationToken);
    }
}
