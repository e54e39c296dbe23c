using System.Diagnostics;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Running;
using Gatehouse.Pipeline;
using Gatehouse.Policy;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>policy [--out F] [--artifacts DIR] [--calls N] [BenchmarkDotNet args]</c>: one policy decision per file under 200
/// rules and 50 exceptions (<see cref="PolicyBenchmarks"/>). BenchmarkDotNet's percentiles are over iteration means
/// (each iteration runs many decisions), so the per-decision distribution is also measured: N single decisions, each
/// timed with the Stopwatch, after a warm-up.
/// </summary>
public static class PolicyCommand
{
    public static int Run(string[] args)
    {
        var parsed = BenchmarkDotNetArgs.Parse(args, "calls");
        var output = parsed.Get("out");
        var calls = parsed.Get("calls") is { } count ? int.Parse(count, System.Globalization.CultureInfo.InvariantCulture) : 200_000;

        // 1. The policy is what it claims to be, and the file is the worst case: no rule decides, the holding warn rules warn.
        var text = PolicyBenchmarks.GeneratePolicy();
        var document = PolicyParser.Parse(text);
        var policy = new DeclarativePolicy(document, TimeProvider.System);
        var (metadataOnly, withContent) = PolicyBenchmarks.Inputs();
        var expectedWarnings = PolicyBenchmarks.RuleCount / PolicyBenchmarks.HoldingWarnEvery;
        foreach (var input in new[] { metadataOnly, withContent })
        {
            var outcome = policy.Evaluate(input, PolicyBenchmarks.EvaluatedAt);
            if (outcome.Decision != Decision.Allowed || outcome.PolicyRule != "default" || outcome.Warnings.Count != expectedWarnings)
            {
                Console.Error.WriteLine($"not the worst case: {outcome.Decision} by {outcome.PolicyRule} with {outcome.Warnings.Count} warnings (want Allowed by default with {expectedWarnings})");
                return 1;
            }
        }
        Console.WriteLine($"policy: {document.Rules.Count} rules, {document.Exceptions.Count} exceptions, {text.Length:N0} characters of YAML; both inputs: Allowed by default after {expectedWarnings} warnings");

        // 2. Single decisions, each timed.
        var perCall = new JsonObject
        {
            [PolicyBenchmarks.MetadataMethod] = TimeEach(policy, metadataOnly, calls),
            [PolicyBenchmarks.ContentMethod] = TimeEach(policy, withContent, calls),
        };
        Console.WriteLine($"per decision: {perCall.ToJsonString()}");

        // 3. BenchmarkDotNet, in process, as the other micro-benchmarks run.
        var loadBefore = Results.LoadAverage();
        var summary = BenchmarkRunner.Run<PolicyBenchmarks>(parsed.Config(5, 30), parsed.PassThrough);
        var loadAfter = Results.LoadAverage();
        var cases = new JsonArray();
        foreach (var report in summary.Reports)
        {
            if (report.ResultStatistics is not { } stats)
            {
                continue;
            }
            var method = report.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\'');
            cases.Add(new JsonObject
            {
                ["method"] = method,
                ["meanUs"] = Results.Round(stats.Mean / 1e3, 2),
                ["medianUs"] = Results.Round(stats.Median / 1e3, 2),
                ["stdDevUs"] = Results.Round(stats.StandardDeviation / 1e3, 2),
                ["p95Us"] = Results.Round(stats.Percentiles.P95 / 1e3, 2),
                ["p99Us"] = Results.Round(stats.Percentiles.Percentile(99) / 1e3, 2),
                ["allocatedBytesPerOp"] = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase),
                ["perCall"] = perCall[method]?.DeepClone(),
            });
        }
        if (cases.Count == 0)
        {
            Console.Error.WriteLine("BenchmarkDotNet produced no results.");
            return 1;
        }
        Results.Write(new JsonObject
        {
            ["kind"] = "policy",
            ["label"] = $"policy evaluation per file, {document.Rules.Count} rules and {document.Exceptions.Count} exceptions, every rule asked",
            ["rules"] = document.Rules.Count,
            ["exceptions"] = document.Exceptions.Count,
            ["warningsPerDecision"] = expectedWarnings,
            ["loadBefore"] = loadBefore,
            ["loadAfter"] = loadAfter,
            ["cases"] = cases,
        }, output);
        return 0;
    }

    /// <summary>Percentiles of <paramref name="calls"/> single decisions, each timed, after as many warm-up decisions.</summary>
    private static JsonObject TimeEach(DeclarativePolicy policy, PolicyInput input, int calls)
    {
        var at = PolicyBenchmarks.EvaluatedAt;
        for (var i = 0; i < calls; i++)
        {
            policy.Evaluate(input, at);
        }
        var times = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            policy.Evaluate(input, at);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(times);
        double At(double p) => times[Math.Min(calls - 1, (int)Math.Ceiling(p * calls) - 1)];
        return new JsonObject
        {
            ["calls"] = calls,
            ["p50Us"] = Results.Round(At(0.50), 2),
            ["p90Us"] = Results.Round(At(0.90), 2),
            ["p99Us"] = Results.Round(At(0.99), 2),
            ["p999Us"] = Results.Round(At(0.999), 2),
            ["maxUs"] = Results.Round(times[^1], 1),
        };
    }
}
