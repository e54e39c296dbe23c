using System.Diagnostics;
using Gatehouse.Scanning.Pickle;
using Xunit.Abstractions;

namespace Gatehouse.Scanning.Tests.Pickle;

/// <summary>
/// An informal throughput measurement, not a timed test: set GATEHOUSE_PICKLE_BENCH=1 and run
/// <c>dotnet test -c Release --filter FullyQualifiedName~PickleThroughputHarness --logger "console;verbosity=detailed"</c>.
/// Target (issue 3): at least 10 M opcodes/s on corpus case B2's dict at 200,000 entries (≈1.4 M opcodes, protocol 4).
/// </summary>
public sealed class PickleThroughputHarness(ITestOutputHelper output)
{
    [Fact]
    public void Measure_opcodes_per_second_on_a_200_000_entry_dict()
    {
        if (Environment.GetEnvironmentVariable("GATEHOUSE_PICKLE_BENCH") is null)
        {
            return;
        }
        var (bytes, opcodes) = SyntheticPickles.LargeDict(200_000);
        var scanner = new PickleScanner(new ScanLimits());
        for (var i = 0; i < 3; i++)
        {
            Assert.Empty(scanner.Scan(new MemoryStream(bytes), null)); // warm-up, and it must stay Safe
        }
        var runs = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            var watch = Stopwatch.StartNew();
            scanner.Scan(new MemoryStream(bytes), null);
            runs.Add(watch.Elapsed.TotalSeconds);
        }
        runs.Sort();
        var median = runs[runs.Count / 2];
        output.WriteLine($"{opcodes:N0} opcodes, {bytes.Length:N0} bytes: median {median * 1000:F1} ms = {opcodes / median / 1e6:F1} M opcodes/s ({bytes.Length / median / 1e6:F0} MB/s); best {opcodes / runs[0] / 1e6:F1} M opcodes/s");
    }
}
