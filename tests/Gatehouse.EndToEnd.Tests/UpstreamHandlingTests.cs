using System.Globalization;
using System.Net;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using static Gatehouse.EndToEnd.Tests.Infrastructure.HubResponses;
using static Gatehouse.TestHelpers.ResponseHeaders;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// What an upstream can do to Gatehouse, through the one upstream handler: bodies too large (sent chunked), redirects
/// elsewhere, bodies that break off. Each ends in a 502 that says what happened, never a 500. Also: only files
/// Gatehouse recorded are served, each file and each JSON API document is fetched once however many ask, and the
/// absolute URLs Gatehouse writes do not come from the request's <c>Host</c>.
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class UpstreamHandlingTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private const long Mebibyte = 1024 * 1024;

    private GatehouseStack Stack => shared.Stack;

    /// <summary>Where a test points a fault: the upstream path, and the Gatehouse URL that reads it.</summary>
    private sealed record Target(string UpstreamPath, string GatehouseUrl, bool HuggingFace, string ContentType = "application/json");

    /// <summary>A cold document of each kind, on a new project or repo so that nothing is cached yet.</summary>
    private async Task<Target> ColdAsync(string what)
    {
        var project = $"upstream-{what}-{TestEnvironment.UniqueSuffix()}";
        switch (what)
        {
            case "hf-api":
                var repo = $"upstream/{project}";
                await Stack.Sim.HfSyntheticAsync(repo, new HfSyntheticSpec("config.json", 64, "text"));
                return new Target($"/api/models/{repo}", $"hf/api/models/{repo}", HuggingFace: true);
            case "index":
                await Stack.Sim.SyntheticAsync(project, "1.0.0", 4096);
                return new Target($"/simple/{project}/", $"pypi/simple/{project}/", HuggingFace: false, SimpleIndexPages.Json);
            case "json-api":
                await Stack.Sim.SyntheticAsync(project, "1.0.0", 4096);
                return new Target($"/pypi/{project}/json", $"pypi/{project}/json", HuggingFace: false);
            case "metadata":
                var wheel = await Stack.Sim.SyntheticAsync(project, "1.0.0", 4096);
                return new Target(new Uri(wheel.Url).AbsolutePath + ".metadata", GatehouseStack.FileUrl(project, wheel.Sha256, wheel.Filename) + ".metadata",
                    HuggingFace: false, "application/octet-stream");
            case "provenance":
                var attested = await Stack.Sim.SyntheticAsync(project, "1.0.0", 4096);
                await Stack.Sim.ProvenanceAsync(attested.Filename);
                return new Target($"/integrity/{project}/", $"pypi/integrity/{project}/1.0.0/{attested.Filename}/provenance", HuggingFace: false,
                    "application/vnd.pypi.integrity.v1+json");
            default:
                throw new ArgumentOutOfRangeException(nameof(what), what, null);
        }
    }

    private async Task<(HttpStatusCode Status, string Message)> GetAsync(Target target)
    {
        using var client = target.HuggingFace ? Stack.CreateHfClient() : Stack.CreateClient();
        using var response = await client.GetAsync(target.GatehouseUrl);
        var body = await response.Content.ReadAsStringAsync();
        output.WriteLine($"GET /{target.GatehouseUrl} -> {(int)response.StatusCode}: {body}");
        var message = target.HuggingFace && response.StatusCode != HttpStatusCode.OK
            ? JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!
            : body;
        return (response.StatusCode, message);
    }

    [Theory]
    [InlineData("index", 64)]
    [InlineData("json-api", 64)]
    [InlineData("hf-api", 64)]
    [InlineData("metadata", 16)]
    [InlineData("provenance", 4)]
    public Task A_chunked_upstream_body_over_its_cap_is_a_502_that_names_the_cap(string what, long capMebibytes) => Stack.RunAsync(output, async () =>
    {
        var target = await ColdAsync(what);
        await Stack.Sim.FloodAsync(target.UpstreamPath, (capMebibytes + 1) * Mebibyte, target.ContentType);

        var (status, message) = await GetAsync(target);

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains($"more than {(capMebibytes * Mebibyte).ToString(CultureInfo.InvariantCulture)} bytes, the limit for this answer", message, StringComparison.Ordinal);
    });

    [Theory]
    [InlineData("index", "redirect")]
    [InlineData("index", "short")]
    [InlineData("json-api", "redirect")]
    [InlineData("json-api", "short")]
    [InlineData("hf-api", "redirect")]
    [InlineData("hf-api", "short")]
    [InlineData("metadata", "redirect")]
    [InlineData("metadata", "short")]
    public Task An_upstream_that_redirects_elsewhere_or_breaks_off_is_a_502_that_says_so(string what, string fault) => Stack.RunAsync(output, async () =>
    {
        var target = await ColdAsync(what);
        var unhandledBefore = Stack.Host.CountLogLines("unhandled exception");
        if (fault == "redirect")
        {
            await Stack.Sim.RedirectAsync(target.UpstreamPath, "http://elsewhere.invalid/steal");
        }
        else
        {
            await Stack.Sim.ShortAsync(target.UpstreamPath, 200_000, target.ContentType);
        }

        var (status, message) = await GetAsync(target);

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains(fault == "redirect" ? "elsewhere.invalid, which is not a configured upstream host" : "broke off its answer", message, StringComparison.Ordinal);
        Assert.Equal(unhandledBefore, Stack.Host.CountLogLines("unhandled exception"));
    });

    [Fact]
    public Task A_provenance_document_is_passed_through_at_the_url_the_index_gives() => Stack.RunAsync(output, async () =>
    {
        var target = await ColdAsync("provenance");

        var (status, body) = await GetAsync(target);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, JsonDocument.Parse(body).RootElement.GetProperty("version").GetInt32());
    });

    [Fact]
    public Task An_allowed_file_is_served_only_under_the_project_and_name_that_reference_it() => Stack.RunAsync(output, async () =>
    {
        var project = $"upstream-names-{TestEnvironment.UniqueSuffix()}";
        var wheel = await Stack.Sim.SyntheticAsync(project, "1.0.0", 4096);
        using var client = Stack.CreateClient();
        using (var served = await SendUntilDecidedAsync(client, () => new HttpRequestMessage(HttpMethod.Get, GatehouseStack.FileUrl(project, wheel.Sha256, wheel.Filename)), output))
        {
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        foreach (var url in new[]
        {
            GatehouseStack.FileUrl("gh-demo", wheel.Sha256, wheel.Filename),
            GatehouseStack.FileUrl(project, wheel.Sha256, wheel.Filename.Replace("1.0.0", "2.0.0", StringComparison.Ordinal)),
            GatehouseStack.FileUrl(project, wheel.Sha256, "gh_demo-1.0.0-py3-none-any.whl"),
            GatehouseStack.FileUrl("no-such-project", wheel.Sha256, wheel.Filename),
        })
        {
            using var response = await client.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"GET /{url} answered {(int)response.StatusCode}");
        }
    });

    [Fact]
    public Task Forty_eight_requests_for_a_json_api_document_fetch_it_from_the_upstream_once() => Stack.RunAsync(output, async () =>
    {
        var target = await ColdAsync("json-api");
        var project = target.UpstreamPath.Split('/')[2];
        using var client = Stack.CreateClient();

        var answers = await Task.WhenAll(Enumerable.Range(0, 48).Select(async _ =>
        {
            using var response = await client.GetAsync(target.GatehouseUrl);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.Single(answers.Select(a => a.Item2).Distinct());
        Assert.Equal(1, (await Stack.Sim.StatsAsync()).GetProperty("jsonFetches").GetProperty(project).GetInt32());
    });

    [Fact]
    public Task A_hundred_concurrent_cold_requests_for_a_regular_hf_file_fetch_it_once() => Stack.RunAsync(output, async () =>
    {
        var repo = $"upstream/regular-{TestEnvironment.UniqueSuffix()}";
        var registered = await Stack.Sim.HfSyntheticAsync(repo, new HfSyntheticSpec("config.json", 700, "text", Seed: 7));
        using var client = Stack.CreateHfClient();

        var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            using var response = await SendUntilDecidedAsync(client, () => new HttpRequestMessage(HttpMethod.Get, $"hf/{repo}/resolve/main/config.json"), output);
            return (response.StatusCode, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await response.Content.ReadAsByteArrayAsync())));
        }));

        Assert.All(answers, a => Assert.Equal((HttpStatusCode.OK, registered.Sha256("config.json")), a));
        var gets = (await Stack.Sim.HfStatsAsync()).GetProperty("resolveGets");
        Assert.Equal(1, gets.GetProperty($"models/{repo}/config.json").GetInt32());
    });

    [Fact]
    public Task Absolute_urls_do_not_come_from_the_Host_header() => Stack.RunAsync(output, async () =>
    {
        var target = await ColdAsync("provenance");
        var project = target.UpstreamPath.Split('/')[2];
        var repo = $"upstream/paged-{TestEnvironment.UniqueSuffix()}";
        await Stack.Sim.HfSyntheticAsync(repo, [.. Enumerable.Range(0, 3).Select(i => new HfSyntheticSpec($"f{i}.txt", 16, "text", (ulong)i))]);
        var origin = Stack.BaseAddress.GetLeftPart(UriPartial.Authority);

        await Stack.Sim.HfPageSizeAsync(2);
        try
        {
            await AssertAbsoluteUrlsAsync(Stack, project, repo, origin, forgedHost: "attacker.example");
        }
        finally
        {
            await Stack.Sim.HfPageSizeAsync(1000);
        }
    });

    [Fact]
    public async Task With_a_public_base_url_absolute_urls_use_it_and_the_inline_wait_covers_a_slow_fetch()
    {
        const string publicBase = "https://gatehouse.example.test";
        await using var stack = await GatehouseStack.StartAsync("upstream", s => s with { InlineWaitSeconds = 3, PublicBaseUrl = publicBase });
        await stack.RunAsync(output, async () =>
        {
            var project = $"upstream-public-{TestEnvironment.UniqueSuffix()}";
            var wheel = await stack.Sim.SyntheticAsync(project, "1.0.0", 4096);
            await stack.Sim.ProvenanceAsync(wheel.Filename);
            var repo = $"upstream/paged-{TestEnvironment.UniqueSuffix()}";
            await stack.Sim.HfSyntheticAsync(repo, [.. Enumerable.Range(0, 3).Select(i => new HfSyntheticSpec($"f{i}.txt", 16, "text", (ulong)i))]);
            await stack.Sim.HfPageSizeAsync(2);
            await AssertAbsoluteUrlsAsync(stack, project, repo, publicBase, forgedHost: "attacker.example");

            // The upstream sends its headers and then nothing for 60 s: the request is answered when its 3 s are up.
            await stack.Sim.DelayAsync(60_000);
            using var client = stack.CreateClient();
            var url = GatehouseStack.FileUrl(project, wheel.Sha256, wheel.Filename);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using (var waiting = await client.GetAsync(url))
            {
                output.WriteLine($"slow upstream: {(int)waiting.StatusCode} after {clock.Elapsed.TotalSeconds:F1} s");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, waiting.StatusCode);
                Assert.NotNull(waiting.Headers.RetryAfter);
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the request waited {clock.Elapsed} for a 3 s inline wait");
            }
            await stack.Sim.DelayAsync(0);
        });
    }

    /// <summary>The HF tree's <c>Link</c> and the index's provenance URL start with <paramref name="origin"/>, whatever <c>Host</c> said.</summary>
    private async Task AssertAbsoluteUrlsAsync(GatehouseStack stack, string project, string repo, string origin, string forgedHost)
    {
        using var hf = stack.CreateHfClient();
        using var tree = new HttpRequestMessage(HttpMethod.Get, $"hf/api/models/{repo}/tree/main");
        tree.Headers.Host = forgedHost;
        using var page = await hf.SendAsync(tree);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var link = Header(page, "Link");
        output.WriteLine($"Link: {link}");
        Assert.StartsWith($"<{origin}/hf/api/models/{repo}/tree/main", link, StringComparison.Ordinal);

        using var pypi = stack.CreateClient();
        using var index = new HttpRequestMessage(HttpMethod.Get, $"pypi/simple/{project}/");
        index.Headers.Host = forgedHost;
        index.Headers.TryAddWithoutValidation("Accept", SimpleIndexPages.Json);
        using var answer = await pypi.SendAsync(index);
        var json = await answer.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var provenance = JsonDocument.Parse(json).RootElement.GetProperty("files")[0].GetProperty("provenance").GetString();
        output.WriteLine($"provenance: {provenance}");
        Assert.StartsWith($"{origin}/pypi/integrity/{project}/1.0.0/", provenance, StringComparison.Ordinal);
        Assert.DoesNotContain(forgedHost, json, StringComparison.Ordinal);
    }
}
