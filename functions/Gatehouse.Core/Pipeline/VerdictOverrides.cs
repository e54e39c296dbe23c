namespace Gatehouse.Pipeline;

/// <summary>
/// A reviewer's decision that stands over the policy's for one content: a release (a waiver: allowed, with a reason, an
/// expiry and the approver) or a block. Expired overrides are not returned.
/// </summary>
/// <param name="Id">The override's id, for the audit and for revoking it.</param>
/// <param name="Decision">Allowed for a release, Blocked for a block.</param>
/// <param name="Reason">Why, as the reviewer wrote it.</param>
/// <param name="By">Who approved it (a token name or a person).</param>
/// <param name="Expires">When a release lapses; null for a block, which stands until lifted.</param>
public sealed record VerdictOverride(string Id, Decision Decision, string Reason, string By, DateTimeOffset At, DateTimeOffset? Expires);

/// <summary>The reviewers' overrides, consulted by every decision after the policy.</summary>
public interface IVerdictOverrides
{
    /// <summary>The live override for the reference's content, or null.</summary>
    Task<VerdictOverride?> FindAsync(ArtifactReference reference, CancellationToken cancellationToken);
}
