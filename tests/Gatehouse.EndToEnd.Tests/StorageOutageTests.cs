using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Storage outages: the storage account (a private Azurite) goes away in the middle of a cold file's fetch or scan and
/// comes back with the same data on the same ports. Nothing may be cached wrongly (no facts without their blob, no blob
/// that is not the content its name says), and the file is then served with the right bytes.
/// </summary>
public sealed class StorageOutageTests(ITestOutputHelper output)
{
    private const long FetchWheelSize = 5 * 1024 * 1024;
    private const int FetchUpstreamDelayMs = 6_000; // headers at once, the body 6 s later: the fetch spans the moment storage goes
    private const long ScanWheelSize = 300L * 1024 * 1024; // big enough that the checks take a moment (as in HostCrashRecoveryTests)
    // An orchestration message being processed when storage went stays hidden this long (default 5 minutes, beyond RecoveryBudget).
    private const int ControlQueueVisibilitySeconds = 30;
    // Longer than the storage clients' own retries (a blob write gives up after about 20 s), so work in flight fails instead of waiting it out.
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RecoveryBudget = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(60);

    private readonly Stopwatch _clock = Stopwatch.StartNew();

    [Fact]
    public async Task Azurite_stopped_during_an_upstream_fetch_and_restarted_caches_nothing_wrongly_and_the_file_is_then_served()
    {
        await using var azurite = await PrivateAzurite.StartAsync();
        await using var stack = await GatehouseStack.StartAsync("fetchoutage",
            s => s with { InlineWaitSeconds = 3, ControlQueueVisibilityTimeoutSeconds = ControlQueueVisibilitySeconds }, storageConnectionString: azurite.ConnectionString);
        await RunAsync(stack, azurite, async () =>
        {
            var project = $"e2e-fetchoutage-{TestEnvironment.UniqueSuffix()}";
            var file = await stack.Sim.SyntheticAsync(project, "1.0.0", FetchWheelSize);
            var url = GatehouseStack.FileUrl(project, file.Sha256, file.Filename);
            Step($"synthetic wheel {file.Filename} ({file.Size} bytes, sha256 {file.Sha256}); upstream bodies start {FetchUpstreamDelayMs} ms after the headers");
            using var client = stack.CreateClient();

            await stack.Sim.DelayAsync(FetchUpstreamDelayMs);
            var first = AnswerAsync(client, url);
            // The host reads the project's index to learn the file's upstream URL, then asks for the file: the fetch is under way.
            await WaitUntilAsync(async () => (await stack.Sim.StatsAsync()).GetProperty("indexFetches").TryGetProperty(project, out _), "the host read the upstream index");
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            var fetchesAtStop = await stack.Sim.FileFetchesAsync(file.Filename);
            if (first.IsCompleted)
            {
                Assert.Fail($"the first request was answered before the outage ({await first}); the outage would not hit its fetch");
            }

            var fetchesInOutage = await OutageAsync(stack, azurite, client, url, file, async () =>
            {
                var answer = await first;
                Step($"first request (in flight when storage went): {answer.Timed}");
                AssertToldToComeBack(answer, file, "the request whose fetch storage broke off");
                return await stack.Sim.FileFetchesAsync(file.Filename);
            });
            await stack.Sim.DelayAsync(0);

            Assert.True(fetchesAtStop == 0 && fetchesInOutage == 1,
                $"the upstream body had {(fetchesAtStop == 0 ? "not" : "already")} started when storage went and {fetchesInOutage} bodies started during the outage; " +
                "the outage must fall inside one fetch for this test to prove anything");
            await ServedAfterRecoveryAsync(stack, client, url, file);
            Step($"upstream GETs of the file in all: {await stack.Sim.FileFetchesAsync(file.Filename)}");
            await AssertNothingCachedWronglyAsync(stack, project, file);
        });
    }

    [Fact]
    public async Task Azurite_stopped_during_a_scan_and_restarted_caches_nothing_wrongly_and_the_file_is_then_served()
    {
        await using var azurite = await PrivateAzurite.StartAsync();
        await using var stack = await GatehouseStack.StartAsync("scanoutage",
            s => s with { InlineWaitSeconds = 1, ControlQueueVisibilityTimeoutSeconds = ControlQueueVisibilitySeconds }, storageConnectionString: azurite.ConnectionString);
        await RunAsync(stack, azurite, async () =>
        {
            var project = $"e2e-scanoutage-{TestEnvironment.UniqueSuffix()}";
            var file = await stack.Sim.SyntheticAsync(project, "1.0.0", ScanWheelSize);
            var url = GatehouseStack.FileUrl(project, file.Sha256, file.Filename);
            Step($"synthetic wheel {file.Filename} ({file.Size} bytes, sha256 {file.Sha256})");
            using var client = stack.CreateClient();

            Step($"first GET: {await AnswerAsync(client, url)}");
            // The Durable worker logs each activity it starts and completes: storage goes while a check is reading the staged blob.
            var started = $"activity of orchestration ID '{file.Sha256}' started";
            var completed = $"activity of orchestration ID '{file.Sha256}' completed";
            await WaitUntilAsync(() => Task.FromResult(stack.CountLogLines(started) > stack.CountLogLines(completed)), "a check of the scan is running");
            Assert.True(await stack.Storage.FactsAsync(file.Sha256) is null,
                "facts exist before the outage: the scan finished before storage went, so this test would prove nothing (make the wheel bigger)");

            Step($"activities started {stack.CountLogLines(started)}, completed {stack.CountLogLines(completed)}; no verdict yet");
            await OutageAsync(stack, azurite, client, url, file);

            await ServedAfterRecoveryAsync(stack, client, url, file);
            await AssertNothingCachedWronglyAsync(stack, project, file);
        });
    }

    /// <summary>
    /// Stops Azurite, asks once for the file while storage is gone, runs <paramref name="whileDown"/> at the end of the
    /// outage, and starts Azurite again; restarts the host if it died meanwhile. Returns what <paramref name="whileDown"/> returned.
    /// </summary>
    private async Task<int> OutageAsync(GatehouseStack stack, PrivateAzurite azurite, HttpClient client, string url, SyntheticFile file,
        Func<Task<int>>? whileDown = null)
    {
        var outage = Stopwatch.StartNew();
        await azurite.StopAsync();
        Step($"Azurite stopped (took {outage.Elapsed.TotalSeconds:F1} s)");

        using (var probe = new CancellationTokenSource(Outage))
        {
            var answer = await AnswerAsync(client, url, probe.Token);
            Step($"a GET while storage is gone: {answer.Timed}");
            AssertToldToComeBack(answer, file, "a request while storage is gone");
        }
        var remaining = Outage - outage.Elapsed;
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining);
        }
        var result = whileDown is null ? 0 : await whileDown();
        await azurite.RestartAsync();
        Step($"Azurite restarted after {outage.Elapsed.TotalSeconds:F1} s down (same ports, same data folder)");
        await RestartHostIfItDiedAsync(stack, "during the outage");
        return result;
    }

    /// <summary>Without storage a client may be told to come back (any 5xx) or get the right bytes, never a refusal or other bytes.</summary>
    private static void AssertToldToComeBack(Answer answer, SyntheticFile file, string who) =>
        Assert.True(answer.Status is null || (answer.Status == HttpStatusCode.ServiceUnavailable && answer.RetryAfter is not null)
            || (answer.Status == HttpStatusCode.OK && answer.Sha256 == file.Sha256),
            $"{who} must be told to come back (503 with Retry-After) or get the file, never be refused, sent other bytes or given a 500; it got {answer}");

    /// <summary>GETs the file until a 200 with the right bytes, accepting only 503 and 502 before it, within <see cref="RecoveryBudget"/>.</summary>
    private async Task ServedAfterRecoveryAsync(GatehouseStack stack, HttpClient client, string url, SyntheticFile file)
    {
        var answers = new List<string>();
        var recovery = Stopwatch.StartNew();
        while (true)
        {
            await RestartHostIfItDiedAsync(stack, "after the outage");
            var answer = await AnswerAsync(client, url);
            if (answer.Status == HttpStatusCode.OK)
            {
                Step($"200 after {recovery.Elapsed.TotalSeconds:F1} s and {answers.Count} earlier answers ({Summary(answers)}); body sha256 {answer.Sha256}");
                Assert.Equal(file.Sha256, answer.Sha256);
                Assert.Equal(file.Size, answer.Length);
                return;
            }
            answers.Add(answer.ToString());
            Assert.True(answer.Status is null or HttpStatusCode.BadGateway || (answer.Status == HttpStatusCode.ServiceUnavailable && answer.RetryAfter is not null),
                $"after the outage a client may be told to retry (503 with Retry-After, 502) until the file is served; it got {answer} after {Summary(answers)}");
            Assert.True(recovery.Elapsed < RecoveryBudget,
                $"the file was not served within {RecoveryBudget.TotalMinutes} min of storage coming back ({Summary(answers)}); instance " +
                $"{(await stack.Storage.InstanceAsync(stack.HubName, file.Sha256))?.GetString("RuntimeStatus") ?? "missing"}");
            await Task.Delay(answer.RetryAfter is { } r && r < TimeSpan.FromSeconds(5) ? r : TimeSpan.FromSeconds(1));
        }
    }

    private async Task AssertNothingCachedWronglyAsync(GatehouseStack stack, string project, SyntheticFile file)
    {
        var problems = await stack.Storage.ContentProblemsAsync();
        Assert.True(problems.Count == 0, "storage holds wrong content after the outage:\n" + string.Join('\n', problems));
        Assert.NotNull(await stack.Storage.FactsAsync(file.Sha256));
        Assert.Equal("Allowed", (await stack.Storage.PyPIReferenceAsync(project, file.Filename))?.GetString("Decision"));
        Assert.True(await stack.Storage.BlobExistsAsync(StorageProbe.Artifacts, file.Sha256), "the allowed wheel is not in artifacts");
        Step("storage holds only facts with their blobs and blobs that match their names");
    }

    /// <summary>A host that exited when storage went is started again on its port (a supervisor would do the same), and the test says so.</summary>
    private async Task RestartHostIfItDiedAsync(GatehouseStack stack, string when)
    {
        if (stack.Host.HasExited)
        {
            Step($"HOST EXITED {when} (exit code {stack.Host.ExitCode}); restarting it");
            await stack.RestartHostAsync();
            Step($"host restarted (pid {stack.Host.ProcessId})");
        }
    }

    /// <summary>One GET: its status, Retry-After and reason, and the body's sha256 and length for a 200; a null status when the host did not answer.</summary>
    private static async Task<Answer> AnswerAsync(HttpClient client, string url, CancellationToken cancellationToken = default)
    {
        var took = Stopwatch.StartNew();
        try
        {
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            string? sha256 = null;
            long length = 0;
            if (response.StatusCode == HttpStatusCode.OK)
            {
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[81920];
                for (int read; (read = await body.ReadAsync(buffer, cancellationToken)) > 0; length += read)
                {
                    sha.AppendData(buffer, 0, read);
                }
                sha256 = Convert.ToHexStringLower(sha.GetHashAndReset());
            }
            return new Answer(response.StatusCode, response.ReasonPhrase, response.Headers.RetryAfter?.Delta, sha256, length, took.Elapsed);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return new Answer(null, $"{e.GetType().Name}: {e.Message}", null, null, 0, took.Elapsed);
        }
    }

    private async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(waited.Elapsed < PhaseTimeout, $"timed out after {PhaseTimeout.TotalSeconds} s waiting until {what}");
            await Task.Delay(50);
        }
        Step(what);
    }

    private async Task RunAsync(GatehouseStack stack, PrivateAzurite azurite, Func<Task> body)
    {
        Step($"private Azurite pid {azurite.ProcessId} (blob {azurite.BlobPort}); host {stack.Host.Name} on hub {stack.HubName}");
        try
        {
            await stack.RunAsync(output, body);
        }
        catch
        {
            output.WriteLine("===== private Azurite =====");
            output.WriteLine(azurite.Log(100));
            throw;
        }
        // What the host went through, also when it coped: Gatehouse's own steps, warnings and errors (first and last ones).
        foreach (var host in stack.Hosts)
        {
            var trouble = host.Log().Split('\n').Where(l => l.Contains(" warn: ", StringComparison.Ordinal) || l.Contains(" fail: ", StringComparison.Ordinal)
                || l.Contains(" crit: ", StringComparison.Ordinal) || l.StartsWith("[test", StringComparison.Ordinal)
                || (l.Contains(" info: Gatehouse.", StringComparison.Ordinal) && !l.Contains(" info: Gatehouse.Host", StringComparison.Ordinal))).ToList();
            output.WriteLine($"===== host {host.Name}: {trouble.Count} steps, warnings, errors and notes{(trouble.Count > 80 ? " (first 40 and last 40)" : "")} =====");
            foreach (var line in trouble.Count > 80 ? [.. trouble[..40], "...", .. trouble[^40..]] : trouble)
            {
                output.WriteLine(line);
            }
        }
    }

    private static string Summary(IEnumerable<string> answers) =>
        string.Join(", ", answers.GroupBy(a => a).Select(g => $"{g.Count()} x {g.Key}")) is { Length: > 0 } s ? s : "none";

    private void Step(string message) => output.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F1} s] {message}");

    private sealed record Answer(HttpStatusCode? Status, string? Reason, TimeSpan? RetryAfter, string? Sha256, long Length, TimeSpan Took)
    {
        public override string ToString() => Status is { } status
            ? $"{(int)status} {Reason}{(RetryAfter is { } r ? $" (Retry-After {r.TotalSeconds} s)" : "")}"
            : $"no answer ({Reason})";

        public string Timed => $"{this} after {Took.TotalSeconds:F1} s";
    }
}
