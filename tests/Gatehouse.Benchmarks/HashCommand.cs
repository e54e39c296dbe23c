using System.Text.Json.Nodes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>hash [--out F] [--artifacts DIR] [BenchmarkDotNet args]</c>: runs <see cref="Sha256Benchmarks"/> in process
/// (no generated project to build) and reports MB/s from the median.
/// </summary>
public static class HashCommand
{
    public static int Run(string[] args)
    {
        string? output = null, artifacts = null;
        var passThrough = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--out" when i + 1 < args.Length:
                    output = args[++i];
                    break;
                case "--artifacts" when i + 1 < args.Length:
                    artifacts = args[++i];
                    break;
                default:
                    passThrough.Add(args[i]);
                    break;
            }
        }
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(15))
            .WithArtifactsPath(artifacts ?? Path.Combine(Path.GetTempPath(), "gatehouse-bench-artifacts"));
        var summary = BenchmarkRunner.Run<Sha256Benchmarks>(config, passThrough.ToArray());
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
