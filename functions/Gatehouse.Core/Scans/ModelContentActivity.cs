using Gatehouse.Scanning;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Scans;

/// <summary>
/// The model-file scanner (<see cref="ModelScanner"/>) as one more check: pickles, checkpoints and every other model
/// format inside the content, told by content.
/// </summary>
public sealed class ModelContentActivity(StagedContent content, ModelScanSlots slots, ILogger<ModelContentActivity> log) : TaskActivity<ScanRequest, CheckResult>
{
    public override async Task<CheckResult> RunAsync(TaskActivityContext context, ScanRequest input)
    {
        using var slot = await slots.EnterAsync(CancellationToken.None);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await using var stream = await content.OpenAsync(input.Sha256, CancellationToken.None);
        var report = await new ModelScanner().ScanAsync(stream, input.FileName, CancellationToken.None);
        var findings = ModelContentFindings.From(report, input.Ecosystem);
        log.LogInformation("Check {Check} on {FileName} ({Sha256}): {Format}, {Verdict}, {Count} findings in {CheckMs} ms",
            nameof(ModelContentActivity), input.FileName, input.Sha256, report.Format, report.Verdict, findings.Count,
            System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new CheckResult(nameof(ModelContentActivity), findings);
    }
}

/// <summary>Turns the model scanner's levels into the policy's severities.</summary>
public static class ModelContentFindings
{
    /// <summary>
    /// Dangerous blocks everywhere. For model repositories (Hugging Face) Invalid and Suspicious quarantine, failing
    /// closed. A Python package is full of data files the scanner cannot prove inert (a <c>.bin</c> blob is not a
    /// checkpoint someone torch.loads), so there only Dangerous decides and the rest is noted; the archive and
    /// install-time checks judge the package itself.
    /// </summary>
    public static IReadOnlyList<Finding> From(FileReport report, string ecosystem)
    {
        var modelRepository = ecosystem != "pypi";
        return report.Findings.Select(f => new Finding(
            f.Rule,
            f.Level switch
            {
                ScanLevel.Dangerous => Severity.Dangerous,
                ScanLevel.Invalid or ScanLevel.Suspicious when modelRepository => Severity.Suspicious,
                _ => Severity.Info,
            },
            Describe(f),
            f.Path,
            f.Offset)).ToList();
    }

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
