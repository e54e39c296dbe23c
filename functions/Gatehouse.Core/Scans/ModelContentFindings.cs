using Gatehouse.Scanning;

namespace Gatehouse.Scans;

/// <summary>Turns the model scanner's levels into findings' severities.</summary>
public static class ModelContentFindings
{
    /// <summary>
    /// Dangerous stays dangerous; content the loader would reject (Invalid) or that is not provably safe (Suspicious)
    /// is suspicious, failing closed. Whether a suspicious model finding matters where the file is used is the
    /// policy's call (inside a Python package it is package data, not a checkpoint anyone loads).
    /// </summary>
    public static IReadOnlyList<Finding> From(FileReport report) =>
        report.Findings.Select(f => new Finding(
            f.Rule,
            f.Level switch
            {
                ScanLevel.Dangerous => Severity.Dangerous,
                ScanLevel.Invalid or ScanLevel.Suspicious => Severity.Suspicious,
                _ => Severity.Info,
            },
            Describe(f),
            f.Path,
            f.Offset)).ToList();

    private static string Describe(ModelFinding f) =>
        f.Global is null ? f.Message : $"{f.Message} [{f.Global}{(f.CallSite is null ? "" : " via " + f.CallSite)}]";
}

/// <summary>
/// Bounds how many model scans run at once in this process (one per core): the scan is CPU-bound, and a pickle's memo
/// holds every object until the stream ends (~100 bytes per entry), so a prefetch fanning out many large pickles would
/// otherwise multiply that memory without finishing any sooner.
/// </summary>
public sealed class ModelScanSlots
{
    private readonly SemaphoreSlim _slots = new(Environment.ProcessorCount, Environment.ProcessorCount);

    /// <summary>Waits for a free slot; disposing the result frees it.</summary>
    public async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        return new Slot(_slots);
    }

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}
