using System.Net;
using System.Security.Cryptography;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>Single flight: N clients missing on one file cause one upstream fetch and one scan.</summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class SingleFlightTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private const int Clients = 50;
    private const long FileSize = 4 * 1024 * 1024;
    private const int UpstreamDelayMs = 500;

    private GatehouseStack Stack => shared.Stack;

    [Fact]
    public Task Fifty_concurrent_cold_GETs_of_one_file_all_get_the_same_verified_bytes_from_one_upstream_fetch_and_one_orchestration() => Stack.RunAsync(output, async () =>
    {
        var project = $"e2e-flight-{TestEnvironment.UniqueSuffix()}";
        var file = await Stack.Sim.SyntheticAsync(project, "1.0.0", FileSize);
        var url = GatehouseStack.FileUrl(project, file.Sha256, file.Filename);
        using var client = Stack.CreateClient();

        // The upstream stalls each body, so the requests overlap with the one fetch.
        await Stack.Sim.DelayAsync(UpstreamDelayMs);
        (HttpStatusCode Status, string? Reason, string Sha256, long Length)[] answers;
        try
        {
            using var go = new SemaphoreSlim(0, Clients);
            var requests = Enumerable.Range(0, Clients).Select(async _ =>
            {
                await go.WaitAsync();
                using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
                await using var body = await response.Content.ReadAsStreamAsync();
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var length = 0L;
                var buffer = new byte[81920];
                for (int read; (read = await body.ReadAsync(buffer)) > 0; length += read)
                {
                    sha.AppendData(buffer, 0, read);
                }
                return (response.StatusCode, response.ReasonPhrase, Convert.ToHexStringLower(sha.GetHashAndReset()), length);
            }).ToArray();
            go.Release(Clients);
            answers = await Task.WhenAll(requests);
        }
        finally
        {
            await Stack.Sim.DelayAsync(0);
        }

        foreach (var group in answers.GroupBy(a => (a.Status, a.Reason)))
        {
            output.WriteLine($"{group.Count()} x {(int)group.Key.Status} {group.Key.Reason}");
        }
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.All(answers, a => Assert.Equal(file.Size, a.Length));
        Assert.All(answers, a => Assert.Equal(file.Sha256, a.Sha256));

        Assert.Equal(1, await Stack.Sim.FileFetchesAsync(file.Filename));

        // One orchestration instance (id = sha256) with exactly one execution, and one verdict written by it.
        var instance = await Stack.Storage.InstanceAsync(Stack.HubName, file.Sha256);
        Assert.NotNull(instance);
        Assert.Equal("Completed", instance.GetString("RuntimeStatus"));
        var history = await Stack.Storage.HistoryAsync(Stack.HubName, file.Sha256);
        var starts = history.Where(e => e.GetString("EventType") == "ExecutionStarted").ToList();
        Assert.Single(starts);
        Assert.Single(history.Select(e => e.GetString("ExecutionId")).Where(id => id is not null).Distinct());
        Assert.Equal(1, await Stack.Storage.AuditCountAsync("facts", file.Sha256));
        Assert.Equal(1, await Stack.Storage.AuditCountAsync("decision", file.Sha256));
        Assert.Equal("Allowed", (await Stack.Storage.PyPIReferenceAsync(project, file.Filename))?.GetString("Decision"));
    });
}
