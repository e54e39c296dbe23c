using Gatehouse.Configuration;
using Gatehouse.Scans.Archives;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Scans;

/// <summary>Archive bombs, traversal, symlinks and nesting in wheels and sdists.</summary>
public sealed class ArchiveSafetyActivity(StagedContent content, IOptions<GatehouseOptions> options, ILogger<ArchiveSafetyActivity> log)
    : TaskActivity<ScanRequest, CheckResult>
{
    public override async Task<CheckResult> RunAsync(TaskActivityContext context, ScanRequest input)
    {
        if (input.Ecosystem != "pypi")
        {
            // This check judges Python distributions; model repository files are judged by the model scanner.
            return new CheckResult(nameof(ArchiveSafetyActivity), []);
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await using var stream = await content.OpenAsync(input.Sha256, CancellationToken.None);
        var findings = await new ArchiveSafety(options.Value.Archive).InspectAsync(stream, input.FileName, CancellationToken.None);
        log.LogInformation("Check {Check} on {FileName} ({Sha256}): {Count} findings in {CheckMs} ms",
            nameof(ArchiveSafetyActivity), input.FileName, input.Sha256, findings.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new CheckResult(nameof(ArchiveSafetyActivity), findings);
    }
}
