using Gatehouse.Fuzz;

namespace Gatehouse.Scanning.Tests.Fuzz;

/// <summary>
/// CI's share of the fuzzing campaign: every input AFL++ kept (tests/fuzz/&lt;target&gt;, see scripts/fuzz.sh) goes through
/// its target again, with the target's own rule for what may come out, and each in bounded time.
/// </summary>
public sealed class FuzzCorpusReplayTests
{
    // AFL++ calls an input a hang past 1000 ms; a shared CI machine gets some slack on top.
    private static readonly TimeSpan PerInput = TimeSpan.FromSeconds(5);

    public static TheoryData<string> Targets => [.. FuzzTargets.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_corpus_input_gets_a_documented_outcome_in_bounded_time(string target)
    {
        var inputs = FuzzCorpus.Inputs(target);

        Assert.NotEmpty(inputs);
        var failures = FuzzCorpus.Replay(target, inputs, PerInput);
        Assert.True(failures.Count == 0, $"{failures.Count} of {inputs.Length} inputs of {target}:\n{string.Join("\n", failures)}");
    }

    [Fact]
    public void Every_corpus_folder_belongs_to_a_target()
    {
        var folders = Directory.EnumerateDirectories(FuzzCorpus.Root).Select(Path.GetFileName).Where(f => f != "crashes");

        Assert.All(folders, f => Assert.NotNull(FuzzTargets.Find(f!)));
    }

    [Fact]
    public void A_scanner_fault_is_what_a_target_rejects()
    {
        // The rule that decides crashes must itself be able to fail: a fault finding turns into an exception.
        var fault = Assert.Throws<FuzzFaultException>(() => FuzzTargets.Check([new ModelFinding("scan.error", ScanLevel.Invalid, "boom")]));
        Assert.Contains("scan.error", fault.Message);
    }
}
