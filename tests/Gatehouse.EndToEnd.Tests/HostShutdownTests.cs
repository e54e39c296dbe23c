using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Azure.Data.Tables;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// SIGTERM (service managers, containers) and SIGINT (Ctrl+C) stop the standalone host within 10 s and cleanly: exit
/// code 0, partition leases released, and a scan in flight is left for the next process, which finishes it.
/// </summary>
public sealed class HostShutdownTests(ITestOutputHelper output)
{
    private const long WheelSize = 300L * 1024 * 1024; // big enough that the scan is still running when the signal arrives
    private static readonly TimeSpan StopBudget = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LeaseTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RunningTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(100);

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task An_idle_host_stops_within_10_s_of_the_signal_with_exit_code_0_and_releases_its_partition_leases(string signal)
    {
        await using var stack = await GatehouseStack.StartAsync($"stop{signal}");
        await stack.RunAsync(output, async () =>
        {
            var leases = new TableServiceClient(TestEnvironment.StorageConnectionString).GetTableClient(stack.HubName + "Partitions");
            var owned = Stopwatch.StartNew();
            while ((await OwnersAsync(leases)) is not { Count: > 0 } owners || owners.Any(string.IsNullOrEmpty))
            {
                Assert.True(owned.Elapsed < LeaseTimeout, $"the host did not own every partition of hub {stack.HubName} within {LeaseTimeout.TotalSeconds} s");
                await Task.Delay(200);
            }
            output.WriteLine($"host owns its partitions after {owned.Elapsed.TotalSeconds:F1} s");

            await StopWithinBudgetAsync(stack.Host, signal);

            var left = (await OwnersAsync(leases)).Where(o => !string.IsNullOrEmpty(o)).ToList();
            Assert.True(left.Count == 0,
                $"after SIG{signal} the partitions are still owned by {string.Join(", ", left)}: the host exited before releasing its leases, " +
                "so the next process waits for them to expire");
        });
    }

    [Fact]
    public async Task SIGTERM_while_a_download_waits_inline_for_its_scan_stops_the_host_within_10_s_and_a_restarted_host_finishes_the_scan()
    {
        var clock = Stopwatch.StartNew();
        void Step(string message) => output.WriteLine($"[{clock.Elapsed.TotalSeconds,6:F1} s] {message}");

        // 100 s is the product's default inline wait: the download stays parked in the gate while Kestrel drains.
        await using var stack = await GatehouseStack.StartAsync("stopscan", s => s with { InlineWaitSeconds = 100, RetryAfterSeconds = 1 });
        await stack.RunAsync(output, async () =>
        {
            var project = $"e2e-stop-{TestEnvironment.UniqueSuffix()}";
            var file = await stack.Sim.SyntheticAsync(project, "1.0.0", WheelSize);
            var url = GatehouseStack.FileUrl(project, file.Sha256, file.Filename);
            Step($"synthetic wheel {file.Filename} ({file.Size} bytes, sha256 {file.Sha256})");

            using var client = stack.CreateClient();
            var parked = client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            var running = Stopwatch.StartNew();
            while (true)
            {
                var status = (await stack.Storage.InstanceAsync(stack.HubName, file.Sha256))?.GetString("RuntimeStatus");
                if (status == "Running")
                {
                    break;
                }
                Assert.True(status is null or "Pending", $"the scan orchestration is {status} before the signal; it should be Running");
                Assert.True(running.Elapsed < RunningTimeout,
                    $"the scan orchestration was not Running within {RunningTimeout.TotalSeconds} s (status {status ?? "none"})");
                await Task.Delay(50);
            }
            Assert.False(parked.IsCompleted, "the download was answered before the scan ended; it should wait inline for the verdict");
            Step("orchestration Running with the download waiting inline; sending SIGTERM");

            await StopWithinBudgetAsync(stack.Host, "TERM");
            // The waiting download is not cut off: it is told to come back, as any client retrying a 503 understands.
            using (var answer = await parked)
            {
                Step($"the parked download got {(int)answer.StatusCode} {answer.ReasonPhrase}");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
                Assert.NotNull(answer.Headers.RetryAfter);
            }
            Assert.True(await stack.Storage.FactsAsync(file.Sha256) is null,
                "facts exist right after the stop: the scan finished before the signal, so this test proved nothing (make the wheel bigger)");

            await stack.RestartHostAsync();
            Step($"host restarted (pid {stack.Host.ProcessId}, same hub and port)");
            using var poller = stack.CreateClient();
            var recovery = Stopwatch.StartNew();
            while (true)
            {
                using var response = await poller.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    await using var body = await response.Content.ReadAsStreamAsync();
                    Assert.Equal(file.Sha256, Convert.ToHexStringLower(await SHA256.HashDataAsync(body)));
                    Step($"200 after {recovery.Elapsed.TotalSeconds:F1} s on the restarted host");
                    break;
                }
                Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable,
                    $"before the verdict every answer must be 503; got {(int)response.StatusCode} {response.ReasonPhrase}");
                Assert.True(recovery.Elapsed < RecoveryTimeout,
                    $"the restarted host did not finish the scan left by the stopped one within {RecoveryTimeout.TotalSeconds} s (instance status " +
                    $"{(await stack.Storage.InstanceAsync(stack.HubName, file.Sha256))?.GetString("RuntimeStatus") ?? "none"})");
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
            Assert.NotNull(await stack.Storage.FactsAsync(file.Sha256));
            Assert.Equal("Allowed", (await stack.Storage.PyPIReferenceAsync(project, file.Filename))?.GetString("Decision"));
        });
    }

    /// <summary>Sends the signal and asserts the host exits within <see cref="StopBudget"/> with exit code 0.</summary>
    private async Task StopWithinBudgetAsync(GatehouseHostProcess host, string signal)
    {
        AssertNotIgnored(host.ProcessId, signal);
        var stopping = Stopwatch.StartNew();
        host.Signal(signal);
        var exited = await host.WaitForExitAsync(StopBudget);
        var elapsed = stopping.Elapsed;
        output.WriteLine($"SIG{signal}: {(exited ? $"exited with code {host.ExitCode} after {elapsed.TotalSeconds:F1} s" : "still running")}");
        Assert.True(exited, $"the host was still running {StopBudget.TotalSeconds} s after SIG{signal}");
        Assert.Equal(0, host.ExitCode);
    }

    /// <summary>A process started with a signal ignored (a background job without job control) keeps ignoring it.</summary>
    private static void AssertNotIgnored(int processId, string signal)
    {
        var number = signal switch
        {
            "TERM" => 15,
            "INT" => 2,
            _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "TERM or INT"),
        };
        var ignored = File.ReadLines($"/proc/{processId}/status").Single(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        var mask = ulong.Parse(ignored["SigIgn:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        Assert.True((mask & (1UL << (number - 1))) == 0,
            $"the host inherited SIG{signal} as ignored from the test runner (started in the background without job control?), " +
            "so the signal cannot stop it; run the tests in the foreground");
    }

    private static async Task<List<string?>> OwnersAsync(TableClient leases)
    {
        var owners = new List<string?>();
        await foreach (var row in leases.QueryAsync<TableEntity>(select: ["CurrentOwner"]))
        {
            owners.Add(row.GetString("CurrentOwner"));
        }
        return owners;
    }
}
