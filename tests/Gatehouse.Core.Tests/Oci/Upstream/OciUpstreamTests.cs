using System.Net;
using System.Text;
using Gatehouse.Configuration;
using Gatehouse.Core.Tests.HuggingFace;
using Gatehouse.Oci;
using Gatehouse.Oci.Upstream;
using Gatehouse.Upstream;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Core.Tests.Oci.Upstream;

/// <summary>The registries' side: the token flow of Docker Hub and others, the CDN redirect, caps, rate limits, tags, URLs.</summary>
public sealed class OciUpstreamTests : IDisposable
{
    private const string Registry = "registry.example";
    private const string Auth = "auth.example";
    private const string Cdn = "cdn.example";
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private static readonly CancellationToken Ct = CancellationToken.None;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions());
    private readonly CapturingLogger _log = new();
    private int _tokensIssued;

    public void Dispose() => _cache.Dispose();

    private static OciOptions Options(string? username = null, string? password = null, long maxManifest = 4 * 1024 * 1024) => new()
    {
        MaxManifestBytes = maxManifest,
        Registries =
        [
            new OciRegistryOptions
            {
                Prefix = "", Url = $"https://{Registry}", OfficialImagesUnderLibrary = true, AuthHosts = Auth, BlobHosts = Cdn,
                Username = username, Password = password,
            },
        ],
    };

    private (OciUpstream Upstream, RecordingHub Hub) Create(Func<HttpRequestMessage, HttpResponseMessage> answer, OciOptions? options = null)
    {
        var hub = new RecordingHub(answer);
        var gatehouse = new GatehouseOptions { Oci = options ?? Options() };
        return (new OciUpstream(hub.Client, _cache, Microsoft.Extensions.Options.Options.Create(gatehouse), _log), hub);
    }

    private static OciRepository Alpine(OciOptions? options = null) => OciRepository.Resolve("alpine", options ?? Options(), out _)!;

    /// <summary>Docker Hub's behaviour: 401 with a challenge without a token for the scope, a token from the realm.</summary>
    private HttpResponseMessage DockerHub(HttpRequestMessage request, Func<HttpRequestMessage, HttpResponseMessage> authorised, string realm = $"https://{Auth}/token")
    {
        if (request.RequestUri!.Host == Auth)
        {
            _tokensIssued++;
            return Json($$"""{"token":"tok-{{_tokensIssued}}","expires_in":300,"issued_at":"2026-12-04T19:00:00Z"}""");
        }
        if (request.RequestUri.Host == Registry && request.Headers.Authorization?.Parameter?.StartsWith("tok-", StringComparison.Ordinal) != true)
        {
            var denied = new HttpResponseMessage(HttpStatusCode.Unauthorized) { Content = new StringContent("""{"errors":[{"code":"UNAUTHORIZED"}]}""") };
            denied.Headers.TryAddWithoutValidation("WWW-Authenticate", $"Bearer realm=\"{realm}\",service=\"registry.docker.io\",scope=\"repository:library/alpine:pull\"");
            return denied;
        }
        return authorised(request);
    }

    private static HttpResponseMessage Json(string body) => new(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    private static HttpResponseMessage Manifest(string body = """{"schemaVersion":2}""")
    {
        var answer = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, OciMediaTypes.OciManifest) };
        answer.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(OciMediaTypes.OciManifest);
        answer.Headers.TryAddWithoutValidation("Docker-Content-Digest", Digest);
        answer.Headers.TryAddWithoutValidation("RateLimit-Limit", "100;w=21600");
        answer.Headers.TryAddWithoutValidation("RateLimit-Remaining", "76;w=21600");
        answer.Headers.TryAddWithoutValidation("docker-ratelimit-source", "203.0.113.7");
        return answer;
    }

    [Fact]
    public async Task A_challenge_is_answered_with_an_anonymous_token_from_the_realm_and_the_request_is_sent_again()
    {
        var (upstream, hub) = Create(r => DockerHub(r, _ => Manifest()));

        var fetch = await upstream.GetManifestAsync(Alpine(), "latest", Ct);

        Assert.Null(fetch.Failure);
        Assert.Equal(200, fetch.Status);
        Assert.Equal("""{"schemaVersion":2}""", Encoding.UTF8.GetString(fetch.Body!));
        Assert.Equal(OciMediaTypes.OciManifest, fetch.MediaType);
        Assert.Equal(Digest, fetch.DigestHeader);
        Assert.Equal(
            [
                $"https://{Registry}/v2/library/alpine/manifests/latest",
                $"https://{Auth}/token?service=registry.docker.io&scope=repository%3Alibrary%2Falpine%3Apull",
                $"https://{Registry}/v2/library/alpine/manifests/latest",
            ],
            hub.Seen.Select(s => s.Url.AbsoluteUri));
        Assert.Equal([null, null, "Bearer tok-1"], hub.Seen.Select(s => s.Authorization));
    }

    [Fact]
    public async Task Every_manifest_type_is_asked_for()
    {
        string? accept = null;
        var (upstream, _) = Create(r => DockerHub(r, request =>
        {
            accept = string.Join(", ", request.Headers.Accept.Select(a => a.ToString()));
            return Manifest();
        }));

        await upstream.GetManifestAsync(Alpine(), "latest", Ct);

        Assert.Equal(string.Join(", ", OciMediaTypes.Manifests), accept);
    }

    [Fact]
    public async Task The_token_is_kept_for_the_scope_and_not_fetched_again()
    {
        var (upstream, hub) = Create(r => DockerHub(r, _ => Manifest()));

        await upstream.GetManifestAsync(Alpine(), "latest", Ct);
        await upstream.GetManifestAsync(Alpine(), "3.20", Ct);
        await upstream.GetManifestAsync(Alpine(), Digest, Ct);

        Assert.Equal(1, _tokensIssued);
        Assert.Equal(5, hub.Seen.Count);
        Assert.Equal(["Bearer tok-1", "Bearer tok-1"], hub.Seen.Skip(3).Select(s => s.Authorization));
    }

    [Fact]
    public async Task The_registry_credential_goes_to_the_token_endpoint_as_Basic_and_nowhere_else()
    {
        var options = Options("gatehouse-bot", "s3cret");
        var (upstream, hub) = Create(r => DockerHub(r, _ => Manifest()), options);

        await upstream.GetManifestAsync(Alpine(options), "latest", Ct);

        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("gatehouse-bot:s3cret"));
        Assert.Equal([null, basic, "Bearer tok-1"], hub.Seen.Select(s => s.Authorization));
        Assert.Equal(Auth, hub.Seen[1].Url.Host);
    }

    [Fact]
    public async Task A_realm_on_a_host_that_is_not_configured_is_refused_and_not_contacted()
    {
        var (upstream, hub) = Create(r => DockerHub(r, _ => Manifest(), realm: "https://evil.example/token"), Options("bot", "s3cret"));

        var fetch = await upstream.GetManifestAsync(Alpine(), "latest", Ct);

        Assert.Equal(0, fetch.Status);
        Assert.Contains("evil.example", fetch.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain(hub.Seen, s => s.Url.Host == "evil.example");
    }

    [Fact]
    public async Task A_blob_follows_the_redirect_to_the_CDN_without_the_registry_token()
    {
        var (upstream, hub) = Create(r => DockerHub(r, request => request.RequestUri!.Host == Registry
            ? new HttpResponseMessage(HttpStatusCode.TemporaryRedirect) { Headers = { Location = new Uri($"https://{Cdn}/blobs/abc?sig=1") } }
            : new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(new byte[10]) }));

        using var response = await upstream.OpenBlobAsync(Alpine(), Digest, 10, Ct);

        Assert.True(response.IsSuccess);
        Assert.Equal(Cdn, response.Url!.Host);
        var cdn = Assert.Single(hub.Seen, s => s.Url.Host == Cdn);
        Assert.Null(cdn.Authorization);
        Assert.Contains(hub.Seen, s => s.Url.Host == Registry && s.Authorization == "Bearer tok-1");
    }

    [Fact]
    public async Task A_redirect_of_a_blob_to_a_host_that_is_not_configured_is_refused()
    {
        var (upstream, hub) = Create(r => DockerHub(r, _ =>
            new HttpResponseMessage(HttpStatusCode.TemporaryRedirect) { Headers = { Location = new Uri("https://elsewhere.example/x") } }));

        using var response = await upstream.OpenBlobAsync(Alpine(), Digest, 10, Ct);

        Assert.Equal(UpstreamFailureKind.NotAllowed, response.Failure?.Kind);
        Assert.DoesNotContain(hub.Seen, s => s.Url.Host == "elsewhere.example");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_manifest_over_the_cap_is_oversized_and_nothing_is_returned(bool declared)
    {
        var body = new string('x', 2048);
        var (upstream, _) = Create(r => DockerHub(r, _ =>
        {
            var answer = Manifest(body);
            if (!declared)
            {
                answer.Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body), writable: false));
            }
            return answer;
        }), Options(maxManifest: 1024));

        var fetch = await upstream.GetManifestAsync(Alpine(), "latest", Ct);

        Assert.Equal(0, fetch.Status);
        Assert.Null(fetch.Body);
        Assert.Contains("oversized", fetch.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_429_is_a_failure_that_says_so_with_its_Retry_After_and_is_logged()
    {
        var (upstream, _) = Create(r => DockerHub(r, _ =>
        {
            var answer = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
            answer.Headers.TryAddWithoutValidation("Retry-After", "120");
            answer.Headers.TryAddWithoutValidation("RateLimit-Limit", "100;w=21600");
            answer.Headers.TryAddWithoutValidation("RateLimit-Remaining", "0;w=21600");
            return answer;
        }));

        var fetch = await upstream.GetManifestAsync(Alpine(), "latest", Ct);

        Assert.Equal(0, fetch.Status);
        Assert.Contains("429 Too Many Requests", fetch.Failure, StringComparison.Ordinal);
        Assert.Contains("retry after 120 seconds", fetch.Failure, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(120), fetch.RetryAfter);
        Assert.Contains(_log.Entries, e => e.Level == LogLevel.Warning && Equals(e.Field("RetryAfter"), "120"));
    }

    [Fact]
    public async Task Rate_limit_headers_are_logged_as_fields()
    {
        var (upstream, _) = Create(r => DockerHub(r, _ => Manifest()));

        await upstream.GetManifestAsync(Alpine(), "latest", Ct);

        var entry = Assert.Single(_log.Entries, e => e.Field("RateLimitLimit") is not null);
        Assert.Equal("100;w=21600", entry.Field("RateLimitLimit"));
        Assert.Equal("76;w=21600", entry.Field("RateLimitRemaining"));
        Assert.Equal("203.0.113.7", entry.Field("RateLimitSource"));
        Assert.Equal("library/alpine", entry.Field("Repository"));
        Assert.DoesNotContain(_log.Entries, e => e.Message.Contains("tok-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_manifest_that_does_not_exist_is_404_without_a_failure()
    {
        var (missing, _) = Create(r => DockerHub(r, _ => new HttpResponseMessage(HttpStatusCode.NotFound)));
        var fetch = await missing.GetManifestAsync(Alpine(), "nope", Ct);
        Assert.Equal(404, fetch.Status);
        Assert.Null(fetch.Failure);
    }

    [Fact]
    public async Task A_token_endpoint_that_refuses_is_a_failure_naming_it()
    {
        var (refusing, hub) = Create(r => r.RequestUri!.Host == Auth ? new HttpResponseMessage(HttpStatusCode.Unauthorized) : DockerHub(r, _ => Manifest()));
        var fetch = await refusing.GetManifestAsync(Alpine(), "latest", Ct);
        Assert.Equal(0, fetch.Status);
        Assert.Contains("token endpoint", fetch.Failure, StringComparison.Ordinal);
        Assert.Equal(2, hub.Seen.Count);
    }

    [Fact]
    public async Task A_token_the_registry_still_refuses_is_tried_once_only()
    {
        var (upstream, hub) = Create(r => r.RequestUri!.Host == Auth
            ? Json("""{"access_token":"useless","expires_in":300}""")
            : DockerHub(r, _ => Manifest()));

        var fetch = await upstream.GetManifestAsync(Alpine(), "latest", Ct);

        Assert.Contains("refused Gatehouse's credentials", fetch.Failure, StringComparison.Ordinal);
        Assert.Equal(3, hub.Seen.Count);
    }

    [Theory]
    [InlineData("../../etc")]
    [InlineData("latest/../x")]
    [InlineData("sha256:ZZ")]
    public async Task A_reference_that_is_neither_tag_nor_digest_is_never_sent(string reference)
    {
        var (upstream, hub) = Create(r => DockerHub(r, _ => Manifest()));

        var fetch = await upstream.GetManifestAsync(Alpine(), reference, Ct);

        Assert.NotNull(fetch.Failure);
        Assert.Empty(hub.Seen);
    }

    [Fact]
    public async Task Tags_are_listed_with_the_next_page_from_the_Link_header()
    {
        var (upstream, hub) = Create(r => DockerHub(r, _ =>
        {
            var answer = Json("""{"name":"library/alpine","tags":["3.19","3.20"]}""");
            answer.Headers.TryAddWithoutValidation("Link", "</v2/library/alpine/tags/list?n=2&last=3.20>; rel=\"next\"");
            return answer;
        }));

        var page = await upstream.GetTagsAsync(Alpine(), 2, "3.18", Ct);

        Assert.Equal(200, page.Status);
        Assert.Equal(["3.19", "3.20"], page.Tags);
        Assert.Equal("3.20", page.NextLast);
        Assert.Equal($"https://{Registry}/v2/library/alpine/tags/list?n=2&last=3.18", hub.Seen[^1].Url.AbsoluteUri);
    }

    [Fact]
    public void Blob_and_manifest_URLs_read_back_to_their_repository_and_digest()
    {
        var options = new OciOptions { Registries = [new OciRegistryOptions { Prefix = "ghcr.io", Url = "https://ghcr.io" }] };
        var (upstream, _) = Create(_ => new HttpResponseMessage(HttpStatusCode.OK), options);
        var alpine = OciRepository.Resolve("alpine", options, out _)!;
        var ghcr = OciRepository.Resolve("ghcr.io/org/team/image", options, out _)!;

        var blob = OciUpstream.BlobUrl(alpine, Digest);
        Assert.Equal($"https://registry-1.docker.io/v2/library/alpine/blobs/{Digest}", blob.AbsoluteUri);
        var back = upstream.FromUrl(blob)!.Value;
        Assert.Equal(("library/alpine", "", Digest, false), (back.Repository.UpstreamName, back.Repository.Registry.Prefix, back.Digest, back.IsManifest));

        var manifest = OciUpstream.ManifestUrl(ghcr, Digest);
        Assert.Equal($"https://ghcr.io/v2/org/team/image/manifests/{Digest}", manifest.AbsoluteUri);
        var ghcrBack = upstream.FromUrl(manifest)!.Value;
        Assert.Equal(("ghcr.io/org/team/image", "org/team/image", "ghcr.io"), (ghcrBack.Repository.Name, ghcrBack.Repository.UpstreamName, ghcrBack.Repository.Registry.Prefix));
        Assert.True(ghcrBack.IsManifest);

        // A repository whose own path holds "manifests": its blob URL is a blob's, and its manifest URL a manifest's.
        var named = OciRepository.Resolve("ghcr.io/org/manifests/app", options, out _)!;
        var namedBlob = upstream.FromUrl(OciUpstream.BlobUrl(named, Digest))!.Value;
        Assert.Equal(("org/manifests/app", Digest, false), (namedBlob.Repository.UpstreamName, namedBlob.Digest, namedBlob.IsManifest));
        var namedManifest = upstream.FromUrl(OciUpstream.ManifestUrl(named, Digest))!.Value;
        Assert.Equal(("org/manifests/app", Digest, true), (namedManifest.Repository.UpstreamName, namedManifest.Digest, namedManifest.IsManifest));

        Assert.Null(upstream.FromUrl(new Uri($"https://evil.example/v2/library/alpine/blobs/{Digest}")));
        Assert.Null(upstream.FromUrl(new Uri("https://ghcr.io/v2/org/image/blobs/sha256:short")));
        Assert.Null(upstream.FromUrl(new Uri($"https://ghcr.io/v2/Org/image/blobs/{Digest}")));
    }

    [Theory]
    [InlineData("ghcr.io", "ghcr.io", "2 registries with the prefix")]
    [InlineData("ghcr.io", "quay.io", "not an absolute http(s) URL")]
    public void A_configuration_with_a_prefix_twice_or_a_bad_URL_is_a_clear_error(string first, string second, string expected)
    {
        var options = new OciOptions
        {
            Registries =
            [
                new OciRegistryOptions { Prefix = first, Url = "https://ghcr.io" },
                new OciRegistryOptions { Prefix = second, Url = first == second ? "https://other.example" : "ftp://quay.io" },
            ],
        };
        var error = Assert.Throws<InvalidOperationException>(() => Create(_ => new HttpResponseMessage(HttpStatusCode.OK), options));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    /// <summary>Keeps every entry with its structured fields.</summary>
    private sealed class CapturingLogger : ILogger<OciUpstream>
    {
        public List<Entry> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add(new Entry(logLevel, formatter(state, exception), state as IReadOnlyList<KeyValuePair<string, object?>> ?? []));

        public sealed record Entry(LogLevel Level, string Message, IReadOnlyList<KeyValuePair<string, object?>> Fields)
        {
            public object? Field(string name) => Fields.FirstOrDefault(f => f.Key == name).Value;
        }
    }
}
