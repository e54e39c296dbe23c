using System.Text.Json.Nodes;
using BenchmarkDotNet.Running;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>archivesafety [--out F] [--artifacts DIR] [BenchmarkDotNet args]</c>: runs <see cref="ArchiveSafetyBenchmarks"/> in
/// process and reports MB/s of the 50 MB payload from each median.
/// </summary>
public static class ArchiveSafetyCommand
{
    public static int Run(string[] args)
    {
        var parsed = BenchmarkDotNetArgs.Parse(args);
        var summary = BenchmarkRunner.Run<ArchiveSafetyBenchmarks>(parsed.Config(2, 10), parsed.PassThrough);
        var cases = Results.BenchmarkCases(summary, _ => ArchiveSafetyBenchmarks.PayloadBytes, (json, c) => json["payload"] = (string)c.Parameters["Payload"]);
        if (cases.Count == 0)
        {
            Console.Error.WriteLine("BenchmarkDotNet produced no results.");
            return 1;
        }
        Results.Write(new JsonObject
        {
            ["kind"] = "archivesafety",
            ["label"] = "ArchiveSafety over a 50 MB wheel of random data, in memory",
            ["load"] = Results.LoadAverage(),
            ["cases"] = cases,
        }, parsed.Get("out"));
        return 0;
    }
}
