using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Gatehouse.Benchmarks;

/// <summary>
/// The micro-benchmark commands' command line: their own "--name value" options, and everything else passed on to
/// BenchmarkDotNet (e.g. --filter); and the in-process job they all run (no generated project to build).
/// </summary>
public sealed class BenchmarkDotNetArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public string[] PassThrough { get; private set; } = [];

    /// <summary>Takes <c>--out</c>, <c>--artifacts</c> and <paramref name="options"/> with their values; the rest passes through.</summary>
    public static BenchmarkDotNetArgs Parse(string[] args, params string[] options)
    {
        var passThrough = new List<string>();
        var parsed = new BenchmarkDotNetArgs();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][2..] : "";
            if (i + 1 < args.Length && (name is "out" or "artifacts" || options.Contains(name, StringComparer.Ordinal)))
            {
                parsed._values[name] = args[++i];
            }
            else
            {
                passThrough.Add(args[i]);
            }
        }
        parsed.PassThrough = [.. passThrough];
        return parsed;
    }

    public string? Get(string name) => _values.GetValueOrDefault(name);

    /// <summary>An in-process job of <paramref name="warmups"/> warm-ups and <paramref name="iterations"/> iterations, artifacts under --artifacts.</summary>
    public IConfig Config(int warmups, int iterations) => ManualConfig.Create(DefaultConfig.Instance)
        .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(warmups).WithIterationCount(iterations))
        .WithArtifactsPath(Get("artifacts") ?? Path.Combine(Path.GetTempPath(), "gatehouse-bench-artifacts"));
}
