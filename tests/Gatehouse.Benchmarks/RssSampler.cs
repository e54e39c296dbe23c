using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Gatehouse.Benchmarks;

/// <summary>
/// One reading of /proc/PID/status, in MiB: resident now; its anonymous (GC heaps, native allocations), file-backed
/// (mapped assemblies) and shared-memory parts (.NET's double-mapped JIT code); and the peak.
/// </summary>
public sealed record RssReading(double VmRssMiB, double RssAnonMiB, double RssFileMiB, double RssShmemMiB, double VmHwmMiB)
{
    public static RssReading Read(long pid)
    {
        var fields = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            var colon = line.IndexOf(':');
            if (colon > 0 && line.EndsWith(" kB", StringComparison.Ordinal))
            {
                fields[line[..colon]] = long.Parse(line[(colon + 1)..^3].Trim(), CultureInfo.InvariantCulture) / 1024.0;
            }
        }
        return new RssReading(fields["VmRSS"], fields.GetValueOrDefault("RssAnon"), fields.GetValueOrDefault("RssFile"), fields.GetValueOrDefault("RssShmem"), fields["VmHWM"]);
    }
}

/// <summary>
/// Samples a process's resident set every few milliseconds while a phase runs, and keeps the largest values; the
/// kernel's own high-water mark (VmHWM) catches what falls between samples, and is reset per phase through
/// /proc/PID/clear_refs ("5") where the kernel allows it.
/// </summary>
public sealed class RssSampler : IAsyncDisposable
{
    private readonly long _pid;
    private readonly TimeSpan _interval;
    private readonly StringBuilder? _csv;
    private readonly string? _csvPath;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly Lock _gate = new();
    private string _phase = "start";
    private RssReading _max = new(0, 0, 0, 0, 0);

    public RssSampler(long pid, TimeSpan interval, string? csvPath)
    {
        _pid = pid;
        _interval = interval;
        _csvPath = csvPath;
        _csv = csvPath is null ? null : new StringBuilder("elapsedMs,phase,vmRssMiB,rssAnonMiB,rssFileMiB,rssShmemMiB,vmHwmMiB\n");
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Starts a phase: the sampled maxima start again, and so does VmHWM when the kernel lets it be reset.</summary>
    public bool BeginPhase(string phase)
    {
        var reset = ResetHighWaterMark();
        lock (_gate)
        {
            _phase = phase;
            _max = RssReading.Read(_pid);
        }
        return reset;
    }

    /// <summary>The phase's figures so far: sampled maxima of VmRSS, RssAnon and RssFile, and VmHWM now.</summary>
    public JsonObject Summary(bool hwmReset)
    {
        var now = RssReading.Read(_pid);
        Sample(now);
        lock (_gate)
        {
            return new JsonObject
            {
                ["vmHwmMiB"] = Results.Round(now.VmHwmMiB),
                ["vmHwmSince"] = hwmReset ? "phase start (clear_refs)" : "process start",
                ["sampledPeakVmRssMiB"] = Results.Round(_max.VmRssMiB),
                ["sampledPeakRssAnonMiB"] = Results.Round(_max.RssAnonMiB),
                ["sampledPeakRssFileMiB"] = Results.Round(_max.RssFileMiB),
                ["sampledPeakRssShmemMiB"] = Results.Round(_max.RssShmemMiB),
                ["vmRssAtEndMiB"] = Results.Round(now.VmRssMiB),
            };
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        if (_csvPath is not null)
        {
            await File.WriteAllTextAsync(_csvPath, _csv!.ToString());
        }
        _stop.Dispose();
    }

    private bool ResetHighWaterMark()
    {
        try
        {
            File.WriteAllText($"/proc/{_pid}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                Sample(RssReading.Read(_pid));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or KeyNotFoundException)
            {
                return; // the process is gone
            }
            await Task.Delay(_interval, _stop.Token);
        }
    }

    private void Sample(RssReading r)
    {
        lock (_gate)
        {
            _max = new RssReading(Math.Max(_max.VmRssMiB, r.VmRssMiB), Math.Max(_max.RssAnonMiB, r.RssAnonMiB), Math.Max(_max.RssFileMiB, r.RssFileMiB),
                Math.Max(_max.RssShmemMiB, r.RssShmemMiB), r.VmHwmMiB);
            _csv?.Append(CultureInfo.InvariantCulture,
                $"{Stopwatch.GetElapsedTime(_started).TotalMilliseconds:F0},{_phase},{r.VmRssMiB:F1},{r.RssAnonMiB:F1},{r.RssFileMiB:F1},{r.RssShmemMiB:F1},{r.VmHwmMiB:F1}\n");
        }
    }
}
