using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;

namespace Gatehouse.UpstreamSimulator.Tests;

public class ControlPlaneTests
{
    private const string Wheel = "gh_demo-1.0.0-py3-none-any.whl";

    [Fact]
    public async Task Tampered_file_differs_from_the_advertised_hash()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var file = sim.State.FindFile(Wheel)!;

        using var tamper = await client.PostAsync($"_sim/tamper?file={Wheel}", null);
        var served = await client.GetByteArrayAsync(sim.FileUrl(Wheel));
        using var index = await SimulatorTestHost.GetWithAcceptAsync(client, "simple/gh-demo/", SimulatorTestHost.PipAccept);
        var advertised = JsonDocument.Parse(await index.Content.ReadAsStringAsync()).RootElement
            .GetProperty("files").EnumerateArray().Single(f => f.GetProperty("filename").GetString() == Wheel)
            .GetProperty("hashes").GetProperty("sha256").GetString();

        Assert.Equal(HttpStatusCode.OK, tamper.StatusCode);
        Assert.Equal(file.Digests.Sha256, advertised);
        Assert.Equal(file.Size, served.LongLength);
        Assert.NotEqual(advertised, Convert.ToHexStringLower(SHA256.HashData(served)));
        var original = await File.ReadAllBytesAsync(file.PhysicalPath);
        Assert.Single(Enumerable.Range(0, original.Length), i => original[i] != served[i]);
    }

    [Fact]
    public async Task Tampering_an_unknown_file_is_404()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await client.PostAsync("_sim/tamper?file=nope.whl", null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task While_down_every_request_outside_the_control_plane_gets_503()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var down = await client.PostAsync("_sim/down", null);
        using var index = await client.GetAsync("simple/gh-demo/");
        using var file = await client.GetAsync(sim.FileUrl(Wheel));
        using var jsonApi = await client.GetAsync("pypi/gh-demo/json");
        using var stats = await client.GetAsync("_sim/stats");

        Assert.Equal(HttpStatusCode.OK, down.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, index.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, file.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, jsonApi.StatusCode);
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
    }

    [Fact]
    public async Task Up_ends_the_outage()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        (await client.PostAsync("_sim/down", null)).Dispose();
        (await client.PostAsync("_sim/up", null)).Dispose();
        using var index = await client.GetAsync("simple/gh-demo/");

        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
    }

    [Fact]
    public async Task Stats_count_get_requests_that_sent_a_body_but_not_head_requests()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var url = sim.FileUrl(Wheel);

        (await SimulatorTestHost.GetWithAcceptAsync(client, "simple/gh-demo/", SimulatorTestHost.PipAccept)).Dispose();
        (await client.GetAsync("simple/GH_Demo/")).Dispose(); // a redirect sends no body
        (await client.GetAsync(url)).Dispose();
        (await client.GetAsync(url)).Dispose();
        (await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url))).Dispose();
        (await client.GetAsync(url + ".metadata")).Dispose();
        (await client.GetAsync("pypi/gh-demo/json")).Dispose();
        using var stats = JsonDocument.Parse(await client.GetStringAsync("_sim/stats"));

        var root = stats.RootElement;
        Assert.Equal(2, root.GetProperty("fileFetches").GetProperty(Wheel).GetInt32());
        Assert.Equal(1, root.GetProperty("metadataFetches").GetProperty(Wheel).GetInt32());
        Assert.Equal(1, root.GetProperty("indexFetches").GetProperty("gh-demo").GetInt32());
        Assert.Equal(1, root.GetProperty("jsonFetches").GetProperty("gh-demo").GetInt32());
        Assert.False(root.GetProperty("fileFetches").TryGetProperty("gh_demo-1.0.0.tar.gz", out _));
    }

    [Fact]
    public async Task Reset_zeroes_counters_and_clears_every_toggle()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        (await client.GetAsync(sim.FileUrl(Wheel))).Dispose();
        (await client.PostAsync($"_sim/tamper?file={Wheel}", null)).Dispose();
        (await client.PostAsync("_sim/delay?ms=5000", null)).Dispose();
        (await client.PostAsync("_sim/down", null)).Dispose();
        using var reset = await client.PostAsync("_sim/reset", null);
        var bytes = await client.GetByteArrayAsync(sim.FileUrl(Wheel));

        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        Assert.Equal(sim.State.FindFile(Wheel)!.Digests.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        var stats = sim.State.GetStats();
        Assert.False(stats.Down);
        Assert.Equal(0, stats.DelayMs);
        Assert.Empty(stats.Tampered);
        Assert.Equal(1, stats.FileFetches[Wheel]);
    }

    [Fact]
    public async Task Delay_holds_back_file_bodies_and_the_fetch_is_counted_once_the_body_starts()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        (await client.PostAsync("_sim/delay?ms=400", null)).Dispose();
        var stopwatch = Stopwatch.StartNew();
        using var response = await client.GetAsync(sim.FileUrl(Wheel), HttpCompletionOption.ResponseHeadersRead);
        var countedBeforeBody = sim.State.GetStats().FileFetches.GetValueOrDefault(Wheel);
        await response.Content.ReadAsByteArrayAsync();

        Assert.True(stopwatch.ElapsedMilliseconds >= 350, $"took {stopwatch.ElapsedMilliseconds} ms");
        Assert.Equal(0, countedBeforeBody);
        Assert.Equal(1, sim.State.GetStats().FileFetches[Wheel]);
    }

    [Fact]
    public async Task Concurrent_downloads_during_a_delay_all_complete_and_are_each_counted()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        sim.State.FileDelay = TimeSpan.FromMilliseconds(200);
        var expected = sim.State.FindFile(Wheel)!.Digests.Sha256;

        var downloads = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetByteArrayAsync(sim.FileUrl(Wheel))));

        Assert.All(downloads, bytes => Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(bytes))));
        Assert.Equal(20, sim.State.GetStats().FileFetches[Wheel]);
    }

    [Fact]
    public async Task Client_that_gives_up_during_a_delay_is_not_counted_and_the_simulator_keeps_serving()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        sim.State.FileDelay = TimeSpan.FromSeconds(30);

        using (var response = await client.GetAsync(sim.FileUrl(Wheel), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        } // disposing the unread response aborts the connection mid-download

        await Task.Delay(200);
        sim.State.FileDelay = TimeSpan.Zero;
        var bytes = await client.GetByteArrayAsync(sim.FileUrl(Wheel));

        Assert.Equal(sim.State.FindFile(Wheel)!.Size, bytes.LongLength);
        Assert.Equal(1, sim.State.GetStats().FileFetches[Wheel]);
    }

    [Fact]
    public async Task Stopping_with_a_stalled_download_in_flight_breaks_the_transfer_promptly()
    {
        var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        sim.State.FileDelay = TimeSpan.FromMinutes(5);
        using var response = await client.GetAsync(sim.FileUrl(Wheel), HttpCompletionOption.ResponseHeadersRead);
        var body = response.Content.ReadAsByteArrayAsync();

        var stopwatch = Stopwatch.StartNew();
        await sim.DisposeAsync();

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(4), $"stop took {stopwatch.Elapsed}");
        await Assert.ThrowsAnyAsync<Exception>(() => body); // a truncated body is an error, never a short "complete" file
    }

    [Fact]
    public async Task Invalid_control_requests_are_400()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var delay = await client.PostAsync("_sim/delay?ms=soon", null);
        using var synthetic = await client.PostAsync("_sim/synthetic?project=x", null);
        using var badName = await client.PostAsync("_sim/synthetic?project=-bad-&version=1.0&size=10", null);

        Assert.Equal(HttpStatusCode.BadRequest, delay.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, synthetic.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
    }

    [Fact]
    public async Task A_flood_fault_sends_a_chunked_body_of_that_size_on_its_prefix_only()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var set = await client.PostAsync("_sim/fault?path=/simple/gh-demo/&kind=flood&bytes=300000", null);
        using var flooded = await client.GetAsync("simple/gh-demo/", HttpCompletionOption.ResponseHeadersRead);
        using var other = await client.GetAsync("simple/gh-dep/");
        var declared = flooded.Content.Headers.ContentLength;
        var body = await flooded.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Null(declared);
        Assert.True(flooded.Headers.TransferEncodingChunked);
        Assert.Equal(300_000, body.Length);
        Assert.Contains("gh_dep", await other.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_short_fault_declares_more_than_it_sends_and_the_client_sees_the_body_break_off()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var set = await client.PostAsync("_sim/fault?path=/pypi/gh-demo/json&kind=short&bytes=100000", null);
        using var response = await client.GetAsync("pypi/gh-demo/json", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(100_000, response.Content.Headers.ContentLength);
        await Assert.ThrowsAnyAsync<Exception>(() => response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_redirect_fault_points_elsewhere_and_bad_faults_are_400()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var set = await client.PostAsync("_sim/fault?path=/simple/&kind=redirect&location=http://elsewhere.invalid/simple/", null);
        using var redirected = await client.GetAsync("simple/gh-demo/");
        using var noKind = await client.PostAsync("_sim/fault?path=/simple/", null);
        using var noBytes = await client.PostAsync("_sim/fault?path=/simple/&kind=flood", null);
        using var controlPlane = await client.PostAsync("_sim/fault?path=/_sim/stats&kind=flood&bytes=1", null);

        Assert.Equal(HttpStatusCode.Found, redirected.StatusCode);
        Assert.Equal("http://elsewhere.invalid/simple/", redirected.Headers.Location?.ToString());
        Assert.Equal(HttpStatusCode.BadRequest, noKind.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noBytes.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, controlPlane.StatusCode);
    }

    [Fact]
    public async Task A_file_given_provenance_lists_it_in_both_index_formats_and_serves_the_document()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var before = await SimulatorTestHost.GetWithAcceptAsync(client, "simple/gh-demo/", SimulatorTestHost.PipAccept);
        using var set = await client.PostAsync($"_sim/provenance?file={Wheel}", null);
        using var json = await SimulatorTestHost.GetWithAcceptAsync(client, "simple/gh-demo/", SimulatorTestHost.PipAccept);
        using var html = await SimulatorTestHost.GetWithAcceptAsync(client, "simple/gh-demo/", "text/html");
        using var unknown = await client.PostAsync("_sim/provenance?file=nope.whl", null);

        Assert.Equal(JsonValueKind.Null, Provenance(await before.Content.ReadAsStringAsync()).ValueKind);
        var url = Provenance(await json.Content.ReadAsStringAsync()).GetString()!;
        Assert.EndsWith($"/integrity/gh-demo/1.0.0/{Wheel}/provenance", url, StringComparison.Ordinal);
        Assert.Contains($"data-provenance=\"{url}\"", await html.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var document = JsonDocument.Parse(await client.GetStringAsync(url)).RootElement;
        Assert.Equal(1, document.GetProperty("version").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var other = await client.GetAsync("integrity/gh-dep/1.0.0/gh_dep-1.0.0-py3-none-any.whl/provenance");
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);

        static JsonElement Provenance(string index) => JsonDocument.Parse(index).RootElement.GetProperty("files").EnumerateArray()
            .Single(f => f.GetProperty("filename").GetString() == Wheel).GetProperty("provenance");
    }
}
