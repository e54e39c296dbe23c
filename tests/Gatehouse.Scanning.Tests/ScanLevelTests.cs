namespace Gatehouse.Scanning.Tests;

public sealed class ScanLevelTests
{
    [Fact]
    public void A_file_with_no_findings_is_safe_and_otherwise_takes_its_worst_finding()
    {
        Assert.Equal(ScanLevel.Safe, FileReport.From("a", "pickle", [], 1).Verdict);
        var report = FileReport.From("a", "pickle",
            [new("x", ScanLevel.Suspicious, "m"), new("y", ScanLevel.Dangerous, "m"), new("z", ScanLevel.Invalid, "m")], 1);
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
    }
}
