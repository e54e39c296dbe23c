using Gatehouse.Scans;
using Gatehouse.Scans.Archives;

namespace Gatehouse.Pipeline;

/// <summary>
/// What the checks found about one content (sha256): complete, and the same whoever asked first, through whichever
/// remote and under whichever name. Decisions are made from these facts per reference (<see cref="IDecisionPolicy"/>).
/// </summary>
/// <param name="Version">The facts' schema and check set; facts of an older version are not trusted and the content is scanned again.</param>
/// <param name="Archive">The archive the content is (zip, tar, gzip'd tar), told by content; Unknown when it is none.</param>
/// <param name="IsWheel">A zip with a top-level <c>*.dist-info/WHEEL</c>: installed by pip's wheel rules.</param>
/// <param name="ModelFormat">What the model scanner read the content as ("pickle", "pytorch-zip", "safetensors", "data", …).</param>
/// <param name="Findings">Every check's findings, each with the check that made it.</param>
/// <param name="Errors">Checks that could not finish; a decision treats them as failing closed.</param>
/// <param name="Container">
/// Where the blob is: <c>artifacts</c> once any reference is allowed it, else <c>quarantine</c>. Serving reads it from
/// there, and only under a decision that allows it.
/// </param>
public sealed record ContentFacts(
    string Sha256, long Size, int Version, ArchiveFormat Archive, bool IsWheel, string ModelFormat,
    IReadOnlyList<Finding> Findings, IReadOnlyList<CheckError> Errors, string Container, DateTimeOffset ScannedAt)
{
    /// <summary>
    /// Raised whenever the checks or what they record change. Version 1: the checks are chosen by content, not by
    /// the first requester's ecosystem or file name. Version 2: content that every loader of its name would reject
    /// before importing anything is inert, not suspicious, so facts recorded before are scanned again.
    /// </summary>
    public const int CurrentVersion = 2;

    public bool IsCurrent => Version == CurrentVersion;
}

/// <summary>A check that could not finish, and why.</summary>
public sealed record CheckError(string Check, string Error);

/// <summary>
/// What one check reports about a content. <paramref name="Error"/> is set when it could not finish; the traits are
/// what it learnt of the content's form, merged into <see cref="ContentFacts"/>.
/// </summary>
public sealed record CheckResult(string Check, IReadOnlyList<Finding> Findings, string? Error = null, ArchiveFormat? Archive = null, bool? IsWheel = null,
    string? ModelFormat = null);
