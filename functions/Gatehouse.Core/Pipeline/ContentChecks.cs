using System.Diagnostics;
using Gatehouse.Configuration;
using Gatehouse.Scanning;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Gatehouse.Telemetry;

namespace Gatehouse.Pipeline;

/// <summary>
/// The checks every content goes through. Each gets only the sha256 and reads the content itself, so what it finds
/// depends on the bytes alone: which parts apply is told by content (an archive, a wheel, a pickle), never by a name
/// or by who asked.
/// </summary>
public static class ContentChecks
{
    public static readonly IReadOnlyList<string> All = [nameof(ArchiveSafetyActivity), nameof(InstallTimeCodeActivity), nameof(ModelContentActivity)];
}

/// <summary>Archive bombs, traversal, links and nesting, in any zip or tar content.</summary>
public sealed class ArchiveSafetyActivity(ContentStore content, IOptions<GatehouseOptions> options, ILogger<ArchiveSafetyActivity> log)
    : TaskActivity<CheckInput, CheckResult>
{
    public override async Task<CheckResult> RunAsync(TaskActivityContext context, CheckInput input)
    {
        using var timed = GatehouseTelemetry.Check(nameof(ArchiveSafetyActivity), input.Sha256);
        var started = Stopwatch.GetTimestamp();
        await using var stream = await content.OpenAsync(input.Sha256, CancellationToken.None);
        var (format, findings) = await new ArchiveSafety(options.Value.Archive).InspectAsync(stream, CancellationToken.None);
        log.LogInformation("Check {Check} on {Sha256} ({Format}): {Count} findings in {CheckMs} ms",
            nameof(ArchiveSafetyActivity), input.Sha256, format, findings.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new CheckResult(nameof(ArchiveSafetyActivity), findings, Archive: format);
    }
}

/// <summary>Code that runs at install or interpreter start (.pth lines, sitecustomize, compiled or obfuscated payloads) in any archive.</summary>
public sealed class InstallTimeCodeActivity(ContentStore content, ILogger<InstallTimeCodeActivity> log) : TaskActivity<CheckInput, CheckResult>
{
    public override async Task<CheckResult> RunAsync(TaskActivityContext context, CheckInput input)
    {
        using var timed = GatehouseTelemetry.Check(nameof(InstallTimeCodeActivity), input.Sha256);
        var started = Stopwatch.GetTimestamp();
        await using var stream = await content.OpenAsync(input.Sha256, CancellationToken.None);
        try
        {
            var (isWheel, findings) = await InstallTimeCode.InspectAsync(stream, CancellationToken.None);
            log.LogInformation("Check {Check} on {Sha256}: {Count} findings in {CheckMs} ms",
                nameof(InstallTimeCodeActivity), input.Sha256, findings.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return new CheckResult(nameof(InstallTimeCodeActivity), findings, IsWheel: isWheel);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or NotSupportedException)
        {
            // Archive safety explains the broken container; this check could not look inside, so it says so.
            return new CheckResult(nameof(InstallTimeCodeActivity), [], $"the archive could not be read: {e.Message}");
        }
    }
}

/// <summary>
/// The model-file scanner (<see cref="ModelScanner"/>) on the content: pickles, checkpoints and every other model
/// format, told by content. It is given no file name: what a name claims is judged per reference by the policy.
/// </summary>
public sealed class ModelContentActivity(ContentStore content, ModelScanSlots slots, ILogger<ModelContentActivity> log) : TaskActivity<CheckInput, CheckResult>
{
    public override async Task<CheckResult> RunAsync(TaskActivityContext context, CheckInput input)
    {
        using var slot = await slots.EnterAsync(CancellationToken.None);
        using var timed = GatehouseTelemetry.Check(nameof(ModelContentActivity), input.Sha256);
        var started = Stopwatch.GetTimestamp();
        await using var stream = await content.OpenAsync(input.Sha256, CancellationToken.None);
        var report = await new ModelScanner().ScanAsync(stream, "", CancellationToken.None);
        var findings = ModelContentFindings.From(report);
        log.LogInformation("Check {Check} on {Sha256}: {Format}, {Verdict}, {Count} findings in {CheckMs} ms",
            nameof(ModelContentActivity), input.Sha256, report.Format, report.Verdict, findings.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new CheckResult(nameof(ModelContentActivity), findings, ModelFormat: report.Format);
    }
}
