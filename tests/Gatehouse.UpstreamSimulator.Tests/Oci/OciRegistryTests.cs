using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.UpstreamSimulator.Oci;
using static Gatehouse.UpstreamSimulator.Tests.Oci.OciTestHost;

namespace Gatehouse.UpstreamSimulator.Tests.Oci;

/// <summary>The pull API and the token server, driven over HTTP as a registry client drives Docker Hub.</summary>
public sealed class OciRegistryTests
{
    private const string OciManifestType = "application/vnd.oci.image.manifest.v1+json";
    private const string DockerManifestType = "application/vnd.docker.distribution.manifest.v2+json";

    [Fact]
    public async Task V2_without_a_token_answers_401_with_Docker_Hubs_bearer_challenge()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await client.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("registry/2.0", Assert.Single(response.Headers.GetValues("Docker-Distribution-API-Version")));
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Equal($"realm=\"{sim.BaseAddress.GetLeftPart(UriPartial.Authority)}/token\",service=\"registry.docker.io\"", challenge.Parameter);
        Assert.Equal("UNAUTHORIZED", await ErrorCodeAsync(response));
    }

    [Fact]
    public async Task An_anonymous_token_opens_v2_and_its_repository_and_is_counted()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var tokenResponse = await client.GetAsync("/token?service=registry.docker.io&scope=repository:library/clean:pull");
        using var json = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync());
        var token = json.RootElement.GetProperty("token").GetString()!;
        Assert.Equal(token, json.RootElement.GetProperty("access_token").GetString());
        Assert.Equal(300, json.RootElement.GetProperty("expires_in").GetInt32());
        Assert.True(DateTimeOffset.TryParse(json.RootElement.GetProperty("issued_at").GetString(), out _));

        using var v2 = await SendAsync(client, HttpMethod.Get, "/v2/", token);
        Assert.Equal(HttpStatusCode.OK, v2.StatusCode);
        Assert.Equal("{}", await v2.Content.ReadAsStringAsync());
        using var tags = await SendAsync(client, HttpMethod.Get, "/v2/library/clean/tags/list", token);
        Assert.Equal(HttpStatusCode.OK, tags.StatusCode);

        var stats = sim.Oci.GetStats();
        Assert.Equal(1, stats.TokenRequests);
        Assert.Equal(0, stats.CredentialedTokenRequests);
        Assert.Equal(1, stats.TokenScopes["repository:library/clean:pull"]);
    }

    [Fact]
    public async Task A_token_for_another_repository_gets_insufficient_scope_and_a_made_up_one_invalid_token()
    {
        await using var registry = await RegistrySession.StartAsync();
        var (sim, client, token) = registry;

        using var otherRepository = await SendAsync(client, HttpMethod.Get, "/v2/library/evil-pickle/manifests/1.0", token);
        using var madeUp = await SendAsync(client, HttpMethod.Get, "/v2/library/clean/manifests/1.0", "not-a-token");
        using var none = await SendAsync(client, HttpMethod.Get, "/v2/library/clean/manifests/1.0", token: null);

        Assert.Equal(HttpStatusCode.Unauthorized, otherRepository.StatusCode);
        Assert.Contains("scope=\"repository:library/evil-pickle:pull\",error=\"insufficient_scope\"", otherRepository.Headers.WwwAuthenticate.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, madeUp.StatusCode);
        Assert.Contains("error=\"invalid_token\"", madeUp.Headers.WwwAuthenticate.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.DoesNotContain("error=", none.Headers.WwwAuthenticate.ToString());
        Assert.Equal("UNAUTHORIZED", await ErrorCodeAsync(none));
        Assert.Equal(3, sim.Oci.GetStats().Unauthorized);
    }

    [Fact]
    public async Task A_token_stops_working_when_its_lifetime_has_passed()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var sim = await UpstreamSimulatorApp.StartAsync(new SimulatorOptions { FixturesPath = SimulatorTestHost.FixturesPath, TimeProvider = clock });
        using var client = SimulatorTestHost.ClientFor(sim);
        var token = await TokenAsync(client, OciImages.Clean);

        clock.Advance(TimeSpan.FromSeconds(299));
        using var before = await SendAsync(client, HttpMethod.Head, "/v2/library/clean/manifests/1.0", token);
        clock.Advance(TimeSpan.FromSeconds(2));
        using var after = await SendAsync(client, HttpMethod.Head, "/v2/library/clean/manifests/1.0", token);

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("error=\"invalid_token\"", after.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task Basic_credentials_are_checked_when_a_test_requires_some()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        using var set = await client.PostAsync("/_sim/oci/credentials?user=gatehouse&password=s3cret&anonymous=false", null);
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);

        using var wrong = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/token?service=registry.docker.io&scope=repository:library/clean:pull")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("gatehouse:wrong"u8.ToArray())) },
        });
        using var anonymous = await client.GetAsync("/token?service=registry.docker.io&scope=repository:library/clean:pull");
        var token = await TokenAsync(client, OciImages.Clean, Convert.ToBase64String("gatehouse:s3cret"u8.ToArray()));

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("incorrect username or password", await wrong.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var manifest = await SendAsync(client, HttpMethod.Get, "/v2/library/clean/manifests/1.0", token);
        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
        Assert.Equal(1, sim.Oci.GetStats().CredentialedTokenRequests);
    }

    [Theory]
    [InlineData(null, HttpStatusCode.OK)]
    [InlineData("*/*", HttpStatusCode.OK)]
    [InlineData(OciManifestType, HttpStatusCode.OK)]
    [InlineData(DockerManifestType + ", " + OciManifestType + ";q=0.5", HttpStatusCode.OK)]
    [InlineData(DockerManifestType, HttpStatusCode.NotFound)]
    [InlineData("application/vnd.oci.image.index.v1+json", HttpStatusCode.NotFound)]
    public async Task An_OCI_manifest_is_served_only_to_an_Accept_that_allows_it(string? accept, HttpStatusCode expected)
    {
        await using var registry = await RegistrySession.StartAsync();
        var (_, client, token) = registry;

        using var response = await SendAsync(client, HttpMethod.Get, "/v2/library/clean/manifests/1.0", token, accept);

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.NotFound)
        {
            Assert.Equal("MANIFEST_UNKNOWN", await ErrorCodeAsync(response));
            return;
        }
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(OciManifestType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        Assert.Equal(Sha256(body), Assert.Single(response.Headers.GetValues("Docker-Content-Digest")));
    }

    [Fact]
    public async Task A_Docker_manifest_by_tag_and_by_digest_and_HEAD_gives_the_headers_without_a_body_or_a_count()
    {
        await using var registry = await RegistrySession.StartAsync();
        var (sim, client, token) = registry;

        using var byTag = await SendAsync(client, HttpMethod.Get, "/v2/library/clean/manifests/1.1", token, DockerManifestType);
        var digest = Assert.Single(byTag.Headers.GetValues("Docker-Content-Digest"));
        using var byDigest = await SendAsync(client, HttpMethod.Get, $"/v2/library/clean/manifests/{digest}", token, DockerManifestType);
        using var head = await SendAsync(client, HttpMethod.Head, $"/v2/library/clean/manifests/{digest}", token, DockerManifestType);

        Assert.Equal(DockerManifestType, byTag.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await byTag.Content.ReadAsByteArrayAsync(), await byDigest.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Equal(byTag.Content.Headers.ContentLength, head.Content.Headers.ContentLength);
        Assert.Equal(digest, Assert.Single(head.Headers.GetValues("Docker-Content-Digest")));
        var stats = sim.Oci.GetStats();
        Assert.Equal(2, stats.ManifestGets[$"library/clean@{digest}"]);
        Assert.Equal(1, stats.ManifestHeads[$"library/clean@{digest}"]);
    }

    [Fact]
    public async Task Manifest_answers_carry_Docker_Hubs_rate_limit_headers_and_an_enforced_limit_answers_429()
    {
        await using var registry = await RegistrySession.StartAsync();
        var (_, client, token) = registry;

        using var first = await SendAsync(client, HttpMethod.Get, "/v2/library/clean/manifests/1.0", token);
        using var second = await SendAsync(client, HttpMethod.Get, "/v2/library/clean/manifests/1.0", token);
        Assert.Equal("100;w=21600", Assert.Single(first.Headers.GetValues("RateLimit-Limit")));
        Assert.Equal("99;w=21600", Assert.Single(first.Headers.GetValues("RateLimit-Remaining")));
        Assert.Equal("98;w=21600", Assert.Single(second.Headers.GetValues("RateLimit-Remaining")));

        using var limit = await client.PostAsync("/_sim/oci/rate-limit?limit=3", null);
        using var third = await SendAsync(client, HttpMethod.Get, "/v2/library/clean/manifests/1.0", token);
        using var fourth = await SendAsync(client, HttpMethod.Get, "/v2/library/clean/manifests/1.0", token);

        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal("0;w=21600", Assert.Single(third.Headers.GetValues("RateLimit-Remaining")));
        Assert.Equal(HttpStatusCode.TooManyRequests, fourth.StatusCode);
        Assert.Equal("TOOMANYREQUESTS", await ErrorCodeAsync(fourth));
    }

    [Fact]
    public async Task A_blob_GET_redirects_to_a_signed_CDN_path_whose_bytes_match_the_digest_and_is_counted_once()
    {
        await using var registry = await RegistrySession.StartAsync();
        var (sim, client, token) = registry;
        var layer = Image("library/clean:1.0").Layers[0];

        using var redirect = await SendAsync(client, HttpMethod.Get, $"/v2/library/clean/blobs/{layer.Digest}", token);
        Assert.Equal(HttpStatusCode.TemporaryRedirect, redirect.StatusCode);
        var location = redirect.Headers.Location!;
        Assert.Equal(sim.BaseAddress.Authority, location.Authority);
        Assert.StartsWith($"/cdn/blobs/{layer.Digest}?expires=", location.PathAndQuery, StringComparison.Ordinal);
        Assert.Contains("&sig=", location.Query, StringComparison.Ordinal);
        using var cdn = await client.GetAsync(location);
        var bytes = await cdn.Content.ReadAsByteArrayAsync();

        Assert.Equal(layer.Size, bytes.Length);
        Assert.Equal(layer.Digest, Sha256(bytes));
        Assert.Equal(1, sim.Oci.GetStats().BlobGets[layer.Digest]);
        Assert.Equal(1, sim.Oci.GetStats().BlobRedirects[layer.Digest]);
    }

    [Fact]
    public async Task The_CDN_refuses_a_path_without_a_good_signature()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var layer = Image("library/clean:1.0").Layers[0];

        using var unsigned = await client.GetAsync($"/cdn/blobs/{layer.Digest}");
        using var forged = await client.GetAsync($"/cdn/blobs/{layer.Digest}?expires=99999999999&sig=00");

        Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Empty(sim.Oci.GetStats().BlobGets);
    }

    [Fact]
    public async Task A_range_request_on_the_CDN_answers_206_with_that_slice()
    {
        await using var registry = await RegistrySession.StartAsync();
        var (_, client, token) = registry;
        var layer = Image("library/clean:1.0").Layers[0];
        var whole = await BlobAsync(client, "library/clean", layer.Digest, token);
        using var redirect = await SendAsync(client, HttpMethod.Get, $"/v2/library/clean/blobs/{layer.Digest}", token);

        using var partial = await SendAsync(client, HttpMethod.Get, redirect.Headers.Location!.ToString(), token: null, range: new RangeHeaderValue(100, 199));

        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal($"bytes 100-199/{layer.Size}", partial.Content.Headers.ContentRange?.ToString());
        Assert.Equal(whole[100..200], await partial.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task With_redirects_off_the_registry_serves_blobs_itself_with_Range_and_HEAD()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        using var off = await client.PostAsync("/_sim/oci/blob-redirect?on=false", null);
        var token = await TokenAsync(client, OciImages.Clean);
        var config = Image("library/clean:1.0").ConfigDigest!;

        using var head = await SendAsync(client, HttpMethod.Head, $"/v2/library/clean/blobs/{config}", token);
        using var get = await SendAsync(client, HttpMethod.Get, $"/v2/library/clean/blobs/{config}", token);
        using var range = await SendAsync(client, HttpMethod.Get, $"/v2/library/clean/blobs/{config}", token, range: new RangeHeaderValue(0, 9));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(config, Assert.Single(head.Headers.GetValues("Docker-Content-Digest")));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        var bytes = await get.Content.ReadAsByteArrayAsync();
        Assert.Equal(config, Sha256(bytes));
        Assert.Equal(head.Content.Headers.ContentLength, bytes.Length);
        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Equal(bytes[..10], await range.Content.ReadAsByteArrayAsync());
        var stats = sim.Oci.GetStats();
        Assert.Equal(2, stats.BlobGets[config]);
        Assert.Equal(1, stats.BlobHeads[config]);
        Assert.Empty(stats.BlobRedirects);
    }

    [Theory]
    [InlineData("/v2/library/nothere/manifests/1.0", "library/nothere", HttpStatusCode.NotFound, "NAME_UNKNOWN")]
    [InlineData("/v2/library/clean/manifests/9.9", "library/clean", HttpStatusCode.NotFound, "MANIFEST_UNKNOWN")]
    [InlineData("/v2/library/clean/manifests/sha256:0000000000000000000000000000000000000000000000000000000000000000", "library/clean",
        HttpStatusCode.NotFound, "MANIFEST_UNKNOWN")]
    [InlineData("/v2/library/clean/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000", "library/clean",
        HttpStatusCode.NotFound, "BLOB_UNKNOWN")]
    [InlineData("/v2/library/clean/blobs/md5:abc", "library/clean", HttpStatusCode.BadRequest, "DIGEST_INVALID")]
    [InlineData("/v2/Library/Clean/manifests/1.0", "Library/Clean", HttpStatusCode.BadRequest, "NAME_INVALID")]
    [InlineData("/v2/library/.hidden/manifests/1.0", "library/.hidden", HttpStatusCode.BadRequest, "NAME_INVALID")]
    [InlineData("/v2/library/clean/tags/list?n=x", "library/clean", HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID")]
    public async Task Errors_come_in_the_distribution_specs_JSON_shape(string path, string scope, HttpStatusCode status, string code)
    {
        await using var registry = await RegistrySession.StartAsync(scope);
        var (_, client, token) = registry;

        using var response = await SendAsync(client, HttpMethod.Get, path, token);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(code, await ErrorCodeAsync(response));
    }

    [Fact]
    public async Task A_blob_of_another_repository_is_unknown_here()
    {
        await using var registry = await RegistrySession.StartAsync();
        var (_, client, token) = registry;
        var evilLayer = Image("library/evil-pickle:1.0").Layers[1].Digest;

        using var response = await SendAsync(client, HttpMethod.Get, $"/v2/library/clean/blobs/{evilLayer}", token);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("BLOB_UNKNOWN", await ErrorCodeAsync(response));
    }

    [Fact]
    public async Task Tags_list_pages_with_a_Link_to_the_next_page()
    {
        await using var registry = await RegistrySession.StartAsync();
        var (_, client, token) = registry;

        using var first = await SendAsync(client, HttpMethod.Get, "/v2/library/clean/tags/list?n=2", token);
        var link = Assert.Single(first.Headers.GetValues("Link"));
        Assert.Equal("</v2/library/clean/tags/list?n=2&last=1.1>; rel=\"next\"", link);
        using var second = await SendAsync(client, HttpMethod.Get, link[1..link.IndexOf('>', StringComparison.Ordinal)], token);
        using var all = await SendAsync(client, HttpMethod.Get, "/v2/library/clean/tags/list", token);

        Assert.Equal("""{"name":"library/clean","tags":["1.0","1.1"]}""", await first.Content.ReadAsStringAsync());
        Assert.Equal("""{"name":"library/clean","tags":["latest"]}""", await second.Content.ReadAsStringAsync());
        Assert.False(second.Headers.Contains("Link"));
        Assert.Equal("""{"name":"library/clean","tags":["1.0","1.1","latest"]}""", await all.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Pushes_are_unsupported_and_a_simulated_outage_covers_the_registry()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var push = await client.PostAsync("/v2/library/clean/blobs/uploads/", new ByteArrayContent([]));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, push.StatusCode);
        Assert.Equal("UNSUPPORTED", await ErrorCodeAsync(push));
        sim.State.IsDown = true;
        using var down = await client.GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
    }

    [Fact]
    public async Task The_images_listing_names_every_image_with_its_digests()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        var images = JsonSerializer.Deserialize<List<OciImageInfo>>(await client.GetStringAsync("/_sim/oci/images"))!;

        Assert.Equal(
            ["bad/blob-digest:1.0", "bad/malformed:1.0", "bad/malformed:missing-layers", "bad/manifest-digest:1.0", "bad/oversized:1.0",
                "library/clean:1.0", "library/clean:1.1", "library/clean:latest", "library/deb-clean:1.0", "library/evil-pickle:1.0", "library/multiarch:1.0",
                "library/multiarch:1.0-docker", "library/vuln-alpine:3.19", "library/vuln-deb:1.0", "library/vuln-py:1.0", "library/whiteout:1.0"],
            images.Select(i => i.Reference));
        var clean = images.Single(i => i.Reference == "library/clean:1.0");
        Assert.Equal(Image("library/clean:1.0"), clean, new InfoComparer());
        Assert.Equal(2, images.Single(i => i.Reference == "library/multiarch:1.0").Platforms.Count);
    }

    internal static OciImageInfo Image(string reference) => OciCatalog.Empty.With(OciImages.All).Images.Single(i => i.Reference == reference);

    private sealed class InfoComparer : IEqualityComparer<OciImageInfo>
    {
        public bool Equals(OciImageInfo? x, OciImageInfo? y) =>
            x is not null && y is not null && x.Digest == y.Digest && x.ConfigDigest == y.ConfigDigest && x.Layers.SequenceEqual(y.Layers);

        public int GetHashCode(OciImageInfo obj) => obj.Digest.GetHashCode(StringComparison.Ordinal);
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
