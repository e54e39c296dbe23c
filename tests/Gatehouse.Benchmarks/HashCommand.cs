using System.Text.Json.Nodes;
using BenchmarkDotNet.Running;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>hash [--out F] [--artifacts DIR] [BenchmarkDotNet args]</c>: runs <see cref="Sha256Benchmarks"/> in process
/// (no generated project to build) and reports MB/s from the median.
/// </summary>
public static class HashCommand
{
    public static int Run(string[] args)
    {
        var parsed = BenchmarkDotNetArgs.Parse(args);
        var output = parsed.Get("out");
        var summary = BenchmarkRunner.Run<Sha256Benchmarks>(parsed.Config(3, 15), parsed.PassThrough);
        var cases = new JsonArray();
        foreach (var report in summary.Reports)
        {
            if (report.ResultStatistics is not { } stats)
            {
                continue;
            }
            var bytes = (int)report.BenchmarkCase.Parameters["Bytes"];
            cases.Add(new JsonObject
            {
                ["method"] = report.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\''),
                ["bytes"] = bytes,
                ["medianMs"] = Results.Round(stats.Median / 1e6, 2),
                ["meanMs"] = Results.Round(stats.Mean / 1e6, 2),
                ["stdDevMs"] = Results.Round(stats.StandardDeviation / 1e6, 2),
                ["MBps"] = Results.Round(bytes / 1e6 / (stats.Median / 1e9)),
            });
        }
        if (cases.Count == 0)
        {
            Console.Error.WriteLine("BenchmarkDotNet produced no results.");
            return 1;
        }
        Results.Write(new JsonObject { ["kind"] = "hash", ["label"] = "SHA-256, 50 MB in memory", ["cases"] = cases }, output);
        return 0;
    }
}
