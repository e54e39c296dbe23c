using System.Net;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.TestHelpers;
using static Gatehouse.EndToEnd.Tests.Infrastructure.HubResponses;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// The security audit's resource bombs through a real host on Azurite, from the upstream simulator's Hub: an sdist
/// with a 256 MiB GNU long name, one with a 256 MiB pax record, a zip holding a 4 GiB stored zip and a wheel whose
/// nested zip would spool a gigabyte. Each is refused with the oversized-header or budget finding, while the host's peak
/// RSS stays under 300 MB and its temp folder (its own TMPDIR) under two checks' temp budgets.
/// </summary>
public sealed class ResourceBombTests(ITestOutputHelper output)
{
    private const long MaxHostRss = 300L * 1000 * 1000;

    // Every file is under 16 MiB, so each check's temp budget is the 64 MiB floor; two checks run at once.
    private const long MaxTemp = 2 * 64L * 1024 * 1024;

    [Fact]
    public async Task The_audits_resource_bombs_are_refused_with_bounded_host_memory_and_temp_disk()
    {
        var bombs = new (string Path, string File, string Rule)[]
        {
            ("longname-1.0.tar.gz", ResourceBombs.LongNameSdist(), "archive.oversized-header"),
            ("paxbomb-1.0.tar.gz", ResourceBombs.PaxSdist(), "archive.oversized-header"),
            ("nested-bomb.zip", ResourceBombs.NestedStoredZip(), "scan.budget-exceeded"),
            ("spoolbomb-1.0-py3-none-any.whl", ResourceBombs.SpoolingWheel(), "scan.budget-exceeded"),
        };
        var temp = TestEnvironment.NewTempDirectory("bomb-tmp");
        await using var stack = await GatehouseStack.StartAsync("bombs", s => s with { Extra = new Dictionary<string, string> { ["TMPDIR"] = temp } });
        await stack.RunAsync(output, async () =>
        {
            var repo = $"audit/bombs-{TestEnvironment.UniqueSuffix()}";
            var specs = new List<HfSyntheticSpec>();
            foreach (var bomb in bombs)
            {
                specs.Add(HfSyntheticSpec.Bytes(bomb.Path, await File.ReadAllBytesAsync(bomb.File)));
            }
            var registered = await stack.Sim.HfSyntheticAsync(repo, [.. specs]);
            foreach (var bomb in bombs)
            {
                // Scanned cold, whatever an earlier run left in the shared storage.
                await stack.Storage.ForgetContentAsync(registered.Sha256(bomb.Path));
            }
            using var sampling = new CancellationTokenSource();
            var peakTemp = SampleTempAsync(temp, sampling.Token);
            var started = System.Diagnostics.Stopwatch.StartNew();

            await Task.WhenAll(bombs.Select(bomb => AssertRefusedAsync(stack, repo, bomb.Path, bomb.Rule)));

            var took = started.Elapsed;
            await sampling.CancelAsync();
            var temps = await peakTemp;
            var rss = PeakRss(stack.Host.ProcessId);
            output.WriteLine($"4 bombs refused in {took.TotalSeconds:N1} s; host VmHWM {rss / 1024.0 / 1024:N0} MiB; temp folder peak {temps / 1024.0 / 1024:N1} MiB; load {File.ReadAllText("/proc/loadavg").Trim()}");
            Assert.True(rss < MaxHostRss, $"the host's peak RSS was {rss:N0} bytes");
            Assert.True(temps <= MaxTemp, $"the host's temp folder peaked at {temps:N0} bytes");
        });
    }

    private async Task AssertRefusedAsync(GatehouseStack stack, string repo, string path, string rule)
    {
        using var client = stack.CreateHfClient();
        using var response = await SendUntilDecidedAsync(client, () => new HttpRequestMessage(HttpMethod.Get, $"hf/{repo}/resolve/main/{path}"), output);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{path} answered {(int)response.StatusCode}: {body}");
        var reason = JsonDocument.Parse(body).RootElement.GetProperty("error").GetString();
        output.WriteLine($"{path}: {reason}");
        Assert.Contains(rule, reason, StringComparison.Ordinal);
    }

    /// <summary>The host's peak resident set since it started (VmHWM), in bytes.</summary>
    private static long PeakRss(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0]) * 1024;
    }

    /// <summary>The largest the folder's files ever were together, sampled every 50 ms until cancelled.</summary>
    private static async Task<long> SampleTempAsync(string folder, CancellationToken cancellationToken)
    {
        long peak = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            long total = 0;
            foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
            {
                try
                {
                    total += new FileInfo(file).Length;
                }
                catch (IOException)
                {
                    // Deleted between listing and reading: a closed spool.
                }
            }
            peak = Math.Max(peak, total);
            try
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return peak;
    }
}
