using System.IO.Compression;
using Gatehouse.Configuration;
using Gatehouse.Core.Tests.Scans.Archives;
using Gatehouse.Pipeline;
using Gatehouse.Policy;
using Gatehouse.Scanning;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;
using Gatehouse.TestHelpers;
using Microsoft.Extensions.Time.Testing;
using static Gatehouse.Core.Tests.Pipeline.ContentUnderTest;

namespace Gatehouse.Core.Tests.Scans;

/// <summary>
/// <see cref="ScanBudget"/>: what a check of one content may spend, and that a check out of budget stops where it is and
/// fails closed with <see cref="ScanBudget.Rule"/>, which the default policy holds for review.
/// </summary>
public sealed class ScanBudgetTests
{
    private const long MiB = 1024 * 1024;

    [Theory]
    [InlineData(1_000, 64 * MiB)]
    [InlineData(10 * MiB, 64 * MiB)]
    [InlineData(100 * MiB, 400 * MiB)]
    [InlineData(10_000 * MiB, 1024 * MiB)]
    public void The_temp_budget_is_four_times_the_content_between_64_MiB_and_1_GiB(long contentBytes, long expected)
    {
        using var budget = ScanBudget.For(contentBytes, new ScanOptions());

        Assert.Equal(expected, budget.TempBytes);
        Assert.Equal(TimeSpan.FromSeconds(60), budget.CheckTime);
        Assert.Equal(512 * MiB, budget.MemoryBytes);
    }

    [Fact]
    public void Temp_taken_past_the_budget_is_refused_naming_the_budget_and_its_limit_and_temp_given_back_can_be_taken_again()
    {
        using var budget = new ScanBudget(100, TimeSpan.FromMinutes(1), 1);
        budget.TakeTemp(60, "a.zip");

        var refused = Assert.Throws<ScanBudgetExceededException>(() => budget.TakeTemp(41, "b.zip"));

        var finding = refused.ToFinding();
        Assert.Equal(ScanBudget.Rule, finding.Rule);
        Assert.Contains("temp disk", finding.Message);
        Assert.Contains("100 bytes", finding.Message);
        Assert.Equal("b.zip", finding.Path);
        Assert.Equal(60, budget.TempInUse);
        budget.ReturnTemp(60);
        budget.TakeTemp(100, "c.zip");
        Assert.Equal(100, budget.TempInUse);
    }

    [Fact]
    public void The_time_budget_runs_from_when_the_budget_is_made()
    {
        var time = new FakeTimeProvider();
        using var budget = ScanBudget.For(1, new ScanOptions { MaxCheckSeconds = 60 }, time);

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(budget.TimedOut);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(budget.TimedOut);
        Assert.True(budget.Deadline.IsCancellationRequested);
        Assert.Contains("60 s", budget.TimeExceeded().Message);
    }

    [Fact]
    public async Task A_wheel_whose_nested_zip_would_spool_a_gigabyte_stops_at_the_temp_budget()
    {
        await using var wheel = File.OpenRead(ResourceBombs.SpoolingWheel());
        using var budget = ScanBudget.For(wheel.Length, new ScanOptions());

        var outcome = await ArchiveChecks.InspectAsync(wheel, new ArchiveLimits(), budget, budget.Deadline);

        Assert.True(outcome.IsWheel);
        Assert.True(outcome.Safety.BudgetExceeded);
        var finding = Assert.Single(outcome.Safety.Findings, f => f.Rule == ScanBudget.Rule);
        Assert.Contains("67,108,864 bytes", finding.Message);
        Assert.Equal("spoolbomb/assets.zip", finding.Path);
        // The ratio (~100×) and sizes are inside the archive limits: only the budget stops it.
        Assert.DoesNotContain(outcome.Safety.Findings, f => f.Rule == ArchiveSafety.Rules.Bomb);
        Assert.Equal(0, budget.TempInUse);
    }

    [Fact]
    public async Task A_zip_holding_a_4_GiB_stored_zip_stops_at_the_temp_budget_in_the_archive_and_the_model_check()
    {
        await using var file = File.OpenRead(ResourceBombs.NestedStoredZip());
        using var budget = ScanBudget.For(file.Length, new ScanOptions());

        var archive = await ArchiveChecks.InspectAsync(file, new ArchiveLimits(), budget, budget.Deadline);
        file.Position = 0;
        var model = await new ModelScanner(new ScanLimits { MaxTempBytes = budget.TempBytes }).ScanAsync(file, "", CancellationToken.None);

        Assert.Contains(archive.Safety.Findings, f => f.Rule == ScanBudget.Rule);
        Assert.True(archive.Safety.BudgetExceeded);
        Assert.True(model.Findings.Any(f => f.Rule == ScanBudget.Rule && f.Message.Contains("67,108,864 bytes")),
            string.Join("; ", model.Findings.Select(f => $"{f.Rule} at {f.Path}: {f.Message}")));
    }

    [Fact]
    public void The_bombs_crc_of_a_repeated_block_is_the_crc_a_zip_writer_computes()
    {
        var block = TestArchives.Incompressible(3000);
        var repeated = Enumerable.Repeat(block, 7).SelectMany(b => b).ToArray();
        using var zip = TestArchives.Zip(z => z.AddFile("r.bin", repeated));

        var written = new ZipArchive(zip).Entries[0].Crc32;

        Assert.Equal(written, ResourceBombs.Crc32OfRepeated(block, 7));
    }

    [Fact]
    public async Task A_model_scan_under_a_tiny_temp_budget_fails_closed_with_the_budget_finding_and_the_same_scan_with_room_is_clean()
    {
        // A zip in a zip: the scanner must spool the inner one (2 MiB) to read its central directory.
        var inner = TestArchives.ZipBytes(zip => zip.AddFile("weights.bin", TestArchives.Incompressible(2 * (int)MiB), CompressionLevel.NoCompression));
        using var outer = TestArchives.Zip(zip => zip.AddFile("bundle.zip", inner));

        var tight = await new ModelScanner(new ScanLimits { MaxTempBytes = 1 * MiB }).ScanAsync(outer, "", CancellationToken.None);
        outer.Position = 0;
        var roomy = await new ModelScanner(new ScanLimits { MaxTempBytes = 64 * MiB }).ScanAsync(outer, "", CancellationToken.None);

        Assert.Contains(tight.Findings, f => f.Rule == ScanBudget.Rule);
        Assert.DoesNotContain(roomy.Findings, f => f.Rule == ScanBudget.Rule);
    }

    [Fact]
    public async Task An_archive_check_out_of_time_fails_closed_with_the_budget_finding()
    {
        using var wheel = TestArchives.Wheel();
        var time = new FakeTimeProvider();
        using var budget = new ScanBudget(64 * MiB, TimeSpan.FromSeconds(60), 1, time);
        time.Advance(TimeSpan.FromSeconds(61));

        var outcome = await ArchiveChecks.InspectAsync(wheel, new ArchiveLimits(), budget, budget.Deadline);

        Assert.True(outcome.Safety.BudgetExceeded);
        Assert.Contains(outcome.Safety.Findings, f => f.Rule == ScanBudget.Rule && f.Message.Contains("time"));
    }

    [Fact]
    public void A_check_that_ran_out_of_budget_quarantines_a_package_and_a_model_file()
    {
        var exceeded = ScanBudget.Exceeded("temp disk", "67,108,864 bytes", "demo/assets.zip");
        var facts = Combine(100,
            new CheckResult(ContentChecks.ArchiveSafetyCheck, [exceeded], exceeded.Message, Archive: ArchiveFormat.Zip),
            new CheckResult(ContentChecks.InstallTimeCodeCheck, [], "the archive walk stopped", IsWheel: true),
            new CheckResult(ContentChecks.ModelContentCheck, [], ModelFormat: "zip"));

        Assert.Equal(Decision.Quarantined, DecidePyPI(facts, "demo-1.0-py3-none-any.whl").Decision);
        Assert.Equal(Decision.Quarantined, DecideHf(facts, "weights.zip").Decision);
    }
}
