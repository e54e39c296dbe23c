namespace Gatehouse.Scanning.Pickle;

/// <summary>
/// Scans a pickle stream (one or several concatenated pickles) with a symbolic pickle machine: every global the loader
/// would import and every call it would make is judged against the allow-list, then graded by the deny-list.
/// </summary>
public sealed class PickleScanner
{
    private readonly ScanLimits _limits;

    public PickleScanner(ScanLimits limits) => _limits = limits;

    /// <summary>Scans every pickle in <paramref name="stream"/> from its current position to the end.</summary>
    /// <param name="stream">Read forward only; never seeked, never buffered whole.</param>
    /// <param name="path">Member path used in findings.</param>
    public IReadOnlyList<ModelFinding> Scan(Stream stream, string? path) => throw new NotImplementedException();
}
