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
/// The checks every content goes through. Each activity gets only the sha256 and reads the content itself, so what
/// it finds depends on the bytes alone: which parts apply is told by content (an archive, a wheel, a pickle), never
/// by a name or by who asked. Every check runs in a scan slot, under one <see cref="ScanBudget"/>.
/// </summary>
public static class ContentChecks
{
    // The check names the facts, the policy and recorded reports know; they are the names of the activities that
    // once ran each archive check alone, kept so that recorded facts keep their meaning.

    /// <summary>Archive bombs, traversal, links and nesting, in any zip or tar content.</summary>
    public const string ArchiveSafetyCheck = "ArchiveSafetyActivity";

    /// <summary>Code that runs at install or interpreter start (.pth lines, sitecustomize, compiled or obfuscated payloads) in any archive.</summary>
    public const string InstallTimeCodeCheck = "InstallTimeCodeActivity";

    /// <summary>The model-file scanner on the content.</summary>
    public const string ModelContentCheck = nameof(ModelContentActivity);

    /// <summary>
    /// The model scanner on the files of a container image's final filesystem, layer by layer: the check an image
    /// manifest's facts hold instead of <see cref="All"/> (the OCI remote's scan runs it).
    /// </summary>
    public const string ImageLayersCheck = "ImageLayersActivity";

    /// <summary>Every check whose result a content's facts hold.</summary>
    public static readonly IReadOnlyList<string> All = [ArchiveSafetyCheck, InstallTimeCodeCheck, ModelContentCheck];

    /// <summary>The activities that run the checks, each with the checks it reports (in that order).</summary>
    public static readonly IReadOnlyList<(string Activity, IReadOnlyList<string> Checks)> Activities =
    [
        (nameof(ArchiveContentActivity), [ArchiveSafetyCheck, InstallTimeCodeCheck]),
        (nameof(ModelContentActivity), [ModelContentCheck]),
    ];
}

/// <summary>
/// Archive safety and install-time code in one walk over the archive (<see cref="ArchiveChecks"/>): the content is
/// decompressed and parsed once for both. Reports both checks' results.
/// </summary>
public sealed class ArchiveContentActivity(ContentStore content, ModelScanSlots slots, IOptions<GatehouseOptions> options, ILogger<ArchiveContentActivity> log)
    : TaskActivity<CheckInput, CheckResult[]>
{
    public override async Task<CheckResult[]> RunAsync(TaskActivityContext context, CheckInput input)
    {
        using var slot = await slots.EnterAsync(CancellationToken.None);
        // The metric keeps the archive safety check's name: dashboards follow it, and the walk is its work.
        using var timed = GatehouseTelemetry.Check(ContentChecks.ArchiveSafetyCheck, input.Sha256);
        var started = Stopwatch.GetTimestamp();
        await using var stream = await content.OpenAsync(input.Sha256, CancellationToken.None);
        using var budget = ScanBudget.For(stream.Length, options.Value.Scan);
        var outcome = await ArchiveChecks.InspectAsync(stream, options.Value.Archive, budget, budget.Deadline);
        var walk = outcome.Safety;
        if (walk.BudgetExceeded)
        {
            log.LogWarning("Check {Check} on {Sha256} failed closed by rule {Rule}: {Reason}",
                ContentChecks.ArchiveSafetyCheck, input.Sha256, ScanBudget.Rule, walk.StoppedBecause);
        }
        log.LogInformation("Check {Check} on {Sha256} ({Format}): {Count} findings, {InstallCount} install-time findings in {CheckMs} ms",
            ContentChecks.ArchiveSafetyCheck, input.Sha256, outcome.Format, walk.Findings.Count, outcome.InstallTime.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return
        [
            new CheckResult(ContentChecks.ArchiveSafetyCheck, walk.Findings, walk.BudgetExceeded ? walk.StoppedBecause : null, Archive: outcome.Format),
            // Install-time code saw only the members before the walk stopped: it could not finish.
            new CheckResult(ContentChecks.InstallTimeCodeCheck, outcome.InstallTime, walk.StoppedBecause is { } stopped ? $"the archive walk stopped: {stopped}" : null,
                IsWheel: outcome.IsWheel),
        ];
    }
}

/// <summary>
/// The model-file scanner (<see cref="ModelScanner"/>) on the content: pickles, checkpoints and every other model
/// format, told by content. It is given no file name: what a name claims is judged per reference by the policy.
/// </summary>
public sealed class ModelContentActivity(ContentStore content, ModelScanSlots slots, IOptions<GatehouseOptions> options, ILogger<ModelContentActivity> log)
    : TaskActivity<CheckInput, CheckResult[]>
{
    /// <summary>The scanner's rule for running past <see cref="ScanLimits.MaxDuration"/>, which the budget's time sets.</summary>
    private const string ScannerTimeLimit = "scan.time-limit";

    public override async Task<CheckResult[]> RunAsync(TaskActivityContext context, CheckInput input)
    {
        using var slot = await slots.EnterAsync(CancellationToken.None);
        using var timed = GatehouseTelemetry.Check(nameof(ModelContentActivity), input.Sha256);
        var started = Stopwatch.GetTimestamp();
        await using var stream = await content.OpenAsync(input.Sha256, CancellationToken.None);
        using var budget = ScanBudget.For(stream.Length, options.Value.Scan);
        var limits = new ScanLimits
        {
            MaxDuration = budget.CheckTime,
            MaxTempBytes = budget.TempBytes,
            MaxMemoryBytes = budget.MemoryBytes,
        };
        var report = await new ModelScanner(limits).ScanAsync(stream, "", CancellationToken.None);
        var findings = ModelContentFindings.From(report).ToList();
        // The scanner stops at a limit of the budget with a finding; the check then failed closed: it could not finish.
        var exceeded = findings.FirstOrDefault(f => f.Rule is ScanBudget.Rule or ScannerTimeLimit);
        if (exceeded is { Rule: ScannerTimeLimit })
        {
            findings.Add(budget.TimeExceeded());
        }
        if (exceeded is not null)
        {
            log.LogWarning("Check {Check} on {Sha256} failed closed by rule {Rule}: {Reason}", nameof(ModelContentActivity), input.Sha256, ScanBudget.Rule, exceeded.Message);
        }
        log.LogInformation("Check {Check} on {Sha256}: {Format}, {Verdict}, {Count} findings in {CheckMs} ms",
            nameof(ModelContentActivity), input.Sha256, report.Format, report.Verdict, findings.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return [new CheckResult(nameof(ModelContentActivity), findings, exceeded is null ? null : $"{ScanBudget.Rule}: {exceeded.Message}", ModelFormat: report.Format)];
    }
}
