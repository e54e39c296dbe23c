using Gatehouse.Pipeline;
using Gatehouse.Scanning;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;

namespace Gatehouse.Policy;

/// <summary>
/// The built-in policy, failing closed: a dangerous finding blocks; a check that could not finish or a suspicious
/// finding quarantines; only a clean content is allowed. Per reference it adds what the context says about the bytes:
/// a file whose name claims a model format its content is not, a package file that is not the archive its name
/// promises, and, inside an installable package, model-file findings below dangerous are package data (noted, not
/// held), since no loader opens them as checkpoints.
/// </summary>
public sealed class DefaultPolicy : IDecisionPolicy
{
    public const string CleanRule = "policy.clean";
    public const string CheckFailedRule = "policy.check-failed";

    /// <summary>The archive check's rules this policy states per context (the names it has always had).</summary>
    public const string UnreadableRule = ArchiveSafety.Rules.Unreadable;
    public const string FormatMismatchRule = ArchiveSafety.Rules.FormatMismatch;

    public string Version => "builtin-1";

    public PolicyOutcome Decide(ContentFacts facts, ArtifactContext context)
    {
        var findings = new List<Finding>();
        foreach (var finding in facts.Findings)
        {
            var packageData = context.IsPackage && finding.Check == nameof(ModelContentActivity) && finding.Severity < Severity.Dangerous;
            findings.Add(packageData ? finding with { Severity = Severity.Info } : finding);
        }
        findings.AddRange(ContextFindings(facts, context));

        if (findings.FirstOrDefault(f => f.Severity == Severity.Dangerous) is { } dangerous)
        {
            return new PolicyOutcome(Decision.Blocked, dangerous.Rule, $"Blocked by Gatehouse: {dangerous.Message} ({dangerous.Rule})", findings);
        }
        if (facts.Errors.FirstOrDefault() is { } failed)
        {
            return new PolicyOutcome(Decision.Quarantined, CheckFailedRule,
                $"Quarantined by Gatehouse: the {failed.Check} check could not finish ({failed.Error}), so the file is held for review", findings);
        }
        if (findings.FirstOrDefault(f => f.Severity == Severity.Suspicious) is { } suspicious)
        {
            return new PolicyOutcome(Decision.Quarantined, suspicious.Rule, $"Quarantined by Gatehouse: {suspicious.Message} ({suspicious.Rule})", findings);
        }
        return new PolicyOutcome(Decision.Allowed, CleanRule, "Passed every check", findings);
    }

    /// <summary>What this reference's name and remote say about the content, as findings.</summary>
    private static IEnumerable<Finding> ContextFindings(ContentFacts facts, ArtifactContext context)
    {
        var name = context.Reference.FileName;
        if (facts.ModelFormat == "data" && ModelScanner.UnrecognisedUnderName(name) is { } claimed && !context.IsPackage)
        {
            yield return new Finding(claimed.Rule, Severity.Suspicious, claimed.Message, Check: nameof(ModelContentActivity));
        }
        if (context.IsPackage && facts.Archive == ArchiveFormat.Unknown)
        {
            yield return new Finding(UnreadableRule, Severity.Suspicious, $"{name} is neither a zip nor a tar archive, so its content could not be checked.");
        }
        else if (context.ExpectedArchive is { } expected && facts.Archive != ArchiveFormat.Unknown && facts.Archive != expected)
        {
            yield return new Finding(FormatMismatchRule, Severity.Suspicious, $"{name} is named like {expected} but its content is {facts.Archive}.");
        }
    }
}
