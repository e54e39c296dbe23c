using Gatehouse.Configuration;

namespace Gatehouse.Scans;

/// <summary>
/// What one check of one content may spend: temp disk (scaled to the content, between a floor and a ceiling), wall
/// time from entering a scan slot, and memory for the model scanner. Every check of a content gets the same budget, so
/// a file that would take the host down fails closed with <see cref="Rule"/> instead.
/// </summary>
public sealed class ScanBudget : IDisposable
{
    /// <summary>The check ran out of a budget: what it did not reach was not checked, so the content is held (fail closed).</summary>
    public const string Rule = Gatehouse.Scanning.Pickle.PickleRules.BudgetExceeded;

    private readonly CancellationTokenSource _clock;
    private long _tempInUse;

    /// <summary>A budget whose clock starts now: create it on entering the scan slot.</summary>
    public ScanBudget(long tempBytes, TimeSpan checkTime, long memoryBytes, TimeProvider? time = null)
    {
        TempBytes = tempBytes;
        CheckTime = checkTime;
        MemoryBytes = memoryBytes;
        _clock = new CancellationTokenSource(checkTime, time ?? TimeProvider.System);
    }

    /// <summary>Temp disk the check may hold at once.</summary>
    public long TempBytes { get; }

    /// <summary>
    /// Wall-clock time from entering a scan slot. Not CPU time: a check's work hops between thread-pool threads (async
    /// reads, the scanner's Task.Run), so no one thread's CPU clock measures it, and the process's clock mixes every
    /// concurrent check. Inside a slot (one per core) wall time bounds CPU time from above.
    /// </summary>
    public TimeSpan CheckTime { get; }

    /// <summary>Memory the model scanner's pickle machine may hold.</summary>
    public long MemoryBytes { get; }

    /// <summary>Fires when <see cref="CheckTime"/> has passed since the budget was made.</summary>
    public CancellationToken Deadline => _clock.Token;

    /// <summary>Whether the time budget ran out.</summary>
    public bool TimedOut => _clock.IsCancellationRequested;

    /// <summary>The budget for a content of <paramref name="contentBytes"/>: temp = min(max, max(min, per-byte × size)).</summary>
    public static ScanBudget For(long contentBytes, ScanOptions options, TimeProvider? time = null)
    {
        var perByte = Math.Max(1, options.TempBytesPerContentByte);
        var scaled = contentBytes > long.MaxValue / perByte ? long.MaxValue : contentBytes * perByte;
        var temp = Math.Min(options.MaxTempBytes, Math.Max(options.MinTempBytes, scaled));
        return new ScanBudget(temp, TimeSpan.FromSeconds(options.MaxCheckSeconds), options.MaxMemoryBytes, time);
    }

    public void Dispose() => _clock.Dispose();

    /// <summary>Temp disk held now.</summary>
    public long TempInUse => Interlocked.Read(ref _tempInUse);

    /// <summary>Takes <paramref name="bytes"/> of temp disk; throws <see cref="ScanBudgetExceededException"/> when that passes the budget.</summary>
    public void TakeTemp(long bytes, string? path)
    {
        if (Interlocked.Add(ref _tempInUse, bytes) > TempBytes)
        {
            Interlocked.Add(ref _tempInUse, -bytes);
            throw new ScanBudgetExceededException("temp disk", $"{TempBytes:N0} bytes", path);
        }
    }

    /// <summary>Gives back temp disk when a spool file is deleted.</summary>
    public void ReturnTemp(long bytes) => Interlocked.Add(ref _tempInUse, -bytes);

    /// <summary>The finding for a budget that ran out.</summary>
    public static Finding Exceeded(string budget, string limit, string? path) =>
        new(Rule, Severity.Suspicious, $"The check ran out of its {budget} budget ({limit}); what it did not reach was not checked.", path);

    /// <summary>The finding for the wall-time budget.</summary>
    public Finding TimeExceeded() => Exceeded("time", $"{CheckTime.TotalSeconds:N0} s", null);
}

/// <summary>A check passed its <see cref="ScanBudget"/>: it stops where it is and fails closed.</summary>
public sealed class ScanBudgetExceededException(string budget, string limit, string? path)
    : Exception($"The {budget} budget of {limit} was exceeded{(path is null ? "" : $" at {path}")}.")
{
    public string Budget { get; } = budget;

    public string Limit { get; } = limit;

    public string? ContentPath { get; } = path;

    public Finding ToFinding() => ScanBudget.Exceeded(Budget, Limit, ContentPath);
}
