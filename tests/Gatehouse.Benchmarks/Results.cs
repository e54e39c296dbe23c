using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Benchmarks;

/// <summary>One measurement's JSON result: printed, and written to --out for the report.</summary>
public static class Results
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(JsonObject result, string? path)
    {
        var text = result.ToJsonString(Indented);
        Console.WriteLine(text);
        if (path is not null)
        {
            File.WriteAllText(path, text + "\n");
        }
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>The 1-, 5- and 15-minute load averages: other work on the shared machine skews every figure.</summary>
    public static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    public static double Round(double value, int digits = 1) => Math.Round(value, digits, MidpointRounding.AwayFromZero);

    /// <summary>
    /// One JSON case per BenchmarkDotNet report with statistics: the method, median, mean and deviation in ms, and MB/s of
    /// <paramref name="bytes"/> at the median; <paramref name="describe"/> adds the case's own fields (its parameters).
    /// </summary>
    public static JsonArray BenchmarkCases(BenchmarkDotNet.Reports.Summary summary, Func<BenchmarkDotNet.Running.BenchmarkCase, long> bytes,
        Action<JsonObject, BenchmarkDotNet.Running.BenchmarkCase> describe)
    {
        var cases = new JsonArray();
        foreach (var report in summary.Reports)
        {
            if (report.ResultStatistics is not { } stats)
            {
                continue;
            }
            var result = new JsonObject { ["method"] = report.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\'') };
            describe(result, report.BenchmarkCase);
            result["medianMs"] = Round(stats.Median / 1e6, 2);
            result["meanMs"] = Round(stats.Mean / 1e6, 2);
            result["stdDevMs"] = Round(stats.StandardDeviation / 1e6, 2);
            result["MBps"] = Round(bytes(report.BenchmarkCase) / 1e6 / (stats.Median / 1e9));
            cases.Add(result);
        }
        return cases;
    }
}
