using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gatehouse.UpstreamSimulator.Tests;

public class SimpleIndexTests
{
    [Fact]
    public async Task Pip_accept_header_gets_PEP_691_json_with_api_version_1_1()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await SimulatorTestHost.GetWithAcceptAsync(client, "simple/gh-demo/", SimulatorTestHost.PipAccept);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/vnd.pypi.simple.v1+json", SimulatorTestHost.ContentType(response)?.MediaType);
        Assert.Contains("Accept", response.Headers.Vary);
        Assert.Contains("max-age=600", response.Headers.CacheControl?.ToString());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Equal("1.1", root.GetProperty("meta").GetProperty("api-version").GetString());
        Assert.Equal("gh-demo", root.GetProperty("name").GetString());
        Assert.Equal(["1.0.0"], root.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(2, root.GetProperty("files").GetArrayLength());
    }

    [Fact]
    public async Task Json_file_entries_carry_every_PEP_691_700_714_field()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await SimulatorTestHost.GetWithAcceptAsync(client, "simple/gh-yanked/", SimulatorTestHost.PipAccept);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var files = json.RootElement.GetProperty("files").EnumerateArray().ToDictionary(f => f.GetProperty("filename").GetString()!);

        var yanked = files["gh_yanked-1.0.0-py3-none-any.whl"];
        Assert.Equal("broken build", yanked.GetProperty("yanked").GetString());
        Assert.Equal(">=3.8,<4", yanked.GetProperty("requires-python").GetString());
        Assert.Equal("2023-11-05T08:15:00.444444Z", yanked.GetProperty("upload-time").GetString());
        Assert.Equal(JsonValueKind.Null, yanked.GetProperty("provenance").ValueKind);
        Assert.StartsWith(sim.BaseAddress + "packages/", yanked.GetProperty("url").GetString());
        Assert.True(yanked.GetProperty("size").GetInt64() > 0);
        var metadataHash = yanked.GetProperty("core-metadata").GetProperty("sha256").GetString();
        Assert.Matches("^[0-9a-f]{64}$", metadataHash);
        Assert.Equal(metadataHash, yanked.GetProperty("data-dist-info-metadata").GetProperty("sha256").GetString());
        Assert.False(files["gh_yanked-2.0.0-py3-none-any.whl"].GetProperty("yanked").GetBoolean());
    }

    [Fact]
    public async Task Sdists_advertise_no_core_metadata()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await SimulatorTestHost.GetWithAcceptAsync(client, "simple/gh-demo/", SimulatorTestHost.PipAccept);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var sdist = json.RootElement.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("filename").GetString() == "gh_demo-1.0.0.tar.gz");

        Assert.False(sdist.GetProperty("core-metadata").GetBoolean());
        Assert.Equal(JsonValueKind.Null, sdist.GetProperty("requires-python").ValueKind);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("text/html")]
    [InlineData("application/json")]
    public async Task Browsers_and_old_clients_get_PEP_503_html(string? accept)
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await SimulatorTestHost.GetWithAcceptAsync(client, "simple/gh-yanked/", accept);
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", SimulatorTestHost.ContentType(response)?.MediaType);
        Assert.Contains("Accept", response.Headers.Vary);
        Assert.Contains("<meta name=\"pypi:repository-version\" content=\"1.1\">", html);
        Assert.Contains("data-requires-python=\"&gt;=3.8,&lt;4\"", html);
        Assert.Contains("data-yanked=\"broken build\"", html);
        Assert.Matches("data-core-metadata=\"sha256=[0-9a-f]{64}\"", html);
        Assert.Matches("data-dist-info-metadata=\"sha256=[0-9a-f]{64}\"", html);
        Assert.Matches("href=\"http://[^\"]+/gh_yanked-2\\.0\\.0-py3-none-any\\.whl#sha256=[0-9a-f]{64}\"", html);
    }

    [Fact]
    public async Task Explicit_v1_html_is_answered_with_the_v1_html_content_type()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await SimulatorTestHost.GetWithAcceptAsync(client, "simple/gh-demo/", "application/vnd.pypi.simple.v1+html");

        Assert.Equal("application/vnd.pypi.simple.v1+html", SimulatorTestHost.ContentType(response)?.MediaType);
    }

    [Theory]
    [InlineData("simple/GH_Demo/", "/simple/gh-demo/")]
    [InlineData("simple/gh.demo/", "/simple/gh-demo/")]
    [InlineData("simple/gh-demo", "/simple/gh-demo/")]
    [InlineData("simple", "/simple/")]
    [InlineData("pypi/GH_Demo/json", "/pypi/gh-demo/json")]
    public async Task Non_normalized_or_slashless_urls_redirect_permanently(string path, string location)
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal(location, response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Unknown_project_is_404()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await SimulatorTestHost.GetWithAcceptAsync(client, "simple/no-such-project/", SimulatorTestHost.PipAccept);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Root_index_lists_every_fixture_project_in_both_formats()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        string[] expected = ["gh-demo", "gh-dep", "gh-evil", "gh-yanked"];

        using var jsonResponse = await SimulatorTestHost.GetWithAcceptAsync(client, "simple/", SimulatorTestHost.PipAccept);
        using var json = JsonDocument.Parse(await jsonResponse.Content.ReadAsStringAsync());
        var html = await client.GetStringAsync("simple/");

        Assert.Equal(expected, json.RootElement.GetProperty("projects").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.Equal(expected, Regex.Matches(html, "<a href=\"/simple/([^/]+)/\">").Select(m => m.Groups[1].Value));
    }
}
