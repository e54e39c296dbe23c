using Gatehouse.Scans.Archives;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Scans;

/// <summary>Code that runs at install or interpreter start: .pth lines, compiled or obfuscated payloads.</summary>
public sealed class InstallTimeCodeActivity(StagedContent content, ILogger<InstallTimeCodeActivity> log) : TaskActivity<ScanRequest, CheckResult>
{
    public override async Task<CheckResult> RunAsync(TaskActivityContext context, ScanRequest input)
    {
        if (input.Ecosystem != "pypi")
        {
            // This check judges Python distributions; model repository files are judged by the model scanner.
            return new CheckResult(nameof(InstallTimeCodeActivity), []);
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await using var stream = await content.OpenAsync(input.Sha256, CancellationToken.None);
        try
        {
            var findings = await InstallTimeCode.InspectAsync(stream, input.FileName, CancellationToken.None);
            log.LogInformation("Check {Check} on {FileName} ({Sha256}): {Count} findings in {CheckMs} ms",
                nameof(InstallTimeCodeActivity), input.FileName, input.Sha256, findings.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return new CheckResult(nameof(InstallTimeCodeActivity), findings);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or NotSupportedException)
        {
            // Archive safety explains the broken container; this check could not look inside, so it says so.
            return new CheckResult(nameof(InstallTimeCodeActivity), [], $"the archive could not be read: {e.Message}");
        }
    }
}
