using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.TestHelpers;
using static Gatehouse.UpstreamSimulator.Tests.HuggingFace.HfTestHost;
using static Gatehouse.TestHelpers.ResponseHeaders;

namespace Gatehouse.UpstreamSimulator.Tests.HuggingFace;

public class HfFileTests
{
    [Fact]
    public async Task Head_of_a_small_file_answers_directly_with_git_sha1_etag_and_commit()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var manifest = ManifestFile(Model, "config.json");

        using var head = await SendAsync(client, HttpMethod.Head, $"{Model}/resolve/main/config.json");
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal($"\"{manifest.GetProperty("sha1").GetString()}\"", RequiredHeader(head, "ETag"));
        Assert.Equal(MainHead(Model), RequiredHeader(head, "X-Repo-Commit"));
        Assert.Equal(manifest.GetProperty("size").GetInt64(), head.Content.Headers.ContentLength);
        Assert.Equal("bytes", RequiredHeader(head, "Accept-Ranges"));
        Assert.False(HasHeader(head, "X-Xet-Hash"));

        var bytes = await client.GetByteArrayAsync($"{Model}/resolve/main/config.json");
        Assert.Equal(manifest.GetProperty("sha1").GetString(), GitBlob.Sha1(bytes));
    }

    [Fact]
    public async Task Head_of_an_lfs_file_is_a_relative_302_with_linked_and_xet_headers()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var manifest = ManifestFile(Model, "model.safetensors");
        var sha256 = manifest.GetProperty("lfs").GetProperty("oid").GetString()!;

        using var head = await SendAsync(client, HttpMethod.Head, $"{Model}/resolve/main/model.safetensors", r => r.Headers.Add("Accept-Encoding", "identity"));
        Assert.Equal(HttpStatusCode.Found, head.StatusCode);
        var location = head.Headers.Location!;
        Assert.False(location.IsAbsoluteUri);
        Assert.Equal($"/cdn/lfs/{sha256}", location.OriginalString);
        Assert.Equal(MainHead(Model), RequiredHeader(head, "X-Repo-Commit"));
        Assert.Equal($"\"{sha256}\"", RequiredHeader(head, "X-Linked-Etag"));
        Assert.Equal(
            manifest.GetProperty("size").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), RequiredHeader(head, "X-Linked-Size"));
        Assert.Equal($"\"{manifest.GetProperty("oid").GetString()}\"", RequiredHeader(head, "ETag"));
        Assert.Equal(manifest.GetProperty("xetHash").GetString(), RequiredHeader(head, "X-Xet-Hash"));
        Assert.Contains("/xet-read-token/", RequiredHeader(head, "X-Xet-Refresh-Route"));
        var link = RequiredHeader(head, "Link");
        Assert.Contains("rel=\"xet-auth\"", link);
        Assert.Contains("rel=\"xet-reconstruction-info\"", link);

        using var get = await client.GetAsync($"{Model}/resolve/v1.0/model.safetensors");
        Assert.Equal(HttpStatusCode.Found, get.StatusCode);
        Assert.Equal($"/cdn/lfs/{sha256}", get.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Cdn_bytes_hash_to_the_manifest_lfs_oid_and_are_counted()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        foreach (var path in new[] { "model.safetensors", "pytorch_model.bin", "evil.bin" })
        {
            using var redirect = await client.GetAsync($"{Model}/resolve/main/{path}");
            var bytes = await client.GetByteArrayAsync(redirect.Headers.Location!.OriginalString.TrimStart('/'));
            var manifest = ManifestFile(Model, path);
            Assert.Equal(manifest.GetProperty("lfs").GetProperty("oid").GetString(), Sha256(bytes));
            Assert.Equal(manifest.GetProperty("sha1").GetString(), GitBlob.Sha1(bytes));
        }

        var stats = await JsonAsync(await client.GetAsync("_sim/hf/stats"));
        var evil = ManifestFile(Model, "evil.bin").GetProperty("lfs").GetProperty("oid").GetString()!;
        Assert.Equal(1, stats.GetProperty("cdnFetches").GetProperty(evil).GetInt32());
        Assert.Equal(1, stats.GetProperty("resolveGets").GetProperty($"models/{Model}/evil.bin").GetInt32());
    }

    [Fact]
    public async Task Range_requests_get_206_on_resolve_and_cdn()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var full = await client.GetByteArrayAsync($"datasets/{Dataset}/resolve/main/data/train.csv");

        using var small = await SendAsync(client, HttpMethod.Get, $"datasets/{Dataset}/resolve/main/data/train.csv", r => r.Headers.Range = new RangeHeaderValue(2, 5));
        Assert.Equal(HttpStatusCode.PartialContent, small.StatusCode);
        Assert.Equal($"bytes 2-5/{full.Length}", small.Content.Headers.ContentRange!.ToString());
        Assert.Equal(full[2..6], await small.Content.ReadAsByteArrayAsync());

        var sha256 = ManifestFile(Model, "pytorch_model.bin").GetProperty("lfs").GetProperty("oid").GetString()!;
        var blob = await client.GetByteArrayAsync($"cdn/lfs/{sha256}");
        using var cdn = await SendAsync(client, HttpMethod.Get, $"cdn/lfs/{sha256}", r => r.Headers.Range = new RangeHeaderValue(100, null));
        Assert.Equal(HttpStatusCode.PartialContent, cdn.StatusCode);
        Assert.Equal(blob[100..], await cdn.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Missing_file_is_EntryNotFound_with_the_commit()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        foreach (var method in new[] { HttpMethod.Head, HttpMethod.Get })
        {
            using var response = await SendAsync(client, method, $"{Model}/resolve/main/adapter_config.json");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("EntryNotFound", RequiredHeader(response, "X-Error-Code"));
            Assert.Equal(MainHead(Model), RequiredHeader(response, "X-Repo-Commit"));
        }
    }

    [Fact]
    public async Task Moving_main_changes_the_commit_while_the_old_commit_still_serves()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var first = CommitId(Model, 0);
        var second = CommitId(Model, 1);
        Assert.Equal(first, MainHead(Model));
        var before = await client.GetStringAsync($"{Model}/resolve/main/config.json");

        await PostAsync(client, $"_sim/hf/move-branch?repo={Model}&branch=main&commit={second}");

        Assert.Equal(second, (await JsonAsync(await client.GetAsync($"api/models/{Model}"))).GetProperty("sha").GetString());
        using var head = await SendAsync(client, HttpMethod.Head, $"{Model}/resolve/main/config.json");
        Assert.Equal(second, RequiredHeader(head, "X-Repo-Commit"));
        Assert.Equal($"\"{ManifestFile(Model, "config.json", 1).GetProperty("sha1").GetString()}\"", RequiredHeader(head, "ETag"));
        var after = await client.GetStringAsync($"{Model}/resolve/main/config.json");
        Assert.NotEqual(before, after);
        Assert.Equal(16, JsonDocument.Parse(after).RootElement.GetProperty("hidden_size").GetInt32());

        Assert.Equal(before, await client.GetStringAsync($"{Model}/resolve/{first}/config.json"));
        Assert.Equal(before, await client.GetStringAsync($"{Model}/resolve/v1.0/config.json"));

        await PostAsync(client, "_sim/hf/reset");
        Assert.Equal(before, await client.GetStringAsync($"{Model}/resolve/main/config.json"));

        using var bad = await client.PostAsync($"_sim/hf/move-branch?repo={Model}&branch=main&commit={new string('0', 40)}", null);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Tampered_files_keep_their_metadata_but_serve_other_bytes()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        await PostAsync(client, $"_sim/hf/tamper?repo={Model}&path=config.json");
        await PostAsync(client, $"_sim/hf/tamper?repo={Model}&path=model.safetensors");

        var config = ManifestFile(Model, "config.json");
        using var head = await SendAsync(client, HttpMethod.Head, $"{Model}/resolve/main/config.json");
        Assert.Equal($"\"{config.GetProperty("sha1").GetString()}\"", RequiredHeader(head, "ETag"));
        var bytes = await client.GetByteArrayAsync($"{Model}/resolve/main/config.json");
        Assert.Equal(config.GetProperty("size").GetInt64(), bytes.LongLength);
        Assert.NotEqual(config.GetProperty("sha1").GetString(), GitBlob.Sha1(bytes));

        var sha256 = ManifestFile(Model, "model.safetensors").GetProperty("lfs").GetProperty("oid").GetString()!;
        Assert.NotEqual(sha256, Sha256(await client.GetByteArrayAsync($"cdn/lfs/{sha256}")));

        using var missing = await client.PostAsync($"_sim/hf/tamper?repo={Model}&path=nope", null);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Dataset_routes_serve_info_and_files()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        var info = await JsonAsync(await client.GetAsync($"api/datasets/{Dataset}/revision/v1.0"));
        Assert.Equal(Dataset, info.GetProperty("id").GetString());
        Assert.Equal(MainHead(Dataset), info.GetProperty("sha").GetString());
        Assert.False(info.TryGetProperty("modelId", out _));

        var csv = await client.GetByteArrayAsync($"datasets/{Dataset}/resolve/main/data/train.csv");
        Assert.Equal(ManifestFile(Dataset, "data/train.csv").GetProperty("sha1").GetString(), GitBlob.Sha1(csv));
        Assert.StartsWith("text,label", Encoding.UTF8.GetString(csv));

        // The model route does not serve the dataset.
        using var wrongType = await client.GetAsync($"{Dataset}/resolve/main/data/train.csv");
        Assert.Equal("RepoNotFound", RequiredHeader(wrongType, "X-Error-Code"));
    }

    [Fact]
    public async Task Resolve_accepts_encoded_and_raw_pr_revisions()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        foreach (var rev in new[] { "refs%2Fpr%2F1", "refs/pr/1" })
        {
            using var head = await SendAsync(client, HttpMethod.Head, $"{Model}/resolve/{rev}/config.json");
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(CommitId(Model, 1), RequiredHeader(head, "X-Repo-Commit"));
        }
    }

    [Fact]
    public async Task Authorization_is_recorded_per_path_and_absence_is_recorded_too()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var sha256 = ManifestFile(Model, "evil.bin").GetProperty("lfs").GetProperty("oid").GetString()!;

        using var withToken = await SendAsync(client, HttpMethod.Head, $"{Model}/resolve/main/evil.bin", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "hf_client_secret"));
        using var cdn = await client.GetAsync($"cdn/lfs/{sha256}");

        var log = await JsonAsync(await client.GetAsync("_sim/hf/auth"));
        Assert.Equal("Bearer hf_client_secret", log.GetProperty($"/{Model}/resolve/main/evil.bin").GetString());
        Assert.Equal(JsonValueKind.Null, log.GetProperty($"/cdn/lfs/{sha256}").ValueKind);
    }

    [Fact]
    public async Task Global_down_toggle_covers_hf_routes()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        await PostAsync(client, "_sim/down");

        using var response = await client.GetAsync($"api/models/{Model}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        await PostAsync(client, "_sim/up");
        using var up = await client.GetAsync($"api/models/{Model}");
        Assert.Equal(HttpStatusCode.OK, up.StatusCode);
    }

    [Fact]
    public async Task If_none_match_gets_304_and_delay_holds_the_body_after_the_headers()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var sha1 = ManifestFile(Model, "README.md").GetProperty("sha1").GetString()!;

        using var notModified = await SendAsync(client, HttpMethod.Get, $"{Model}/resolve/main/README.md", r => r.Headers.TryAddWithoutValidation("If-None-Match", $"\"{sha1}\""));
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        await PostAsync(client, "_sim/delay?ms=400");
        var sha256 = ManifestFile(Model, "evil.bin").GetProperty("lfs").GetProperty("oid").GetString()!;
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"cdn/lfs/{sha256}");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var headersAt = started.Elapsed;
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(started.Elapsed - headersAt >= TimeSpan.FromMilliseconds(300), $"headers {headersAt}, body done {started.Elapsed}");
        Assert.Equal(sha256, Sha256(bytes));
    }

    [Fact]
    public void Manifest_hashes_match_the_fixture_objects()
    {
        foreach (var repo in Manifest.GetProperty("repos").EnumerateArray())
        {
            foreach (var commit in repo.GetProperty("commits").EnumerateArray())
            {
                Assert.Matches("^[0-9a-f]{40}$", commit.GetProperty("id").GetString());
                foreach (var file in commit.GetProperty("files").EnumerateArray())
                {
                    var bytes = System.IO.File.ReadAllBytes(Path.Combine(FixturesPath, "objects", file.GetProperty("sha1").GetString()!));
                    Assert.Equal(file.GetProperty("size").GetInt64(), bytes.LongLength);
                    Assert.Equal(file.GetProperty("sha1").GetString(), GitBlob.Sha1(bytes));
                    if (file.TryGetProperty("lfs", out var lfs))
                    {
                        Assert.Equal(lfs.GetProperty("oid").GetString(), Sha256(bytes));
                    }
                }
            }
        }
    }
}
