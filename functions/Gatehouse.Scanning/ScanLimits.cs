namespace Gatehouse.Scanning;

/// <summary>
/// Caps that keep scanning bounded in time and memory whatever the file claims, yet generous enough that real models
/// (a 100k-entry vocab dict, a 70B checkpoint's data.pkl) stay Safe. Hitting one is a Suspicious finding, never a crash.
/// </summary>
public sealed record ScanLimits
{
    public long MaxOpcodes { get; init; } = 50_000_000;
    public int MaxMemoEntries { get; init; } = 10_000_000;
    public int MaxStackDepth { get; init; } = 1_000_000;
    /// <summary>MARK nesting and nested-container depth of symbolic objects.</summary>
    public int MaxMarkDepth { get; init; } = 10_000;
    /// <summary>Pickles nested in bytes/str arguments, archives in archives.</summary>
    public int MaxNestingDepth { get; init; } = 5;
    /// <summary>Largest byte/str argument kept in memory to look inside (bigger ones are skipped by length).</summary>
    public int MaxInspectedArgumentBytes { get; init; } = 16 * 1024 * 1024;
    public long MaxUncompressedBytes { get; init; } = 64L * 1024 * 1024 * 1024;
    public double MaxCompressionRatio { get; init; } = 1000;
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>
    /// Memory the pickle machines of one file's scan may hold, over every pickle in it (a torch zip's data.pkl and the
    /// rest, pickles nested in arguments). Past it the scan fails closed with a Suspicious scan.budget-exceeded finding.
    /// </summary>
    public long MaxMemoryBytes { get; init; } = 256L * 1024 * 1024;
    /// <summary>Bytes spooled to temp files in all (members that must be read out of order); the proxy sets its scan budget here.</summary>
    public long MaxTempBytes { get; init; } = long.MaxValue;
}
