namespace Gatehouse.Scanning.Reports;

/// <summary>The result of scanning a set of files: each file's report, or the error that stopped it.</summary>
public sealed record ScanRun(IReadOnlyList<ScannedFile> Files)
{
    /// <summary>0 when every file is safe, 1 when any has findings above Safe, 2 when any could not be scanned.</summary>
    public int ExitCode => Files.Any(f => f.Error is not null) ? 2 : Files.Any(f => f.Report!.Verdict != ScanLevel.Safe) ? 1 : 0;
}

/// <summary>One file of a run.</summary>
/// <param name="Path">As the user named it (relative to the folder given, when scanned through a folder).</param>
/// <param name="Report">The scanner's report, when it finished.</param>
/// <param name="Error">Why the file could not be scanned (unreadable, I/O error); such a file fails closed.</param>
public sealed record ScannedFile(string Path, FileReport? Report, string? Error)
{
    public string VerdictName => Error is not null ? "ERROR" : Report!.Verdict.ToString().ToUpperInvariant();
}
