namespace Gatehouse.Scans;

/// <summary>How bad a finding is, as its check judged the content alone.</summary>
public enum Severity
{
    /// <summary>Noted, does not change a decision by itself.</summary>
    Info = 0,
    /// <summary>Not provably safe: held for review unless a policy says otherwise.</summary>
    Suspicious = 1,
    /// <summary>A capability the loader or installer would reach: blocked.</summary>
    Dangerous = 2,
}

/// <summary>One explained observation of a check.</summary>
/// <param name="Rule">Stable rule id, e.g. "archive.path-traversal".</param>
/// <param name="Severity">How bad it is.</param>
/// <param name="Message">One sentence a developer understands.</param>
/// <param name="Path">Member path inside the content, when there is one.</param>
/// <param name="Offset">Byte offset, when there is one.</param>
/// <param name="Check">The check that made it, set when the findings of all checks are put together.</param>
public sealed record Finding(string Rule, Severity Severity, string Message, string? Path = null, long? Offset = null, string? Check = null);
