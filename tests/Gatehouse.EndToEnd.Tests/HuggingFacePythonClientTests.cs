using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// The real huggingface_hub, 1.x (httpx) and 0.26.5 (requests, what transformers 4.x pins), with its stock settings:
/// <c>tests/hf-python/test_hub_client.py</c> runs <c>model_info</c>, <c>list_repo_files</c>, <c>hf_hub_download</c>
/// (byte-identical), the refusal of <c>evil.bin</c> with Gatehouse's reason, <c>snapshot_download</c> of a model and a
/// dataset, and revision pinning. The simulated Hub pages its tree two entries at a time, so listings go through
/// Gatehouse's <c>Link</c> rewriting.
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class HuggingFacePythonClientTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private GatehouseStack Stack => shared.Stack;

    [Theory]
    [InlineData("1.x", "1.")]
    [InlineData("0.26.5", "0.26.5")]
    public Task The_real_client_lists_downloads_snapshots_and_pins_and_sees_the_refusal_reason_for_the_malicious_pickle(string version, string expected) =>
        Stack.RunAsync(output, async () =>
        {
            await Stack.Sim.HfPageSizeAsync(2);
            try
            {
                var run = await PythonHubClient.RunAsync(Stack, version, "test_hub_client.py", [], TimeSpan.FromMinutes(5), new Dictionary<string, string>
                {
                    ["GATEHOUSE_HF_FIXTURES"] = Path.Combine(TestEnvironment.RepoRoot, "tests", "fixtures", "hf"),
                    ["GATEHOUSE_EXPECT_HUB_VERSION"] = expected,
                });
                output.WriteLine(run.ToString());
                Assert.True(run.ExitCode == 0, $"huggingface_hub {version} failed against Gatehouse:\n{run}");
                Assert.Matches(@"Ran 1\d tests", run.StandardError);
                Assert.DoesNotContain("skipped", run.StandardError, StringComparison.OrdinalIgnoreCase);
            }
            finally
            {
                await Stack.Sim.HfPageSizeAsync(1000);
            }
        });
}
