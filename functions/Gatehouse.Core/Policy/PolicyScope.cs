using Gatehouse.Pipeline;
using Gatehouse.Scanning;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;

namespace Gatehouse.Policy;

/// <summary>
/// One evaluation: the input, the time, the policy's licence lists, and what is derived from them once (the findings,
/// including what the file's name says about its content, and the licence's judgement).
/// </summary>
public sealed class PolicyScope
{
    private readonly LicenceLists _licences;
    private IReadOnlyList<Finding>? _findings;
    private int? _licenceState;
    private bool _licenceJudged;

    public PolicyScope(PolicyInput input, DateTimeOffset now, LicenceLists licences)
    {
        Input = input;
        Now = now;
        _licences = licences;
    }

    public PolicyInput Input { get; }

    public DateTimeOffset Now { get; }

    public ArtifactReference Reference => Input.Context.Reference;

    public ReferenceFacts Facts => Input.Context.Facts;

    public ContentFacts? Content => Input.Content;

    /// <summary>The content's findings and those its context adds; empty before the content is scanned.</summary>
    public IReadOnlyList<Finding> Findings => _findings ??= Input.Content is null ? [] : [.. Input.Content.Findings, .. ContextFindings(Input.Content, Input.Context)];

    /// <summary>The index of the licence's state in <see cref="PolicyFacts.LicenceStates"/>, or null when no licence fact is known.</summary>
    public int? LicenceState
    {
        get
        {
            if (!_licenceJudged)
            {
                _licenceState = Facts.Licence is { } licence ? (int)LicenceJudge.Judge(licence, _licences) : null;
                _licenceJudged = true;
            }
            return _licenceState;
        }
    }

    /// <summary>
    /// What a reference's name and remote say about the content, as findings: a file named like a model its loader
    /// would read whose content is no model format (held, since it is not provably inert, but only outside installable
    /// packages, which nobody loads as checkpoints), a package file that is no archive, or not the archive its name promises.
    /// </summary>
    private static IEnumerable<Finding> ContextFindings(ContentFacts facts, ArtifactContext context)
    {
        var name = context.Reference.FileName;
        if (facts.ModelFormat == "data" && !context.IsPackage && ModelScanner.UnrecognisedUnderName(name) is { } claimed)
        {
            yield return new Finding(claimed.Rule, Severity.Suspicious, claimed.Message, Check: nameof(ModelContentActivity));
        }
        if (context.IsPackage && facts.Archive == ArchiveFormat.Unknown)
        {
            yield return new Finding(ArchiveSafety.Rules.Unreadable, Severity.Suspicious, $"{name} is neither a zip nor a tar archive, so its content could not be checked.",
                Check: ContentChecks.ArchiveSafetyCheck);
        }
        else if (context.ExpectedArchive is { } expected && facts.Archive != ArchiveFormat.Unknown && facts.Archive != expected)
        {
            yield return new Finding(ArchiveSafety.Rules.FormatMismatch, Severity.Suspicious, $"{name} is named like {expected} but its content is {facts.Archive}.",
                Check: ContentChecks.ArchiveSafetyCheck);
        }
    }
}
