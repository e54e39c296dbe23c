using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Single flight across scale-out replicas: two host processes on one storage account and one Durable task hub (one app
/// scaled out to two instances) share one upstream fetch and one scan per content, whichever replica a client reaches.
/// </summary>
public sealed partial class MultiHostSingleFlightTests(ITestOutputHelper output)
{
    private const int Clients = 50;
    private const long FileSize = 5 * 1024 * 1024;
    private const int UpstreamDelayMs = 1_000;
    private static readonly TimeSpan ClientBudget = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Fifty_cold_requests_over_two_hosts_fetch_upstream_once_and_scan_once()
    {
        var clock = Stopwatch.StartNew();
        void Step(string message) => output.WriteLine($"[{clock.Elapsed.TotalSeconds,6:F1} s] {message}");

        await using var stack = await GatehouseStack.StartAsync("multihost", hosts: 2);
        await stack.RunAsync(output, async () =>
        {
            Assert.Equal(2, stack.Replicas.Count);
            Assert.NotEqual(stack.Replicas[0].BaseAddress, stack.Replicas[1].BaseAddress);
            Assert.Equal(stack.Replicas[0].Settings.HubName, stack.Replicas[1].Settings.HubName);
            Step($"hosts up: {string.Join(", ", stack.Replicas.Select(h => $"{h.Name} {h.BaseAddress}"))} on hub {stack.HubName}");

            var project = $"e2e-multihost-{TestEnvironment.UniqueSuffix()}";
            var file = await stack.Sim.SyntheticAsync(project, "1.0.0", FileSize);
            var url = GatehouseStack.FileUrl(project, file.Sha256, file.Filename);
            Step($"synthetic wheel {file.Filename} ({file.Size} bytes, sha256 {file.Sha256})");

            using var first = stack.CreateClient(replica: 0);
            using var second = stack.CreateClient(replica: 1);
            HttpClient[] clients = [first, second];

            // The upstream stalls each body, so the requests on both hosts overlap with the fetch.
            await stack.Sim.DelayAsync(UpstreamDelayMs);
            Download[] downloads;
            try
            {
                using var go = new SemaphoreSlim(0, Clients);
                var requests = Enumerable.Range(0, Clients).Select(async i =>
                {
                    await go.WaitAsync();
                    return await DownloadAsync(clients[i % 2], i % 2, url);
                }).ToArray();
                go.Release(Clients);
                downloads = await Task.WhenAll(requests);
            }
            finally
            {
                await stack.Sim.DelayAsync(0);
            }
            Step("every client has its answer");
            foreach (var group in downloads.GroupBy(d => (d.Replica, Answers: string.Join(", ", d.Answers))))
            {
                Step($"{group.Count()} x via {stack.Replicas[group.Key.Replica].Name}: {group.Key.Answers}");
            }

            // Everything the two hosts did for this content, gathered before asserting so a failure reports all of it.
            var fetches = await stack.Sim.FileFetchesAsync(file.Filename);
            var lines = stack.Hosts.SelectMany(h => h.Log().Split('\n').Select(line => (Host: h.Name, Line: line))).Where(l => l.Line.Contains(file.Sha256)).ToList();
            var staged = lines.Where(l => l.Line.Contains($"into staging as {file.Sha256}", StringComparison.Ordinal)).ToList();
            var scansStarted = lines.Where(l => l.Line.Contains($"Scan started for {file.Sha256}", StringComparison.Ordinal)).ToList();
            var checks = lines.Select(l => (l.Host, Match: CheckLine().Match(l.Line))).Where(c => c.Match.Success).ToList();
            var verdicts = lines.Where(l => VerdictLine().IsMatch(l.Line)).ToList();
            var instance = await stack.Storage.InstanceAsync(stack.HubName, file.Sha256);
            var history = await stack.Storage.HistoryAsync(stack.HubName, file.Sha256);
            var executionStarts = history.Count(e => e.GetString("EventType") == "ExecutionStarted");
            var executionIds = history.Select(e => e.GetString("ExecutionId")).Where(id => id is not null).Distinct().Count();
            // One "facts" audit row per scan, one "decision" row per reference decided.
            var audited = await stack.Storage.AuditCountAsync("facts", file.Sha256);
            var decisions = await stack.Storage.AuditCountAsync("decision", file.Sha256);
            var reference = await stack.Storage.PyPIReferenceAsync(project, file.Filename);

            Step($"upstream GETs of the file: {fetches}");
            Step($"'Fetched … into staging' lines: {Describe(staged.Select(s => s.Host))}");
            // Not asserted: two starts at once may both be accepted, and the task hub then drops the second ExecutionStarted as a duplicate.
            Step($"'Scan started' lines: {Describe(scansStarted.Select(s => s.Host))}");
            Step($"check lines: {Describe(checks.Select(c => $"{c.Match.Groups["check"].Value} on {c.Host}"))}");
            Step($"'Verdict' lines: {Describe(verdicts.Select(s => s.Host))}");
            Step($"instance {instance?.GetString("RuntimeStatus") ?? "missing"}; history: {executionStarts} ExecutionStarted, {executionIds} execution ids; " +
                $"audit rows: {audited} facts, {decisions} decisions; reference decision: {reference?.GetString("Decision") ?? "missing"}");
            foreach (var line in lines.Where(l => l.Line.Contains("already exists", StringComparison.Ordinal) || l.Line.Contains("duplicate", StringComparison.Ordinal)
                || l.Line.Contains("fail", StringComparison.OrdinalIgnoreCase)))
            {
                Step($"{line.Host}: {line.Line}");
            }

            Assert.All(downloads, d => Assert.True(d.Status == HttpStatusCode.OK,
                $"a client via {stack.Replicas[d.Replica].Name} got no 200 within {ClientBudget.TotalMinutes} min: {string.Join(", ", d.Answers)}"));
            Assert.All(downloads, d => Assert.Equal(file.Size, d.Length));
            Assert.All(downloads, d => Assert.Equal(file.Sha256, d.Sha256));
            Assert.Contains(downloads, d => d.Replica == 0);
            Assert.Contains(downloads, d => d.Replica == 1);

            Assert.True(fetches == 1, $"the upstream saw {fetches} GETs of {file.Filename}; two replicas must share one fetch");
            Assert.True(staged.Count == 1, $"{staged.Count} fetches were staged ({Describe(staged.Select(s => s.Host))}); one is expected");
            Assert.NotEmpty(checks);
            Assert.All(checks.GroupBy(c => c.Match.Groups["check"].Value), g => Assert.True(g.Count() == 1,
                $"check {g.Key} ran {g.Count()} times ({Describe(g.Select(c => c.Host))}); once is expected"));
            Assert.True(verdicts.Count == 1, $"{verdicts.Count} verdicts were recorded ({Describe(verdicts.Select(s => s.Host))}); one is expected");
            Assert.NotNull(instance);
            Assert.Equal("Completed", instance.GetString("RuntimeStatus"));
            Assert.True(executionStarts == 1 && executionIds == 1,
                $"the orchestration {file.Sha256} ran {executionStarts} executions ({executionIds} execution ids); one is expected");
            Assert.True(audited == 1, $"{audited} scans' facts were audited for {file.Sha256}; one is expected");
            Assert.True(decisions == 1, $"{decisions} decisions were audited for the one reference to {file.Sha256}; one is expected");
            Assert.Equal("Allowed", reference?.GetString("Decision"));
        });
    }

    private static string Describe(IEnumerable<string> items)
    {
        var counted = items.GroupBy(h => h).Select(g => $"{g.Key} x{g.Count()}").ToList();
        return counted.Count == 0 ? "none" : string.Join(", ", counted);
    }

    /// <summary>GETs until a 200 (whose body it hashes), retrying 503s after their Retry-After, for at most <see cref="ClientBudget"/>.</summary>
    private static async Task<Download> DownloadAsync(HttpClient client, int replica, string url)
    {
        var answers = new List<string>();
        var budget = Stopwatch.StartNew();
        while (true)
        {
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                await using var body = await response.Content.ReadAsStreamAsync();
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var length = 0L;
                var buffer = new byte[81920];
                for (int read; (read = await body.ReadAsync(buffer)) > 0; length += read)
                {
                    sha.AppendData(buffer, 0, read);
                }
                answers.Add("200");
                return new Download(replica, HttpStatusCode.OK, answers, Convert.ToHexStringLower(sha.GetHashAndReset()), length);
            }
            var retryAfter = response.Headers.RetryAfter?.Delta;
            answers.Add($"{(int)response.StatusCode} {response.ReasonPhrase}{(retryAfter is { } r ? $" (Retry-After {r.TotalSeconds} s)" : "")}");
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || retryAfter is null || budget.Elapsed > ClientBudget)
            {
                return new Download(replica, response.StatusCode, answers, null, 0);
            }
            await Task.Delay(retryAfter.Value);
        }
    }

    private sealed record Download(int Replica, HttpStatusCode Status, IReadOnlyList<string> Answers, string? Sha256, long Length);

    // A check logs "Check <name> on <file or sha256> …" once per run; the lines taken here all name the sha256.
    [GeneratedRegex(@"\bCheck (?<check>\w+) on ")]
    private static partial Regex CheckLine();

    // "Verdict <decision> for <subject> <file> (<sha256>) by rule <rule>": one line per verdict recorded.
    [GeneratedRegex(@"\bVerdict \w+ for ")]
    private static partial Regex VerdictLine();
}
