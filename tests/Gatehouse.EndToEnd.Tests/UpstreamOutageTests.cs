using System.Net;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>Stale-if-error: an upstream outage does not take cached index pages down.</summary>
public sealed class UpstreamOutageTests(ITestOutputHelper output)
{
    private const string JsonAccept = "application/vnd.pypi.simple.v1+json";
    private const int IndexTtlSeconds = 1;

    [Fact]
    public async Task When_the_upstream_is_down_a_cached_project_page_is_still_served_and_an_uncached_file_gets_a_502_naming_the_upstream()
    {
        await using var stack = await GatehouseStack.StartAsync("outage", s => s with { IndexTtlSeconds = IndexTtlSeconds });
        await stack.RunAsync(output, async () =>
        {
            var project = $"e2e-outage-{TestEnvironment.UniqueSuffix()}";
            var first = await stack.Sim.SyntheticAsync(project, "1.0.0", 32 * 1024);
            var second = await stack.Sim.SyntheticAsync(project, "2.0.0", 32 * 1024);
            using var client = stack.CreateClient();

            var before = await GetFilesAsync(client, project);
            Assert.Equal([first.Filename, second.Filename], before.Keys.Order(StringComparer.Ordinal).ToArray());

            await stack.Sim.DownAsync();
            await Task.Delay(TimeSpan.FromSeconds(IndexTtlSeconds * 2 + 0.5)); // the cached page is now past its TTL

            var during = await GetFilesAsync(client, project);
            Assert.Equal(before, during);
            var indexFetches = (await stack.Sim.StatsAsync()).GetProperty("indexFetches");
            output.WriteLine($"simulator index fetches: {indexFetches}");

            using var response = await client.GetAsync(GatehouseStack.FileUrl(project, first.Sha256, first.Filename));
            var body = await response.Content.ReadAsStringAsync();
            output.WriteLine($"{(int)response.StatusCode} {response.ReasonPhrase}\n{body}");
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Contains("upstream", response.ReasonPhrase ?? "", StringComparison.OrdinalIgnoreCase);
            Assert.Contains(first.Filename, response.ReasonPhrase ?? "", StringComparison.Ordinal);
            Assert.Contains("upstream", body, StringComparison.OrdinalIgnoreCase);
            Assert.Null(await stack.Storage.FactsAsync(first.Sha256));
        });
    }

    /// <summary>filename → sha256 of the files the JSON project page lists.</summary>
    private async Task<Dictionary<string, string>> GetFilesAsync(HttpClient client, string project)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"pypi/simple/{project}/");
        request.Headers.TryAddWithoutValidation("Accept", JsonAccept);
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        output.WriteLine($"GET /pypi/simple/{project}/ -> {(int)response.StatusCode} {response.ReasonPhrase} {string.Join("; ", response.Headers.Select(h => $"{h.Key}: {string.Join(",", h.Value)}"))}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /pypi/simple/{project}/ answered {(int)response.StatusCode} {response.ReasonPhrase}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("files").EnumerateArray()
            .ToDictionary(f => f.GetProperty("filename").GetString()!, f => f.GetProperty("hashes").GetProperty("sha256").GetString()!);
    }
}
