using Gatehouse.Pipeline;

namespace Gatehouse.Rescans;

/// <summary>Why a cached verdict is evaluated again; <see cref="None"/> when nothing it rests on has changed.</summary>
public enum RescanReason
{
    None,

    /// <summary>The content's facts come from older checks (<see cref="ContentFacts.CurrentVersion"/> moved on): it is scanned again.</summary>
    Facts,

    /// <summary>The content has current facts but the reference has no decision recorded (its name was re-pointed, or its row predates decisions).</summary>
    Undecided,

    /// <summary>The decision was made under another policy than the one in force.</summary>
    Policy,

    /// <summary>The OSV mirror was imported after the decision was made, and no completed rescan has covered that import.</summary>
    Vulnerabilities,
}

/// <summary>
/// What a rescan compares each verdict with, fixed when it starts: the policy in force, the OSV mirror's last import,
/// and the import the last completed rescan already covered.
/// </summary>
/// <param name="PolicyVersion">The version of the policy in force (<see cref="IDecisionPolicy.Version"/>).</param>
/// <param name="OsvImportedAt">When the mirror was last imported; null when it never was.</param>
/// <param name="OsvCovered">The import the last completed rescan compared with; decisions older than it were re-evaluated then.</param>
public sealed record RescanBaseline(string PolicyVersion, DateTimeOffset? OsvImportedAt, DateTimeOffset? OsvCovered);

/// <summary>
/// Which cached verdicts a rescan evaluates again. Only references whose content was scanned are considered (their
/// verdict is cached); a reference whose content was never scanned is decided by its next request anyway.
/// </summary>
public static class RescanSelection
{
    /// <summary>Why <paramref name="stored"/> (whose content's facts are <paramref name="facts"/>) is evaluated again.</summary>
    public static RescanReason Why(StoredReference stored, ContentFacts? facts, RescanBaseline baseline)
    {
        if (facts is null || facts.Sha256 != stored.Reference.Sha256)
        {
            return RescanReason.None;
        }
        if (!facts.IsCurrent)
        {
            return RescanReason.Facts;
        }
        if (stored.Decision is not { } decision)
        {
            return RescanReason.Undecided;
        }
        if (decision.PolicyVersion != baseline.PolicyVersion)
        {
            return RescanReason.Policy;
        }
        return baseline.OsvImportedAt is { } imported && imported > decision.DecidedAt && (baseline.OsvCovered is not { } covered || imported > covered)
            ? RescanReason.Vulnerabilities
            : RescanReason.None;
    }

    /// <summary>
    /// The fan-out slot of a content: every reference to one content goes to the same activity, so no two activities
    /// move the same blob between <c>artifacts</c> and <c>quarantine</c> at once.
    /// </summary>
    public static int Slot(string sha256, int slots) =>
        slots <= 1 || sha256.Length < 8 ? 0 : (int)(Convert.ToUInt32(sha256[..8], 16) % (uint)slots);
}
