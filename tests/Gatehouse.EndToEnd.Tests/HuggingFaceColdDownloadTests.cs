using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Stock huggingface_hub clients (no <c>HF_HUB_*_TIMEOUT</c>, so 10 s per request) on cold files whose upstream fetch
/// takes three minutes: the HEAD answers the metadata at once, and the GET waits in slices the client tolerates
/// (<c>HubClientWait</c>). The safe file arrives intact, the malicious one is refused with Gatehouse's reason, not a
/// timeout, and each file is fetched from the upstream once.
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class HuggingFaceColdDownloadTests(SharedGatehouse shared, ITestOutputHelper output)
{
    /// <summary>Size and pace of each file: 180 s of upstream transfer.</summary>
    private const long Size = 360_000;
    private const long BytesPerSecond = 2_000;
    private static readonly TimeSpan FetchTime = TimeSpan.FromSeconds(Size / BytesPerSecond);

    private GatehouseStack Stack => shared.Stack;

    [Fact]
    public Task Both_client_versions_wait_out_a_three_minute_fetch_and_scan_with_their_default_timeouts() => Stack.RunAsync(output, async () =>
    {
        // A new seed per run: the content is cold even on a reused test Azurite.
        var seed = (ulong)Random.Shared.NextInt64(1, long.MaxValue);
        var repo = $"cold/slow-{TestEnvironment.UniqueSuffix()}";
        var cases = new (string Version, string Path, string Kind)[]
        {
            ("1.x", "model-1x.safetensors", "safetensors"),
            ("1.x", "evil-1x.bin", "exec-pickle"),
            ("0.26.5", "model-0x.safetensors", "safetensors"),
            ("0.26.5", "evil-0x.bin", "exec-pickle"),
        };
        var registered = await Stack.Sim.HfSyntheticAsync(repo,
            [.. cases.Select((c, i) => new HfSyntheticSpec(c.Path, Size, c.Kind, seed + (ulong)i, BytesPerSecond))]);

        var runs = await Task.WhenAll(cases.Select(c =>
            PythonHubClient.RunAsync(Stack, c.Version, "cold_download.py", [repo, c.Path], FetchTime + TimeSpan.FromMinutes(3))));

        foreach (var ((version, path, kind), run) in cases.Zip(runs))
        {
            output.WriteLine($"--- huggingface_hub {version}, {path}\n{run}");
            Assert.True(run.ExitCode == 0, run.ToString());
            var result = JsonDocument.Parse(run.StandardOutput.Trim().Split('\n')[^1]).RootElement;
            Assert.StartsWith(version.TrimEnd('x'), result.GetProperty("version").GetString(), StringComparison.Ordinal);
            // The client really waited out the slow fetch: no shortcut, no cached copy.
            Assert.True(result.GetProperty("seconds").GetDouble() >= FetchTime.TotalSeconds - 5, $"{path} took only {result.GetProperty("seconds")} s");
            if (version == "1.x")
            {
                // 20 redirects of 8 s are less than the fetch: the 429 and the client's own retry carried it through.
                Assert.Contains("HTTP Error 429", run.StandardError, StringComparison.Ordinal);
            }
            if (kind == "safetensors")
            {
                Assert.True(result.GetProperty("ok").GetBoolean(), $"{path}: {result}");
                Assert.Equal(registered.Sha256(path), result.GetProperty("sha256").GetString());
            }
            else
            {
                Assert.False(result.GetProperty("ok").GetBoolean(), $"{path} was served: {result}");
                Assert.Equal("GatedRepoError", result.GetProperty("error_type").GetString());
                Assert.Equal(403, result.GetProperty("status").GetInt32());
                var error = result.GetProperty("error").GetString()!;
                Assert.Contains($"Gatehouse refused {path} (rule pickle.dangerous-global)", error, StringComparison.Ordinal);
                if (version == "0.26.5")
                {
                    // requests followed more redirects than httpx would have: the refusal came on hop 21 or later.
                    var hop = System.Text.RegularExpressions.Regex.Match(error, @"gatehouse-wait=(\d+)");
                    Assert.True(hop.Success && int.Parse(hop.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 20, error);
                }
            }
        }

        var fetches = (await Stack.Sim.HfStatsAsync()).GetProperty("cdnFetches");
        foreach (var (_, path, _) in cases)
        {
            Assert.Equal(1, fetches.GetProperty(registered.Sha256(path)).GetInt32());
        }
    });
}
