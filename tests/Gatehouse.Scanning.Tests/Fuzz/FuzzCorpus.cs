using Gatehouse.TestHelpers;

namespace Gatehouse.Scanning.Tests.Fuzz;

/// <summary>The saved fuzzing inputs under tests/fuzz: one corpus folder per target, crashes under crashes/&lt;target&gt;.</summary>
internal static class FuzzCorpus
{
    public static string Root => Path.Combine(RepositoryPaths.Root, "tests", "fuzz");

    public static string[] Inputs(params string[] folder) =>
        Directory.Exists(Path.Combine([Root, .. folder]))
            ? [.. Directory.EnumerateFiles(Path.Combine([Root, .. folder])).Order(StringComparer.Ordinal)]
            : [];

    /// <summary>Runs every input through the target; returns one line per input that failed or took longer than <paramref name="bound"/>.</summary>
    public static List<string> Replay(string target, IEnumerable<string> inputs, TimeSpan bound)
    {
        var run = Gatehouse.Fuzz.FuzzTargets.Find(target) ?? throw new ArgumentException($"no fuzz target '{target}'", nameof(target));
        var failures = new List<string>();
        foreach (var input in inputs)
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                run.Run(File.ReadAllBytes(input));
            }
            catch (Exception e)
            {
                failures.Add($"{Path.GetFileName(input)}: {e.GetType().Name}: {e.Message}");
                continue;
            }
            if (started.Elapsed > bound)
            {
                failures.Add($"{Path.GetFileName(input)}: took {started.Elapsed.TotalMilliseconds:N0} ms");
            }
        }
        return failures;
    }
}
