using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Events;

namespace Gatehouse.Pipeline;

/// <summary>
/// The event a change of a reference's recorded decision announces. From no decision (a file decided for the first
/// time, or its name now pointing at other content): Quarantined → <c>ArtifactQuarantined</c>, Blocked →
/// <c>ArtifactBlocked</c>, Allowed → none (being served is not news; the audit has it). From a recorded decision: into
/// Blocked → <c>ArtifactBlocked</c>; Allowed → Quarantined → <c>ArtifactQuarantined</c>; Quarantined or Blocked →
/// Allowed → <c>ArtifactReleased</c>; Blocked → Quarantined, or the same decision by another rule →
/// <c>VerdictChanged</c>. The same decision by the same rule under a new policy version announces nothing.
/// </summary>
public static class DecisionEvents
{
    public static string? TypeOf(Decision? previous, string? previousRule, Decision decision, string rule) => (previous, decision) switch
    {
        (null, Decision.Allowed) => null,
        (null, Decision.Quarantined) => GatehouseEventTypes.ArtifactQuarantined,
        (null, _) => GatehouseEventTypes.ArtifactBlocked,
        (not Decision.Blocked, Decision.Blocked) => GatehouseEventTypes.ArtifactBlocked,
        (Decision.Allowed, Decision.Quarantined) => GatehouseEventTypes.ArtifactQuarantined,
        (not Decision.Allowed, Decision.Allowed) => GatehouseEventTypes.ArtifactReleased,
        _ when previous != decision || !string.Equals(previousRule, rule, StringComparison.Ordinal) => GatehouseEventTypes.VerdictChanged,
        _ => null,
    };

    /// <summary>
    /// The event for recording <paramref name="decision"/> over <paramref name="previous"/> (null: none recorded), or null
    /// when the change announces nothing. <paramref name="replaced"/> names the row version replaced (its ETag), so the
    /// id is the same however often this one change is attempted, and different for every change.
    /// </summary>
    public static GatehouseEvent? Of(ArtifactReference reference, Decision? previous, string? previousRule, ArtifactDecision decision, string replaced)
    {
        if (TypeOf(previous, previousRule, decision.Decision, decision.Rule) is not { } type)
        {
            return null;
        }
        var key = reference.Key;
        var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            string.Join('\n', key.Partition, key.Row, reference.Sha256, replaced, decision.Decision.ToString(), decision.Rule, decision.PolicyVersion))))[..32];
        var data = new JsonObject
        {
            ["remote"] = reference.Remote.Name,
            ["subject"] = reference.Subject,
            ["file"] = reference.FileName,
            ["sha256"] = reference.Sha256,
            ["previousDecision"] = previous?.ToString(),
            ["previousRule"] = previous is null ? null : previousRule,
            ["decision"] = decision.Decision.ToString(),
            ["rule"] = decision.Rule,
            ["reason"] = decision.Reason.Length <= 4000 ? decision.Reason : decision.Reason[..4000],
            ["policyVersion"] = decision.PolicyVersion,
            ["policyRule"] = decision.PolicyRule,
        };
        return new GatehouseEvent(id, type, Subject(reference), data, decision.DecidedAt);
    }

    /// <summary>
    /// <c>{remote}/{project or repo}/{file or commit/path}</c>, e.g. <c>pypi/gh-demo/gh_demo-1.0.0.tar.gz</c>: the reference's
    /// keys without their escaping, so Event Grid subscriptions can filter on a prefix.
    /// </summary>
    public static string Subject(ArtifactReference reference)
    {
        var partition = reference.Key.Partition;
        var name = partition.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0 ? partition[(colon + 1)..] : partition;
        return $"{reference.Remote.Name}/{Uri.UnescapeDataString(name)}/{Uri.UnescapeDataString(reference.Key.Row)}";
    }
}
