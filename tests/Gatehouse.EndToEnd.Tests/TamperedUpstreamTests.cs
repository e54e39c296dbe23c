using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>Content addressing: bytes that do not match the index's sha256 are refused and leave nothing behind.</summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class TamperedUpstreamTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private GatehouseStack Stack => shared.Stack;

    [Fact]
    public Task A_tampered_upstream_file_is_refused_with_a_digest_reason_and_nothing_is_stored_or_scanned() => Stack.RunAsync(output, async () =>
    {
        // Fresh content, so no earlier run or test can have cached or judged it.
        var project = $"e2e-tamper-{TestEnvironment.UniqueSuffix()}";
        var file = await Stack.Sim.SyntheticAsync(project, "1.0.0", 64 * 1024);
        await Stack.Sim.TamperAsync(file.Filename);

        using var client = Stack.CreateClient();
        using var response = await client.GetAsync(GatehouseStack.FileUrl(project, file.Sha256, file.Filename));
        var body = await response.Content.ReadAsStringAsync();
        output.WriteLine($"{(int)response.StatusCode} {response.ReasonPhrase}\n{body}");

        Assert.InRange((int)response.StatusCode, 500, 599);
        Assert.Contains("digest", response.ReasonPhrase ?? "", StringComparison.OrdinalIgnoreCase);
        Assert.Contains("digest", body, StringComparison.OrdinalIgnoreCase);
        Assert.True(await Stack.Sim.FileFetchesAsync(file.Filename) >= 1, "Gatehouse never fetched the tampered file from the upstream");

        foreach (var container in new[] { StorageProbe.Staging, StorageProbe.Artifacts, StorageProbe.Quarantine })
        {
            Assert.False(await Stack.Storage.BlobExistsAsync(container, file.Sha256), $"a blob named {file.Sha256} exists in '{container}'");
        }
        Assert.Null(await Stack.Storage.FactsAsync(file.Sha256));
        // The fetch runs in the content's orchestration; it ended there, before any check was scheduled.
        var history = await Stack.Storage.HistoryAsync(Stack.HubName, file.Sha256);
        var scheduled = history.Where(e => e.GetString("EventType") == "TaskScheduled").Select(e => e.GetString("Name")).ToList();
        Assert.Equal(["FetchContentActivity"], scheduled);
    });
}
