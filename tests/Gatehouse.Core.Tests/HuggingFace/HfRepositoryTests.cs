using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Configuration;
using Gatehouse.HuggingFace;
using Microsoft.Extensions.Options;

namespace Gatehouse.Core.Tests.HuggingFace;

/// <summary>What a prefetch reads from the Hub: a revision's commit, and every file of the tree across pages, checked.</summary>
public sealed class HfRepositoryTests
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";
    private static readonly string Sha256 = new('a', 64);

    private static HfRepository Repository(RecordingHub hub) =>
        new(new HuggingFaceUpstream(hub.Client, Options.Create(new GatehouseOptions { HuggingFace = new HuggingFaceOptions { Endpoint = "https://hub.example" } })));

    private static HttpResponseMessage Json(string json, string? link = null)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (link is not null)
        {
            response.Headers.TryAddWithoutValidation("Link", link);
        }
        return response;
    }

    [Fact]
    public async Task A_revision_resolves_to_the_sha_of_the_repository_info()
    {
        var hub = new RecordingHub(_ => Json($$"""{"id":"org/m","sha":"{{Commit}}","siblings":[]}"""));

        var found = await Repository(hub).ResolveCommitAsync("models", "org/m", "refs/pr/1", CancellationToken.None);

        Assert.Equal(Commit, found.Value);
        Assert.Equal(["/api/models/org/m/revision/refs%2Fpr%2F1"], hub.Paths);
    }

    [Fact]
    public async Task An_unknown_repository_is_a_404_with_the_hubs_code_even_when_the_hub_says_401()
    {
        var hub = new RecordingHub(_ => new HttpResponseMessage(HttpStatusCode.Unauthorized) { Headers = { { "X-Error-Code", "RepoNotFound" } } });

        var found = await Repository(hub).ResolveCommitAsync("models", "org/private", "main", CancellationToken.None);

        Assert.Null(found.Value);
        Assert.Equal((HttpStatusCode.NotFound, "RepoNotFound"), (found.Status, found.ErrorCode));
        Assert.Contains("org/private", found.Error);
    }

    [Fact]
    public async Task Files_are_listed_across_pages_on_the_hubs_host_and_folders_are_left_out()
    {
        var hub = new RecordingHub(r => r.RequestUri!.Query.Contains("cursor=2", StringComparison.Ordinal)
            ? Json($$$"""[{"type":"file","path":"b/weights.bin","size":133,"oid":"{{{new string('2', 40)}}}","lfs":{"oid":"{{{Sha256}}}","size":5000,"pointerSize":133}}]""")
            : Json($$"""[{"type":"directory","path":"b","oid":"{{new string('9', 40)}}","size":0},{"type":"file","path":"a.json","size":12,"oid":"{{new string('1', 40)}}"}]""",
                "<https://hub.example/api/models/org/m/tree/" + Commit + "?recursive=true&cursor=2>; rel=\"next\""));

        var listed = await Repository(hub).ListFilesAsync("models", "org/m", Commit, maxFiles: 10, maxPages: 10, CancellationToken.None);

        Assert.Equal(
            [new HfRepoFile("a.json", 12, new string('1', 40), null), new HfRepoFile("b/weights.bin", 5000, new string('2', 40), Sha256)],
            listed.Value);
        Assert.Equal(2, hub.Seen.Count);
        Assert.Equal($"/api/models/org/m/tree/{Commit}?recursive=true&expand=false", hub.Paths.First());
    }

    [Fact]
    public async Task A_next_page_on_another_host_is_not_followed()
    {
        var hub = new RecordingHub(_ => Json("""[]""", "<https://evil.example/api/models/org/m/tree/x?cursor=2>; rel=\"next\""));

        var listed = await Repository(hub).ListFilesAsync("models", "org/m", Commit, maxFiles: 10, maxPages: 10, CancellationToken.None);

        Assert.Empty(listed.Value!);
        Assert.Single(hub.Seen);
    }

    [Fact]
    public async Task A_repository_over_the_file_limit_is_refused_with_the_setting_to_change()
    {
        var entries = string.Join(",", Enumerable.Range(0, 4).Select(i => $$"""{"type":"file","path":"f{{i}}","size":1,"oid":"{{new string('1', 40)}}"}"""));
        var hub = new RecordingHub(_ => Json($"[{entries}]"));

        var listed = await Repository(hub).ListFilesAsync("models", "org/m", Commit, maxFiles: 3, maxPages: 10, CancellationToken.None);

        Assert.Null(listed.Value);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, listed.Status);
        Assert.Contains("Gatehouse__Prefetch__MaxFiles", listed.Error);
    }

    [Fact]
    public async Task An_upstream_answering_endless_empty_pages_is_followed_only_to_the_page_limit_and_refused_with_the_setting_to_change()
    {
        // Each page is empty and names a next page (an audit saw a prefetch follow 3,000 of them).
        var hub = new RecordingHub(r => Json("[]", $"<https://hub.example/api/models/org/m/tree/{Commit}?cursor={r.RequestUri!.Query.Length}>; rel=\"next\""));

        var listed = await Repository(hub).ListFilesAsync("models", "org/m", Commit, maxFiles: 10, maxPages: 25, CancellationToken.None);

        Assert.Null(listed.Value);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, listed.Status);
        Assert.Equal(25, hub.Seen.Count);
        Assert.Contains("did not end within 25 pages", listed.Error);
        Assert.Contains("Gatehouse__Prefetch__MaxTreePages", listed.Error);
    }

    [Theory]
    [InlineData("""{"type":"file","path":"../etc/passwd","size":1,"oid":"1111111111111111111111111111111111111111"}""")]
    [InlineData("""{"type":"file","path":"a","size":1,"oid":"not-a-sha1"}""")]
    [InlineData("""{"type":"file","path":"a","oid":"1111111111111111111111111111111111111111"}""")]
    [InlineData("""{"type":"file","path":"a","size":1,"oid":"1111111111111111111111111111111111111111","lfs":{"oid":"short","size":1}}""")]
    [InlineData("""{"type":"file","path":"a","size":"big","oid":"1111111111111111111111111111111111111111"}""")]
    public void Entries_that_cannot_be_verified_or_stored_safely_are_not_files(string json) =>
        Assert.Null(HfRepository.ParseFile(JsonNode.Parse(json)!));

    [Fact]
    public async Task A_listing_with_an_unverifiable_file_fails_instead_of_skipping_it()
    {
        var hub = new RecordingHub(_ => Json("""[{"type":"file","path":"../x","size":1,"oid":"1111111111111111111111111111111111111111"}]"""));

        var listed = await Repository(hub).ListFilesAsync("models", "org/m", Commit, maxFiles: 10, maxPages: 10, CancellationToken.None);

        Assert.Equal(HttpStatusCode.BadGateway, listed.Status);
        Assert.Contains("../x", listed.Error);
    }

    [Fact]
    public void A_refusal_names_the_rule_first_and_does_not_repeat_it()
    {
        Assert.Equal("Gatehouse refused evil.bin (rule pickle.dangerous-global): Blocked by Gatehouse: INST imports builtins.exec",
            HuggingFaceResolve.RefusalMessage("evil.bin", "pickle.dangerous-global", "Blocked by Gatehouse: INST imports builtins.exec (pickle.dangerous-global)"));
        Assert.Equal("Gatehouse refused a.bin (rule scan.error): the scan failed",
            HuggingFaceResolve.RefusalMessage("a.bin", "scan.error", "the scan failed"));
    }
}
