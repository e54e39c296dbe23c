namespace Gatehouse.Scanning;

/// <summary>How a file or a finding is judged. Ordered from harmless to worst, so <c>Max</c> gives a file's verdict.</summary>
public enum ScanLevel
{
    /// <summary>Nothing the loader would run is outside the allow-list.</summary>
    Safe = 0,
    /// <summary>Not provably safe: an unknown callable, an odd container, a resource limit. Quarantine.</summary>
    Suspicious = 1,
    /// <summary>Cannot be parsed the way the loader parses it; fail closed. Quarantine.</summary>
    Invalid = 2,
    /// <summary>A known-bad capability (code execution, network, file system) the loader would reach. Block.</summary>
    Dangerous = 3,
}
