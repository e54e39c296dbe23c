using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using static Gatehouse.EndToEnd.Tests.Infrastructure.HubResponses;
using static Gatehouse.TestHelpers.ResponseHeaders;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Revision pinning through Gatehouse: a branch is resolved upstream on every request, so when the Hub moves
/// <c>main</c> the next resolve serves the new commit's bytes under the new <c>X-Repo-Commit</c>, while a commit id, a
/// tag and <c>refs/pr/N</c> keep serving exactly their own commit. huggingface_hub files what it gets under that
/// commit (<c>refs/&lt;rev&gt;</c>, <c>snapshots/&lt;commit&gt;/</c>) and asks nothing again for a cached commit id
/// (<c>file_download.py</c>). Each test moves a branch on its own simulator, so it starts its own Gatehouse.
/// </summary>
public sealed class HuggingFacePinningTests(ITestOutputHelper output)
{
    private const string Model = "gatehouse-demo/tiny-model";
    private static readonly UriCreationOptions Verbatim = new() { DangerousDisablePathAndQueryCanonicalization = true };

    [Fact]
    public async Task Moving_main_upstream_moves_what_main_resolves_to_while_a_commit_a_tag_and_a_pr_ref_stay_pinned()
    {
        var fixture = ModelFixture.Load();
        var commitA = fixture.Main;
        var commitB = fixture.Pr1;
        Assert.NotEqual(commitA, commitB);
        Assert.NotEqual(fixture.ConfigSha1[commitA], fixture.ConfigSha1[commitB]); // the PR commit changes config.json

        await using var stack = await GatehouseStack.StartAsync("hfpinning");
        await stack.RunAsync(output, async () =>
        {
            using var client = stack.CreateHfClient();

            // Before: main is A.
            var (headA, bytesA) = await ResolveAsync(client, stack, "main", "config.json");
            Assert.Equal(commitA, headA.Commit);
            Assert.Equal($"\"{fixture.ConfigSha1[commitA]}\"", headA.ETag);
            Assert.Equal(fixture.ConfigBytes(commitA), bytesA);
            Assert.Equal(commitA, await ApiShaAsync(client, stack, "revision/main"));

            // The Hub moves main to B (a push).
            await SimPostAsync(stack, $"_sim/hf/move-branch?repo={Uri.EscapeDataString(Model)}&branch=main&commit={commitB}");

            // After: main is B, for resolve and for the API.
            var (headB, bytesB) = await ResolveAsync(client, stack, "main", "config.json");
            Assert.Equal(commitB, headB.Commit);
            Assert.Equal($"\"{fixture.ConfigSha1[commitB]}\"", headB.ETag);
            Assert.Equal(fixture.ConfigBytes(commitB), bytesB);
            Assert.Equal(commitB, await ApiShaAsync(client, stack, "revision/main"));
            Assert.Equal(commitB, await ApiShaAsync(client, stack, ""));

            // A client revalidating its cached main/config.json with A's ETag must get B, not 304.
            using (var revalidate = new HttpRequestMessage(HttpMethod.Get, Raw(stack, $"hf/{Model}/resolve/main/config.json")))
            {
                revalidate.Headers.IfNoneMatch.Add(new EntityTagHeaderValue($"\"{fixture.ConfigSha1[commitA]}\""));
                using var response = await client.SendAsync(revalidate);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal(commitB, Header(response, "X-Repo-Commit"));
                Assert.Equal(fixture.ConfigBytes(commitB), await response.Content.ReadAsByteArrayAsync());
            }

            // A commit id still serves A (snapshots/<A>/ is immutable for the client).
            var (pinned, pinnedBytes) = await ResolveAsync(client, stack, commitA, "config.json");
            Assert.Equal(commitA, pinned.Commit);
            Assert.Equal($"\"{fixture.ConfigSha1[commitA]}\"", pinned.ETag);
            Assert.Equal(fixture.ConfigBytes(commitA), pinnedBytes);

            // The tag was not moved: still A. The PR ref is B, encoded (as huggingface_hub sends it) or raw.
            foreach (var (revision, commit) in new[] { ("v1.0", fixture.Tags["v1.0"]), ("refs%2Fpr%2F1", commitB), ("refs/pr/1", commitB) })
            {
                var (head, bytes) = await ResolveAsync(client, stack, revision, "config.json");
                Assert.True(commit == head.Commit, $"{revision}: X-Repo-Commit {head.Commit}, expected {commit}");
                Assert.Equal(fixture.ConfigBytes(commit), bytes);
            }
            Assert.Equal(commitA, await ApiShaAsync(client, stack, "revision/v1.0"));
            Assert.Equal(commitB, await ApiShaAsync(client, stack, "revision/refs%2Fpr%2F1"));

            // An LFS file unchanged between the commits is served under whichever commit was asked for.
            var (lfsAtA, _) = await ResolveAsync(client, stack, commitA, "model.safetensors");
            var (lfsAtMain, _) = await ResolveAsync(client, stack, "main", "model.safetensors");
            Assert.Equal(commitA, lfsAtA.Commit);
            Assert.Equal(commitB, lfsAtMain.Commit);
            Assert.Equal(lfsAtA.LinkedEtag, lfsAtMain.LinkedEtag);
            Assert.Equal($"\"{fixture.SafetensorsSha256}\"", lfsAtMain.LinkedEtag);
        });
    }

    private sealed record ResolveHead(string? Commit, string? ETag, string? LinkedEtag);

    /// <summary>HEAD then GET of a resolve URL (retrying while the scan is pending, as huggingface_hub does).</summary>
    private async Task<(ResolveHead Head, byte[] Bytes)> ResolveAsync(HttpClient client, GatehouseStack stack, string revision, string path)
    {
        var url = Raw(stack, $"hf/{Model}/resolve/{revision}/{path}");
        ResolveHead head;
        using (var response = await SendUntilDecidedAsync(client, () => new HttpRequestMessage(HttpMethod.Head, url), output))
        {
            output.WriteLine($"HEAD {url} → {(int)response.StatusCode} X-Repo-Commit {Header(response, "X-Repo-Commit")}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            head = new ResolveHead(Header(response, "X-Repo-Commit"), Header(response, "ETag"), Header(response, "X-Linked-Etag"));
        }
        using var get = await client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(head.Commit, Header(get, "X-Repo-Commit"));
        return (head, await get.Content.ReadAsByteArrayAsync());
    }


    /// <summary>The <c>sha</c> of <c>GET /hf/api/models/{repo}[/{suffix}]</c>.</summary>
    private static async Task<string?> ApiShaAsync(HttpClient client, GatehouseStack stack, string suffix)
    {
        using var response = await client.GetAsync(Raw(stack, $"hf/api/models/{Model}" + (suffix.Length > 0 ? "/" + suffix : "")));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"api {suffix}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("sha").GetString();
    }

    private static Uri Raw(GatehouseStack stack, string relative) =>
        new(stack.BaseAddress.GetLeftPart(UriPartial.Authority) + "/" + relative, in Verbatim);

    private static async Task SimPostAsync(GatehouseStack stack, string path)
    {
        using var sim = new HttpClient { BaseAddress = stack.Simulator.BaseAddress };
        using var response = await sim.PostAsync(path, null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path} answered {(int)response.StatusCode}: {body}");
        var stats = JsonDocument.Parse(body).RootElement;
        Assert.True(stats.TryGetProperty("branches", out _), body);
    }

    /// <summary>The demo model's refs and its config.json per commit, from <c>tests/fixtures/hf/repos.json</c>.</summary>
    private sealed record ModelFixture(
        string Main, string Pr1, IReadOnlyDictionary<string, string> Tags, IReadOnlyDictionary<string, string> ConfigSha1, string SafetensorsSha256)
    {
        private static string Folder => Path.Combine(TestEnvironment.RepoRoot, "tests", "fixtures", "hf");

        public byte[] ConfigBytes(string commit) => File.ReadAllBytes(Path.Combine(Folder, "objects", ConfigSha1[commit]));

        public static ModelFixture Load()
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "repos.json")));
            var repo = doc.RootElement.GetProperty("repos").EnumerateArray().Single(r => r.GetProperty("id").GetString() == Model);
            var refs = repo.GetProperty("refs");
            var configs = new Dictionary<string, string>();
            string? safetensors = null;
            foreach (var commit in repo.GetProperty("commits").EnumerateArray())
            {
                foreach (var file in commit.GetProperty("files").EnumerateArray())
                {
                    switch (file.GetProperty("path").GetString())
                    {
                        case "config.json":
                            configs[commit.GetProperty("id").GetString()!] = file.GetProperty("sha1").GetString()!;
                            break;
                        case "model.safetensors":
                            safetensors = file.GetProperty("lfs").GetProperty("oid").GetString();
                            break;
                    }
                }
            }
            return new ModelFixture(
                refs.GetProperty("branches").GetProperty("main").GetString()!,
                refs.GetProperty("pulls").GetProperty("refs/pr/1").GetString()!,
                refs.GetProperty("tags").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                configs,
                safetensors!);
        }
    }
}
