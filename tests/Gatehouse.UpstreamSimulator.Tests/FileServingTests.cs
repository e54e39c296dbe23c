using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gatehouse.UpstreamSimulator.Tests;

public class FileServingTests
{
    [Fact]
    public async Task Every_hash_in_the_json_index_equals_the_sha256_of_the_served_bytes()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var checkedFiles = 0;

        foreach (var project in new[] { "gh-demo", "gh-dep", "gh-evil", "gh-yanked" })
        {
            using var response = await SimulatorTestHost.GetWithAcceptAsync(client, $"simple/{project}/", SimulatorTestHost.PipAccept);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            foreach (var file in json.RootElement.GetProperty("files").EnumerateArray())
            {
                var bytes = await client.GetByteArrayAsync(file.GetProperty("url").GetString());
                Assert.Equal(file.GetProperty("hashes").GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
                Assert.Equal(file.GetProperty("size").GetInt64(), bytes.LongLength);
                checkedFiles++;
            }
        }

        Assert.Equal(7, checkedFiles);
    }

    [Fact]
    public async Task Html_sha256_fragment_matches_the_served_bytes()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        var html = await client.GetStringAsync("simple/gh-evil/");
        var link = Regex.Match(html, "href=\"([^\"#]+)#sha256=([0-9a-f]{64})\"");
        var bytes = await client.GetByteArrayAsync(link.Groups[1].Value);

        Assert.Equal(link.Groups[2].Value, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    [Fact]
    public async Task Core_metadata_file_matches_its_advertised_hash_and_the_wheel_METADATA()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var file = sim.State.FindFile("gh_demo-1.0.0-py3-none-any.whl")!;

        using var response = await client.GetAsync(sim.FileUrl(file.Filename) + ".metadata");
        var bytes = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(file.CoreMetadataSha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        var text = System.Text.Encoding.UTF8.GetString(bytes);
        Assert.Contains("Metadata-Version: 2.1", text);
        Assert.Contains("Requires-Dist: gh-dep>=1.0", text);
    }

    [Fact]
    public async Task Sdists_have_no_metadata_file()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await client.GetAsync(sim.FileUrl("gh_demo-1.0.0.tar.gz") + ".metadata");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Range_request_returns_206_with_exactly_the_requested_slice()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var file = sim.State.FindFile("gh_dep-1.0.0-py3-none-any.whl")!;
        var whole = await File.ReadAllBytesAsync(file.PhysicalPath);

        using var request = new HttpRequestMessage(HttpMethod.Get, sim.FileUrl(file.Filename));
        request.Headers.Range = new RangeHeaderValue(100, 199);
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes 100-199/{whole.Length}", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(whole[100..200], await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Resume_from_an_offset_returns_the_rest_of_the_file()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var file = sim.State.FindFile("gh_evil-1.0.0-py3-none-any.whl")!;
        var whole = await File.ReadAllBytesAsync(file.PhysicalPath);

        using var request = new HttpRequestMessage(HttpMethod.Get, sim.FileUrl(file.Filename));
        request.Headers.Range = new RangeHeaderValue(500, null);
        request.Headers.IfRange = new RangeConditionHeaderValue($"\"{file.Digests.Sha256}\"");
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(whole[500..], await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task If_range_with_a_stale_etag_gets_the_whole_file()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var file = sim.State.FindFile("gh_evil-1.0.0-py3-none-any.whl")!;

        using var request = new HttpRequestMessage(HttpMethod.Get, sim.FileUrl(file.Filename));
        request.Headers.Range = new RangeHeaderValue(500, null);
        request.Headers.IfRange = new RangeConditionHeaderValue("\"something-else\"");
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(file.Size, (await response.Content.ReadAsByteArrayAsync()).LongLength);
    }

    [Fact]
    public async Task Range_past_the_end_is_416_with_the_full_length()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var file = sim.State.FindFile("gh_dep-1.0.0-py3-none-any.whl")!;

        using var request = new HttpRequestMessage(HttpMethod.Get, sim.FileUrl(file.Filename));
        request.Headers.Range = new RangeHeaderValue(file.Size, null);
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal($"bytes */{file.Size}", response.Content.Headers.ContentRange?.ToString());
    }

    [Fact]
    public async Task Head_reports_length_and_range_support_without_a_body()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var file = sim.State.FindFile("gh_demo-1.0.0.tar.gz")!;

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, sim.FileUrl(file.Filename)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(file.Size, response.Content.Headers.ContentLength);
        Assert.Contains("bytes", response.Headers.AcceptRanges);
        Assert.Equal($"\"{file.Digests.Sha256}\"", response.Headers.ETag?.Tag);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task File_url_with_a_wrong_hash_path_is_404()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var zeros = new string('0', 64);

        using var response = await client.GetAsync($"packages/00/00/{zeros}/gh_demo-1.0.0-py3-none-any.whl");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
