namespace Gatehouse.Scans;

/// <summary>What a scan is about: one content (sha256) staged under `staging/{sha256}`, as first seen.</summary>
/// <param name="Sha256">Lower-case hex sha256 of the content; the orchestration instance id derives from it.</param>
/// <param name="Ecosystem">"pypi" or "hf".</param>
/// <param name="Subject">Where the content came from, in the user's words: "gh-demo 1.0.0" or "org/model@commit".</param>
/// <param name="FileName">The file name as the registry names it (decides wheel vs sdist, never the parser alone).</param>
/// <param name="Size">Content length in bytes.</param>
public sealed record ScanRequest(string Sha256, string Ecosystem, string Subject, string FileName, long Size);

/// <summary>How bad a finding is.</summary>
public enum Severity
{
    /// <summary>Noted, does not change the verdict.</summary>
    Info = 0,
    /// <summary>Quarantine for review.</summary>
    Suspicious = 1,
    /// <summary>Block.</summary>
    Dangerous = 2,
}

/// <summary>One explained observation of a check.</summary>
/// <param name="Rule">Stable rule id, e.g. "archive.path-traversal".</param>
/// <param name="Severity">How bad it is.</param>
/// <param name="Message">One sentence a developer understands.</param>
/// <param name="Path">Member path inside the artifact, when there is one.</param>
/// <param name="Offset">Byte offset, when there is one.</param>
public sealed record Finding(string Rule, Severity Severity, string Message, string? Path = null, long? Offset = null);

/// <summary>
/// The contract every scan activity implements: <c>TaskActivity&lt;ScanRequest, CheckResult&gt;</c>.
/// A check reads the staged blob itself and reports findings; an exception or <see cref="Error"/> fails closed.
/// </summary>
/// <param name="Check">The activity name.</param>
/// <param name="Findings">What it found (empty when clean).</param>
/// <param name="Error">Set when the check could not finish; the policy treats that as a quarantine.</param>
public sealed record CheckResult(string Check, IReadOnlyList<Finding> Findings, string? Error = null);

/// <summary>The policy's decision for a content.</summary>
public enum Decision
{
    Allowed = 0,
    Quarantined = 1,
    Blocked = 2,
}

/// <summary>The stored outcome of a scan.</summary>
/// <param name="Sha256">Content id.</param>
/// <param name="Decision">Allowed, quarantined or blocked.</param>
/// <param name="Rule">The rule that decided ("policy.clean" when nothing was found).</param>
/// <param name="Reason">One line for the client's error channel.</param>
/// <param name="Findings">Every finding of every check.</param>
public sealed record Verdict(string Sha256, Decision Decision, string Rule, string Reason, IReadOnlyList<Finding> Findings);

/// <summary>Input of <c>RecordVerdictActivity</c>: the request and every check's result.</summary>
public sealed record VerdictInput(ScanRequest Request, IReadOnlyList<CheckResult> Results);
