using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// The Warehouse JSON API (Warehouse <c>docs/user/api/json.md</c>) and PEP 658 metadata files, as Renovate,
/// Dependabot and pip read them.
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class JsonApiAndMetadataTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private const string JsonAccept = "application/vnd.pypi.simple.v1+json";

    private GatehouseStack Stack => shared.Stack;

    [Fact]
    public Task The_project_JSON_API_lists_releases_with_file_urls_pointing_back_at_Gatehouse_with_their_sha256() => Stack.RunAsync(output, async () =>
    {
        using var client = Stack.CreateClient();
        using var response = await client.GetAsync("pypi/gh-dep/json");
        var body = await response.Content.ReadAsStringAsync();
        output.WriteLine(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var doc = JsonDocument.Parse(body).RootElement;
        Assert.Equal("gh-dep", doc.GetProperty("info").GetProperty("name").GetString());
        var releases = doc.GetProperty("releases");
        Assert.True(releases.TryGetProperty("1.0.0", out _) && releases.TryGetProperty("1.1.0", out _), "both releases are listed");
        foreach (var file in doc.GetProperty("urls").EnumerateArray().Concat(releases.EnumerateObject().SelectMany(r => r.Value.EnumerateArray())))
        {
            var sha = file.GetProperty("digests").GetProperty("sha256").GetString()!;
            var filename = file.GetProperty("filename").GetString()!;
            Assert.Equal(new Uri(Stack.BaseAddress, GatehouseStack.FileUrl("gh-dep", sha, filename)).AbsoluteUri, file.GetProperty("url").GetString());
        }
    });

    [Fact]
    public Task The_release_JSON_API_has_no_releases_map_and_a_non_normalized_name_redirects() => Stack.RunAsync(output, async () =>
    {
        using var client = Stack.CreateClient();
        using var release = await client.GetAsync("pypi/gh-dep/1.0.0/json");
        Assert.Equal(HttpStatusCode.OK, release.StatusCode);
        var doc = JsonDocument.Parse(await release.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("1.0.0", doc.GetProperty("info").GetProperty("version").GetString());
        Assert.False(doc.TryGetProperty("releases", out _), "a release document has no releases map (Warehouse)");

        using var redirect = await client.GetAsync("pypi/GH_Dep/json");
        Assert.Equal(HttpStatusCode.MovedPermanently, redirect.StatusCode);
        Assert.Equal("/pypi/gh-dep/json", redirect.Headers.Location?.OriginalString);
    });

    [Fact]
    public Task A_metadata_file_is_served_exactly_as_its_advertised_sha256_says() => Stack.RunAsync(output, async () =>
    {
        using var client = Stack.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "pypi/simple/gh-dep/");
        request.Headers.TryAddWithoutValidation("Accept", JsonAccept);
        using var page = await client.SendAsync(request);
        var files = JsonDocument.Parse(await page.Content.ReadAsStringAsync()).RootElement.GetProperty("files").EnumerateArray().ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var advertised = file.GetProperty("core-metadata").GetProperty("sha256").GetString();
            var url = new Uri(new Uri(Stack.BaseAddress, "pypi/simple/gh-dep/"), file.GetProperty("url").GetString() + ".metadata");
            using var metadata = await client.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
            var bytes = await metadata.Content.ReadAsByteArrayAsync();
            Assert.Equal(advertised, Convert.ToHexStringLower(SHA256.HashData(bytes)));
            Assert.StartsWith("Metadata-Version:", System.Text.Encoding.UTF8.GetString(bytes));
        }
    });

    [Fact]
    public Task A_project_page_redirects_a_missing_slash_and_a_non_normalized_name() => Stack.RunAsync(output, async () =>
    {
        using var client = Stack.CreateClient();
        using var slash = await client.GetAsync("pypi/simple/gh-dep");
        Assert.Equal(HttpStatusCode.MovedPermanently, slash.StatusCode);
        Assert.Equal("/pypi/simple/gh-dep/", slash.Headers.Location?.OriginalString);
        using var name = await client.GetAsync("pypi/simple/GH.Dep/");
        Assert.Equal(HttpStatusCode.MovedPermanently, name.StatusCode);
        Assert.Equal("/pypi/simple/gh-dep/", name.Headers.Location?.OriginalString);
    });
}
