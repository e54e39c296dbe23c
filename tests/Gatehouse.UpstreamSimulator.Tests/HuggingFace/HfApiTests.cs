using System.Net;
using System.Text;
using System.Text.Json;
using static Gatehouse.UpstreamSimulator.Tests.HuggingFace.HfTestHost;
using static Gatehouse.TestHelpers.ResponseHeaders;

namespace Gatehouse.UpstreamSimulator.Tests.HuggingFace;

public class HfApiTests
{
    [Fact]
    public async Task Model_info_has_the_hub_fields_and_the_main_commit()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await client.GetAsync($"api/models/{Model}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await JsonAsync(response);
        Assert.Equal(Model, json.GetProperty("id").GetString());
        Assert.Equal(MainHead(Model), json.GetProperty("sha").GetString());
        Assert.Matches("^[0-9a-f]{40}$", json.GetProperty("sha").GetString());
        Assert.False(json.GetProperty("gated").GetBoolean());
        Assert.False(json.GetProperty("private").GetBoolean());
        Assert.Equal("apache-2.0", json.GetProperty("cardData").GetProperty("license").GetString());
        Assert.Equal("2026-01-01T00:00:00.000Z", json.GetProperty("lastModified").GetString());
        var siblings = json.GetProperty("siblings").EnumerateArray().Select(s => s.GetProperty("rfilename").GetString()).Order().ToList();
        Assert.Equal(["README.md", "config.json", "evil.bin", "model.safetensors", "pytorch_model.bin"], siblings);
    }

    [Theory]
    [InlineData("v1.0", 0)]
    [InlineData("main", 0)]
    [InlineData("refs%2Fpr%2F1", 1)]
    [InlineData("refs/pr/1", 1)]
    [InlineData("refs%2Fheads%2Fmain", 0)]
    [InlineData("COMMIT1", 1)]
    public async Task Revision_endpoint_resolves_branches_tags_prs_and_commits(string revision, int commitIndex)
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        revision = revision.Replace("COMMIT1", CommitId(Model, 1), StringComparison.Ordinal);

        using var response = await client.GetAsync($"api/models/{Model}/revision/{revision}?expand=sha");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(CommitId(Model, commitIndex), (await JsonAsync(response)).GetProperty("sha").GetString());
    }

    [Fact]
    public async Task Blobs_true_adds_sizes_blob_ids_and_lfs_to_siblings()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        var json = await JsonAsync(await client.GetAsync($"api/models/{Model}?blobs=true"));
        var st = json.GetProperty("siblings").EnumerateArray().Single(s => s.GetProperty("rfilename").GetString() == "model.safetensors");
        var manifest = ManifestFile(Model, "model.safetensors");
        Assert.Equal(manifest.GetProperty("size").GetInt64(), st.GetProperty("size").GetInt64());
        Assert.Equal(manifest.GetProperty("oid").GetString(), st.GetProperty("blobId").GetString());
        Assert.Equal(manifest.GetProperty("lfs").GetProperty("oid").GetString(), st.GetProperty("lfs").GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task Unknown_repo_is_RepoNotFound_401_anonymous_and_404_with_a_token()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var anonymous = await client.GetAsync("api/models/nobody/nothing");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("RepoNotFound", RequiredHeader(anonymous, "X-Error-Code"));
        Assert.False(string.IsNullOrEmpty((await JsonAsync(anonymous)).GetProperty("error").GetString()));

        using var withToken = await SendAsync(client, HttpMethod.Get, "api/datasets/nobody/nothing", r => r.Headers.Add("Authorization", "Bearer hf_x"));
        Assert.Equal(HttpStatusCode.NotFound, withToken.StatusCode);
        Assert.Equal("RepoNotFound", RequiredHeader(withToken, "X-Error-Code"));

        using var resolve = await SendAsync(client, HttpMethod.Head, "nobody/nothing/resolve/main/config.json");
        Assert.Equal("RepoNotFound", RequiredHeader(resolve, "X-Error-Code"));
    }

    [Fact]
    public async Task Unknown_revision_is_404_RevisionNotFound()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        foreach (var path in new[]
                 {
                     $"api/models/{Model}/revision/nope", $"api/models/{Model}/tree/nope", $"{Model}/resolve/nope/config.json",
                     $"api/models/{Model}/revision/{new string('a', 40)}",
                 })
        {
            using var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("RevisionNotFound", RequiredHeader(response, "X-Error-Code"));
        }
    }

    [Fact]
    public async Task Tree_is_paginated_with_an_absolute_Link_next_and_lfs_entries_carry_xetHash()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        await PostAsync(client, "_sim/hf/page-size?n=2");

        var entries = new List<JsonElement>();
        var url = $"api/models/{Model}/tree/main?recursive=true&expand=false";
        var pages = 0;
        while (url is not null)
        {
            using var response = await client.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = (await JsonAsync(response)).EnumerateArray().ToList();
            Assert.True(page.Count <= 2);
            entries.AddRange(page);
            pages++;
            url = null;
            if (response.Headers.TryGetValues("Link", out var links))
            {
                var link = Assert.Single(links);
                Assert.EndsWith("; rel=\"next\"", link);
                url = link[1..link.IndexOf('>')];
                Assert.StartsWith(sim.BaseAddress.ToString().TrimEnd('/'), url);
                Assert.Contains("recursive=true", url);
            }
        }

        Assert.Equal(3, pages);
        Assert.Equal(5, entries.Count);
        var st = entries.Single(e => e.GetProperty("path").GetString() == "model.safetensors");
        var manifest = ManifestFile(Model, "model.safetensors");
        Assert.Equal("file", st.GetProperty("type").GetString());
        Assert.Equal(manifest.GetProperty("oid").GetString(), st.GetProperty("oid").GetString());
        Assert.Equal(manifest.GetProperty("lfs").GetProperty("oid").GetString(), st.GetProperty("lfs").GetProperty("oid").GetString());
        Assert.True(st.GetProperty("lfs").GetProperty("pointerSize").GetInt64() > 0);
        Assert.Matches("^[0-9a-f]{64}$", st.GetProperty("xetHash").GetString());
        var config = entries.Single(e => e.GetProperty("path").GetString() == "config.json");
        Assert.False(config.TryGetProperty("lfs", out _));
        Assert.False(config.TryGetProperty("xetHash", out _));
    }

    [Fact]
    public async Task Dataset_tree_lists_folders_and_accepts_an_encoded_sub_path()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        var root = (await JsonAsync(await client.GetAsync($"api/datasets/{Dataset}/tree/main"))).EnumerateArray().ToList();
        Assert.Contains(root, e => e.GetProperty("path").GetString() == "data" && e.GetProperty("type").GetString() == "directory");
        Assert.DoesNotContain(root, e => e.GetProperty("path").GetString() == "data/train.csv");

        var recursive = (await JsonAsync(await client.GetAsync($"api/datasets/{Dataset}/tree/v1.0?recursive=True"))).EnumerateArray().ToList();
        Assert.Contains(recursive, e => e.GetProperty("path").GetString() == "data/train.csv");

        var sub = (await JsonAsync(await client.GetAsync($"api/datasets/{Dataset}/tree/main/data?expand=true"))).EnumerateArray().Single();
        Assert.Equal("data/train.csv", sub.GetProperty("path").GetString());
        Assert.Equal(MainHead(Dataset), sub.GetProperty("lastCommit").GetProperty("id").GetString());

        using var missing = await client.GetAsync($"api/datasets/{Dataset}/tree/main/nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("EntryNotFound", RequiredHeader(missing, "X-Error-Code"));
    }

    [Fact]
    public async Task Paths_info_accepts_a_form_body()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var form = new FormUrlEncodedContent([new("paths", "config.json"), new("paths", "model.safetensors"), new("paths", "missing.txt"), new("expand", "True")]);
        using var response = await client.PostAsync($"api/models/{Model}/paths-info/main", form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var entries = (await JsonAsync(response)).EnumerateArray().ToList();
        Assert.Equal(["config.json", "model.safetensors"], entries.Select(e => e.GetProperty("path").GetString()));
        Assert.All(entries, e => Assert.Equal(MainHead(Model), e.GetProperty("lastCommit").GetProperty("id").GetString()));
        Assert.True(entries[1].TryGetProperty("xetHash", out _));
    }

    [Fact]
    public async Task Paths_info_accepts_a_json_body_for_a_pr_revision()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var body = new StringContent("""{"paths":["config.json","data"],"expand":false}""", Encoding.UTF8, "application/json");
        using var response = await client.PostAsync($"api/models/{Model}/paths-info/refs%2Fpr%2F1", body);
        var entry = Assert.Single((await JsonAsync(response)).EnumerateArray());
        Assert.Equal(ManifestFile(Model, "config.json", 1).GetProperty("oid").GetString(), entry.GetProperty("oid").GetString());
        Assert.False(entry.TryGetProperty("lastCommit", out _));

        using var dataset = new StringContent("""{"paths":["data"],"expand":true}""", Encoding.UTF8, "application/json");
        var dir = Assert.Single((await JsonAsync(await client.PostAsync($"api/datasets/{Dataset}/paths-info/main", dataset))).EnumerateArray());
        Assert.Equal("directory", dir.GetProperty("type").GetString());
    }
}
