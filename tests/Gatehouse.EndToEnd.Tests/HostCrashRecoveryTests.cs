using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>Idempotent and durable: a crash mid-scan serves nothing half-done, and a restarted host finishes the scan.</summary>
public sealed class HostCrashRecoveryTests(ITestOutputHelper output)
{
    private const long WheelSize = 300L * 1024 * 1024; // big enough that the archive checks take a moment
    private static readonly TimeSpan RunningTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(100);

    [Fact]
    public async Task A_host_killed_during_a_scan_serves_nothing_and_a_restarted_host_finishes_the_scan_and_serves_the_file()
    {
        var clock = Stopwatch.StartNew();
        void Step(string message) => output.WriteLine($"[{clock.Elapsed.TotalSeconds,6:F1} s] {message}");

        await using var stack = await GatehouseStack.StartAsync("crash", s => s with { InlineWaitSeconds = 1, RetryAfterSeconds = 1 });
        await stack.RunAsync(output, async () =>
        {
            Step($"host up (hub {stack.HubName})");
            var project = $"e2e-crash-{TestEnvironment.UniqueSuffix()}";
            var file = await stack.Sim.SyntheticAsync(project, "1.0.0", WheelSize);
            var url = GatehouseStack.FileUrl(project, file.Sha256, file.Filename);
            Step($"synthetic wheel {file.Filename} ({file.Size} bytes, sha256 {file.Sha256})");

            using (var client = stack.CreateClient())
            using (var first = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead))
            {
                Step($"first GET: {(int)first.StatusCode} {first.ReasonPhrase}, Retry-After {first.Headers.RetryAfter}");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
                Assert.NotNull(first.Headers.RetryAfter);
            }

            var running = Stopwatch.StartNew();
            while (true)
            {
                var status = (await stack.Storage.InstanceAsync(stack.HubName, file.Sha256))?.GetString("RuntimeStatus");
                if (status == "Running")
                {
                    break;
                }
                Assert.True(status is null or "Pending", $"the scan orchestration is {status} before the kill; it should be Running");
                Assert.True(running.Elapsed < RunningTimeout, $"the scan orchestration was not Running within {RunningTimeout.TotalSeconds} s (status {status ?? "none"})");
                await Task.Delay(50);
            }
            Step("orchestration Running; killing the host");
            stack.Host.KillHard();

            Assert.True(await stack.Storage.FactsAsync(file.Sha256) is null,
                "facts exist right after the kill: the scan finished before the host was killed, so this test proved nothing (make the wheel bigger)");
            Assert.False(await stack.Storage.BlobExistsAsync(StorageProbe.Artifacts, file.Sha256), "an artifacts blob exists after a kill during the scan");

            await stack.RestartHostAsync();
            Step($"host restarted (pid {stack.Host.ProcessId}, same hub and port)");

            using var poller = stack.CreateClient();
            var answers = new List<string>();
            var recovery = Stopwatch.StartNew();
            while (true)
            {
                using var response = await poller.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    await using var body = await response.Content.ReadAsStreamAsync();
                    var sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(body));
                    Step($"200 after {answers.Count} earlier answers; body sha256 {sha256}");
                    Assert.Equal(file.Sha256, sha256);
                    Assert.Equal(file.Size, response.Content.Headers.ContentLength);
                    break;
                }
                answers.Add($"{(int)response.StatusCode} {response.ReasonPhrase}");
                Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable,
                    $"before the verdict every answer must be 503; got {(int)response.StatusCode} {response.ReasonPhrase}");
                Assert.True(recovery.Elapsed < RecoveryTimeout,
                    $"the restarted host did not finish the scan within {RecoveryTimeout.TotalSeconds} s ({answers.Count} answers, all 503; instance status " +
                    $"{(await stack.Storage.InstanceAsync(stack.HubName, file.Sha256))?.GetString("RuntimeStatus") ?? "none"}). An activity message the " +
                    "killed host had dequeued stays invisible for the Durable work-item visibility timeout (DurableTask.AzureStorage default: 5 minutes) " +
                    "unless the host sets Gatehouse:Durable:WorkItemQueueVisibilityTimeoutSeconds");
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
            foreach (var group in answers.GroupBy(a => a))
            {
                Step($"{group.Count()} x {group.Key}");
            }

            Assert.NotNull(await stack.Storage.FactsAsync(file.Sha256));
            var reference = await stack.Storage.PyPIReferenceAsync(project, file.Filename);
            Assert.NotNull(reference);
            Assert.Equal("Allowed", reference.GetString("Decision"));
            Assert.True(await stack.Storage.BlobExistsAsync(StorageProbe.Artifacts, file.Sha256), "the allowed wheel is not in artifacts");
            Step("done");
        });
    }
}
