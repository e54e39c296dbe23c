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
        var cases = Results.BenchmarkCases(summary, c => (int)c.Parameters["Bytes"], (json, c) => json["bytes"] = (int)c.Parameters["Bytes"]);
        if (cases.Count == 0)
        {
            Console.Error.WriteLine("BenchmarkDotNet produced no results.");
            return 1;
        }
        Results.Write(new JsonObject { ["kind"] = "hash", ["label"] = "SHA-256, 50 MB in memory", ["cases"] = cases }, output);
        return 0;
    }
}
