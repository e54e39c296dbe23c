using Gatehouse.Scans;
using Gatehouse.Scans.Archives;

namespace Gatehouse.Pipeline;

/// <summary>What a reference's client gets.</summary>
public enum Decision
{
    Allowed = 0,
    Quarantined = 1,
    Blocked = 2,
}

/// <summary>
/// The policy's word on one reference: the decision, the rule that made it (a content finding's own rule when the content
/// decided, else the policy rule), one line for the client, and the policy's version.
/// </summary>
public sealed record ArtifactDecision(Decision Decision, string Rule, string Reason, string PolicyVersion, DateTimeOffset DecidedAt)
{
    public bool IsAllowed => Decision == Decision.Allowed;

    /// <summary>The id of the policy rule that decided (or "default" when none did).</summary>
    public string PolicyRule { get; init; } = "";

    /// <summary>What warn rules said of an allowed file; served with it as <c>Warning</c> headers.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>
/// Who asks for a content and how, as a decision needs it: the reference, and what its remote promises about its files.
/// </summary>
/// <param name="ExpectedArchive">The archive the file's name promises (a <c>.whl</c> is a zip); null when it promises none.</param>
/// <param name="IsPackage">
/// The remote serves installable packages: each file must be an archive, and model-file findings inside one are package
/// data, not checkpoints anyone loads.
/// </param>
public sealed record ArtifactContext(ArtifactReference Reference, ArchiveFormat? ExpectedArchive, bool IsPackage)
{
    /// <summary>What the remote knows of the reference besides its bytes (vulnerabilities, licence, name, age, provenance).</summary>
    public ReferenceFacts Facts { get; init; } = ReferenceFacts.None;
}

/// <summary>The policy's answer before it is stamped with a time and a version.</summary>
/// <param name="Rule">A content finding's rule when the content decided, else the policy rule's id.</param>
/// <param name="Considered">The findings the decision weighed.</param>
public sealed record PolicyOutcome(Decision Decision, string Rule, string Reason, IReadOnlyList<Finding> Considered)
{
    /// <summary>The id of the policy rule that decided, or "default".</summary>
    public string PolicyRule { get; init; } = "";

    /// <summary>What warn rules said; the file is still served (with these as warnings) when allowed.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>
/// The pipeline's decision hook: from what is known of a reference (its content's facts, when it has been scanned, and
/// its remote's facts) to a decision. Pure and fast: it runs on every request, and for every file of an index page.
/// </summary>
public interface IDecisionPolicy
{
    /// <summary>Changes whenever a decision could change (a content hash of the policy); recorded with every decision.</summary>
    string Version { get; }

    /// <summary>
    /// The decision for <paramref name="context"/>. <paramref name="content"/> is null before the file is fetched: rules
    /// over content then cannot fire, so what is refused on metadata alone is refused before any download.
    /// </summary>
    PolicyOutcome Decide(ContentFacts? content, ArtifactContext context);
}

/// <summary>Where the policy in force comes from; it may change while Gatehouse runs (a new policy file is applied).</summary>
public interface IPolicySource
{
    ValueTask<IDecisionPolicy> CurrentAsync(CancellationToken cancellationToken);
}
