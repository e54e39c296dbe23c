using Gatehouse.Scanning.Pickle;

namespace Gatehouse.Scanning.Tests.Pickle;

/// <summary>Scans test pickles and states expectations about the verdict.</summary>
internal static class PickleScanning
{
    public static IReadOnlyList<ModelFinding> Scan(byte[] pickle, ScanLimits? limits = null, PickleScanOptions? options = null, string? path = "test.pkl") =>
        new PickleScanner(limits ?? new ScanLimits(), options ?? new PickleScanOptions()).Scan(new MemoryStream(pickle), path);

    public static ScanLevel Verdict(this IReadOnlyList<ModelFinding> findings) =>
        findings.Count == 0 ? ScanLevel.Safe : findings.Max(f => f.Level);

    public static ScanLevel VerdictOf(byte[] pickle, ScanLimits? limits = null, PickleScanOptions? options = null) => Scan(pickle, limits, options).Verdict();

    /// <summary>Asserts the verdict, printing the findings when it differs.</summary>
    public static IReadOnlyList<ModelFinding> AssertVerdict(ScanLevel expected, IReadOnlyList<ModelFinding> findings)
    {
        var actual = findings.Verdict();
        Assert.True(expected == actual,
            $"expected {expected} but was {actual}:\n" + string.Join("\n", findings.Select(f => $"  {f.Level} {f.Rule} {f.Global} {f.CallSite} @{f.Offset}: {f.Message}")));
        return findings;
    }

    public static IReadOnlyList<ModelFinding> AssertVerdict(ScanLevel expected, byte[] pickle, ScanLimits? limits = null, PickleScanOptions? options = null) =>
        AssertVerdict(expected, Scan(pickle, limits, options));

    public static ModelFinding Single(this IReadOnlyList<ModelFinding> findings, string rule) =>
        Assert.Single(findings, f => f.Rule == rule);

    public static bool Has(this IReadOnlyList<ModelFinding> findings, string rule, string? global = null) =>
        findings.Any(f => f.Rule == rule && (global is null || f.Global == global));
}
