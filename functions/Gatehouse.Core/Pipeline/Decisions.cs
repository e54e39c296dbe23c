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

/// <summary>The policy's word on one reference: the decision, the rule that made it, one line for the client, and the policy's version.</summary>
public sealed record ArtifactDecision(Decision Decision, string Rule, string Reason, string PolicyVersion, DateTimeOffset DecidedAt)
{
    public bool IsAllowed => Decision == Decision.Allowed;
}

/// <summary>
/// Who asks for a content and how, as a decision needs it: the reference, and what its remote promises about its files.
/// </summary>
/// <param name="ExpectedArchive">The archive the file's name promises (a <c>.whl</c> is a zip); null when it promises none.</param>
/// <param name="IsPackage">
/// The remote serves installable packages: each file must be an archive, and model-file findings inside one are package
/// data, not checkpoints anyone loads.
/// </param>
public sealed record ArtifactContext(ArtifactReference Reference, ArchiveFormat? ExpectedArchive, bool IsPackage);

/// <summary>The policy's answer before it is stamped with a time and a version.</summary>
public sealed record PolicyOutcome(Decision Decision, string Rule, string Reason, IReadOnlyList<Finding> Considered);

/// <summary>
/// The pipeline's decision hook: from a content's facts and one reference's context to a decision. Pure and fast
/// (it runs on every request for a known content); it fails closed.
/// </summary>
public interface IDecisionPolicy
{
    /// <summary>Changes whenever a decision could change; recorded with every decision.</summary>
    string Version { get; }

    PolicyOutcome Decide(ContentFacts facts, ArtifactContext context);
}
