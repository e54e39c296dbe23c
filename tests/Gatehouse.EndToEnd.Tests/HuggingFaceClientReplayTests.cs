using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.TestHelpers;
using static Gatehouse.TestHelpers.ResponseHeaders;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Gatehouse as <c>HF_ENDPOINT</c>, seen through requests replayed header for header where the real libraries
/// (<see cref="HuggingFacePythonClientTests"/>) cannot go: huggingface_hub's resume of an interrupted GET with
/// <c>Range</c>, its reading of a SAS redirect, and transformers' probes for optional files. Every answer is checked
/// against <c>tests/fixtures/hf/repos.json</c>.
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class HuggingFaceClientReplayTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private const string Model = "gatehouse-demo/tiny-model";
    private const string Dataset = "gatehouse-demo/tiny-dataset";
    private const string EvilFile = "evil.bin";

    /// <summary>huggingface_hub 1.x (httpx) with torch installed, as <c>utils/_headers.py</c> (<c>_http_user_agent</c>) builds it.</summary>
    private const string HubUserAgent = "unknown/None; hf_hub/1.28.0; python/3.11.2; torch/2.5.1";

    /// <summary>transformers 4.x's <c>from_pretrained</c>: its own name first, the hub agent (0.x, which 4.x pins), then its fields.</summary>
    private const string TransformersUserAgent =
        "transformers/4.57.1; hf_hub/0.36.0; python/3.11.2; torch/2.5.1; session_id/6f1c2d3e4b5a69788796a5b4c3d2e1f0; file_type/model; framework/pytorch; from_auto_class/True";

    private static readonly UriCreationOptions Verbatim = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private GatehouseStack Stack => shared.Stack;

    // ---------------------------------------------------------------------------------------------------------------
    // huggingface_hub 1.x hf_hub_download (src/huggingface_hub/file_download.py)
    // ---------------------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("model", Model, "pytorch_model.bin")] // LFS: X-Linked-Etag = sha256, X-Linked-Size
    [InlineData("model", Model, "config.json")] // regular git file: ETag = git blob sha1, Content-Length
    [InlineData("dataset", Dataset, "data/train.csv")] // dataset prefix and a file in a folder
    public Task Hf_hub_download_reads_commit_etag_and_size_from_the_head_then_resumes_an_interrupted_get_with_a_range(
        string repoType, string repoId, string path) => Stack.RunAsync(output, async () =>
    {
        var repo = HfFixtures.Repo(repoType, repoId);
        var commit = repo.Branches["main"];
        var file = repo.File(commit, path);
        using var http = Stack.CreateClient(authenticated: false);
        var hub = new HubClient(http, Stack.BaseAddress, Stack.Token, HubUserAgent, output);

        var url = hub.ResolveUrl(repoType, repoId, "main", path);
        var metadata = await hub.GetFileMetadataAsync(url);
        AssertMetadataMatches(metadata, commit, file);
        Assert.Equal(url, metadata.Location); // a 200 from Gatehouse itself: the client downloads from the URL it asked

        var bytes = await hub.DownloadWithResumeAsync(metadata, interruptAfter: (int)(file.Size / 2));
        AssertBytesMatch(file, bytes);
    });

    [Theory]
    [InlineData("pytorch_model.bin")] // LFS: Gatehouse's 302 is like the Hub's CDN redirect
    [InlineData("config.json")] // regular file: the 302 must carry X-Linked-Size too (no Content-Length fallback)
    public async Task Hf_hub_download_through_sas_serving_reads_everything_it_needs_from_the_absolute_redirect(string path)
    {
        // Serving mode "Sas" (the Azure default): an allowed file is a 302 to a read-only blob URL on another host.
        await using var stack = await GatehouseStack.StartAsync("hfsas", s => s with { ServingMode = "Sas" });
        await stack.RunAsync(output, async () =>
        {
            var repo = HfFixtures.Repo("model", Model);
            var commit = repo.Branches["main"];
            var file = repo.File(commit, path);
            using var http = stack.CreateClient(authenticated: false);
            var hub = new HubClient(http, stack.BaseAddress, stack.Token, HubUserAgent, output);

            var url = hub.ResolveUrl("model", Model, "main", path);
            var metadata = await hub.GetFileMetadataAsync(url);
            output.WriteLine(string.Join("\n", metadata.Head.Headers.Concat(metadata.Head.Content.Headers).Select(h => $"  {h.Key}: {string.Join(", ", h.Value)}")));
            Assert.True(metadata.Redirected, $"expected the SAS redirect, got {(int)metadata.Head.StatusCode}");
            Assert.NotEqual(url.Authority, metadata.Location.Authority); // the blob host: the client drops Authorization
            // An absolute redirect is not followed: huggingface_hub reads commit, etag and size from the 302 itself.
            AssertMetadataMatches(metadata, commit, file);
            AssertBytesMatch(file, await hub.DownloadWithResumeAsync(metadata, interruptAfter: (int)(file.Size / 2)));
        });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // transformers (cached_file and has_file, src/transformers/utils/hub.py)
    // ---------------------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("model", Model, "main", "generation_config.json")]
    [InlineData("model", Model, "main", "model.safetensors.index.json")]
    [InlineData("model", Model, "0c936c75186a5d43d5400974defeadb6594996cb", "adapter_config.json")]
    [InlineData("model", Model, "refs/pr/1", "tokenizer_config.json")]
    [InlineData("dataset", Dataset, "main", "data/test.csv")]
    public Task A_transformers_probe_for_an_optional_file_gets_entry_not_found_with_the_commit_so_absence_is_cached(
        string repoType, string repoId, string revision, string path) => Stack.RunAsync(output, async () =>
    {
        var repo = HfFixtures.Repo(repoType, repoId);
        var commit = repo.ResolveRevision(revision);
        Assert.DoesNotContain(repo.Commits[commit], f => f.Path == path); // really absent at that commit
        using var http = Stack.CreateClient(authenticated: false);
        var hub = new HubClient(http, Stack.BaseAddress, Stack.Token, TransformersUserAgent, output);
        var url = hub.ResolveUrl(repoType, repoId, revision, path);

        // has_file / cached_file(_raise_exceptions_for_missing_entries=False): one HEAD, no redirects.
        using var head = await hub.SendAsync(HttpMethod.Head, url, "identity");
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.Equal("EntryNotFound", Header(head, "X-Error-Code")); // RemoteEntryNotFoundError → file skipped
        Assert.Equal(commit, Header(head, "X-Repo-Commit")); // → cached as absent: .no_exist/<commit>/<path>
        Assert.False(string.IsNullOrEmpty(Header(head, "X-Error-Message")));
        AssertNoXet(head);

        using var get = await hub.SendAsync(HttpMethod.Get, url, HubClient.HttpxAcceptEncoding);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal("EntryNotFound", Header(get, "X-Error-Code"));
        Assert.Equal(commit, Header(get, "X-Repo-Commit"));
        Assert.True(JsonDocument.Parse(await HubClient.ReadTextAsync(get)).RootElement.TryGetProperty("error", out _));
    });

    [Theory]
    [InlineData("main")]
    [InlineData("0c936c75186a5d43d5400974defeadb6594996cb")]
    [InlineData("v1.0")]
    public Task A_transformers_probe_of_a_refused_file_is_gated_and_never_entry_not_found(string revision) => Stack.RunAsync(output, async () =>
    {
        var repo = HfFixtures.Repo("model", Model);
        var commit = repo.ResolveRevision(revision);
        var file = repo.File(commit, EvilFile);
        using var http = Stack.CreateClient(authenticated: false);
        var hub = new HubClient(http, Stack.BaseAddress, Stack.Token, TransformersUserAgent, output);
        await AssertRefusedAsGatedAsync(hub, Stack, hub.ResolveUrl("model", Model, revision, EvilFile), commit, file);
    });

    // ---------------------------------------------------------------------------------------------------------------
    // Assertions shared by the replays
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// What <c>_get_metadata_or_catch_error</c> requires, and the values the client's cache is keyed by
    /// (<c>blobs/&lt;etag&gt;</c>, <c>snapshots/&lt;commit&gt;/&lt;path&gt;</c>; huggingface_hub's <c>file_download.py</c>).
    /// </summary>
    private static void AssertMetadataMatches(FileMetadata metadata, string commit, HfFixtureFile file)
    {
        Assert.True(metadata.CommitHash is not null,
            $"HEAD {(int)metadata.Head.StatusCode} without X-Repo-Commit: huggingface_hub raises FileMetadataError (\"Distant resource does not seem to be on huggingface.co\")");
        Assert.True(metadata.Etag is not null, "HEAD without X-Linked-Etag or ETag: huggingface_hub raises FileMetadataError");
        Assert.True(metadata.Size is not null, "HEAD without X-Linked-Size or Content-Length: huggingface_hub raises FileMetadataError");
        Assert.Equal(commit, metadata.CommitHash);
        Assert.Equal(file.Etag, metadata.Etag); // blobs/<etag>: sha256 for LFS, git blob sha1 otherwise
        Assert.Equal(file.Size, metadata.Size);
        AssertNoXet(metadata.Head);
    }

    /// <summary>What the client checks (size) and what the Hub promises (sha256 = lfs oid, git sha1 of a regular file).</summary>
    private static void AssertBytesMatch(HfFixtureFile file, byte[] bytes)
    {
        Assert.Equal(file.Size, bytes.LongLength);
        Assert.Equal(file.Sha1, GitBlob.Sha1(bytes));
        if (file.Lfs is { } lfs)
        {
            Assert.Equal(lfs.Oid, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }
        Assert.Equal(File.ReadAllBytes(HfFixtures.ObjectPath(file.Sha1)), bytes);
    }

    /// <summary>
    /// A refused file: GET and HEAD answer 403 <c>GatedRepo</c> (GatedRepoError, raised verbatim, never cached as
    /// absent), with the decision's rule and reason in <c>X-Error-Message</c> and in the JSON <c>error</c>. The GET
    /// comes first: it waits out a cold scan, while a HEAD answers a cold file's metadata at once.
    /// </summary>
    private async Task AssertRefusedAsGatedAsync(HubClient hub, GatehouseStack stack, Uri url, string commit, HfFixtureFile file)
    {
        using var get = await hub.SendAsync(HttpMethod.Get, url, HubClient.HttpxAcceptEncoding);
        Assert.Equal(HttpStatusCode.Forbidden, get.StatusCode);
        Assert.Equal("GatedRepo", Header(get, "X-Error-Code"));
        Assert.StartsWith("application/json", get.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        var error = JsonDocument.Parse(await HubClient.ReadTextAsync(get)).RootElement.GetProperty("error").GetString();
        output.WriteLine($"GET {url} → 403 error: {error}");

        var metadata = await hub.GetFileMetadataAsync(url);
        var head = metadata.Head;
        var message = Header(head, "X-Error-Message");
        output.WriteLine($"HEAD {url} → {(int)head.StatusCode} {Header(head, "X-Error-Code")}: {message}");
        Assert.Equal(HttpStatusCode.Forbidden, head.StatusCode);
        Assert.Equal("GatedRepo", Header(head, "X-Error-Code"));

        var decision = await stack.Storage.HfReferenceAsync(Model, commit, file.Path);
        Assert.NotNull(decision);
        Assert.Equal("Blocked", decision.GetString("Decision"));
        var rule = decision.GetString("Rule");
        var reason = decision.GetString("Reason");
        Assert.False(string.IsNullOrEmpty(rule));
        Assert.False(string.IsNullOrEmpty(reason));
        // X-Error-Message is all huggingface_hub shows for a refused HEAD (no body): the file, the rule first (the header
        // is cut at 300 characters), and the decision's reason without repeating the rule at its end.
        var reasonText = reason.EndsWith($" ({rule})", StringComparison.Ordinal) ? reason[..^(rule.Length + 3)] : reason;
        Assert.NotNull(message);
        Assert.StartsWith($"Gatehouse refused {file.Path} (rule {rule}): ", message, StringComparison.Ordinal);
        Assert.Contains(reasonText[..Math.Min(reasonText.Length, 80)], message, StringComparison.Ordinal);

        Assert.NotNull(error);
        Assert.Contains(file.Path, error, StringComparison.Ordinal);
        Assert.Contains(reasonText, error, StringComparison.Ordinal); // the whole reason, with its rule in front
        Assert.Contains(rule, error, StringComparison.Ordinal);
        // The header is the same text, cut to a header's length with the cut marked.
        Assert.StartsWith(message.Length == 300 && message.EndsWith("...", StringComparison.Ordinal) ? message[..^3] : message, error, StringComparison.Ordinal);
        Assert.Equal(message, Header(get, "X-Error-Message"));
        AssertNoXet(get);
        AssertNoXet(head);
    }

    /// <summary>
    /// No Xet header or link anywhere, or huggingface_hub would hand the download to hf_xet and the CAS host
    /// (<c>utils/_xet.py</c>).
    /// </summary>
    private static void AssertNoXet(HttpResponseMessage response)
    {
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            Assert.DoesNotContain("xet", header.Key, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(header.Value, v => v.Contains("xet", StringComparison.OrdinalIgnoreCase));
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The client
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>A 429/5xx a HEAD got before it was retried, as the client logs it.</summary>
    private sealed record RetriedAnswer(HttpStatusCode Status, string? RetryAfterRaw, int? RetryAfterSeconds, string? ErrorMessage);

    /// <summary>
    /// <c>HfFileMetadata</c> (commit, etag, size and location, as <c>get_hf_file_metadata</c> reads them) plus the
    /// final HEAD answer it was read from.
    /// </summary>
    private sealed record FileMetadata(string? CommitHash, string? Etag, long? Size, Uri Location, Uri RequestUrl, bool Redirected, HttpResponseMessage Head);

    /// <summary>
    /// The HTTP side of huggingface_hub, replayed (its <c>file_download.py</c> and <c>utils/_http.py</c>): every request
    /// carries <c>user-agent</c>, <c>authorization: Bearer</c> (dropped for another host), <c>X-Amzn-Trace-Id</c> and
    /// the HTTP library's defaults; the HEAD asks <c>Accept-Encoding: identity</c> and follows relative redirects only,
    /// by hand; a HEAD that fails with 429/5xx is sent again with retries (5, backoff 1 → 8 s, never sooner than
    /// <c>Retry-After</c>); the GET resumes with <c>Range: bytes=&lt;n&gt;-</c>.
    /// </summary>
    private sealed class HubClient(HttpClient http, Uri gatehouse, string token, string userAgent, ITestOutputHelper output)
    {
        /// <summary>httpx's default (the GET, unlike the HEAD, does not ask for identity).</summary>
        public const string HttpxAcceptEncoding = "gzip, deflate";

        private const int MaxRetries = 5;
        private static readonly int[] RetryOnStatus = [429, 500, 502, 503, 504];

        /// <summary><c>HF_ENDPOINT</c>: Gatehouse's <c>/hf</c>.</summary>
        public string Endpoint { get; } = gatehouse.GetLeftPart(UriPartial.Authority) + "/hf";

        /// <summary><c>hf_hub_url</c>: <c>quote(revision, safe="")</c>, <c>quote(filename)</c> (slashes kept).</summary>
        public Uri ResolveUrl(string repoType, string repoId, string revision, string path) =>
            new($"{Endpoint}/{(repoType == "dataset" ? "datasets/" : "")}{repoId}/resolve/{Uri.EscapeDataString(revision)}/"
                + string.Join('/', path.Split('/').Select(Uri.EscapeDataString)), in Verbatim);

        /// <summary>
        /// One request as the client's HTTP library sends it. A GET follows redirects as httpx does (at most 20, the
        /// <c>Authorization</c> header only to the same origin): Gatehouse redirects a huggingface_hub GET back to itself
        /// while a cold file is being scanned.
        /// </summary>
        public async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, string acceptEncoding, string? range = null, bool authorization = true)
        {
            var origin = url.GetLeftPart(UriPartial.Authority);
            for (var redirects = 0; ; redirects++)
            {
                var response = await SendOnceAsync(method, url, acceptEncoding, range, authorization && url.GetLeftPart(UriPartial.Authority) == origin);
                if (method != HttpMethod.Get || (int)response.StatusCode is < 300 or >= 400 || response.Headers.Location is not { } location)
                {
                    return response;
                }
                Assert.True(redirects < 20, $"GET {url} redirected more than 20 times (httpx.TooManyRedirects)");
                response.Dispose();
                url = location.IsAbsoluteUri ? location : new Uri(new Uri(url.GetLeftPart(UriPartial.Authority)), location.OriginalString);
            }
        }

        private async Task<HttpResponseMessage> SendOnceAsync(HttpMethod method, Uri url, string acceptEncoding, string? range, bool authorization)
        {
            using var request = new HttpRequestMessage(method, url);
            request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
            request.Headers.TryAddWithoutValidation("Accept", "*/*");
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
            request.Headers.TryAddWithoutValidation("X-Amzn-Trace-Id", Guid.NewGuid().ToString());
            if (authorization)
            {
                request.Headers.TryAddWithoutValidation("authorization", $"Bearer {token}");
            }
            if (range is not null)
            {
                request.Headers.TryAddWithoutValidation("Range", range);
            }
            var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            output.WriteLine($"{method} {url} → {(int)response.StatusCode} {Header(response, "X-Error-Code")}");
            return response;
        }

        /// <summary>
        /// <c>get_hf_file_metadata</c> as <c>_hf_hub_download_to_cache_dir</c> calls it: first without retries (fast
        /// fallback to a cached copy); when that fails with a retryable status and nothing is cached, once more with
        /// retries (1.x). 0.2x sends the single HEAD only.
        /// </summary>
        public async Task<FileMetadata> GetFileMetadataAsync(Uri url, bool retryOnErrors = true)
        {
            var (head, finalUrl) = await HeadFollowingRelativeRedirectsAsync(url, retries: 0);
            if (retryOnErrors && RetryOnStatus.Contains((int)head.StatusCode))
            {
                head.Dispose();
                (head, finalUrl) = await HeadFollowingRelativeRedirectsAsync(url, retries: MaxRetries);
            }
            var status = (int)head.StatusCode;
            var redirected = status is >= 300 and < 400;
            var location = head.Headers.Location is { } l ? (l.IsAbsoluteUri ? l : new Uri(finalUrl, l)) : finalUrl;
            return new FileMetadata(
                Header(head, "X-Repo-Commit"),
                NormalizeEtag(Header(head, "X-Linked-Etag") ?? Header(head, "ETag")),
                long.TryParse(Header(head, "X-Linked-Size") ?? Header(head, "Content-Length"), NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : null,
                location,
                url,
                redirected,
                head);
        }

        /// <summary>
        /// <c>http_get</c> cut after <paramref name="interruptAfter"/> bytes (a connection reset mid-body), then resumed
        /// in process with <c>Range: bytes=&lt;n&gt;-</c>, as <c>http_get</c> retries; returns the reassembled file.
        /// </summary>
        public async Task<byte[]> DownloadWithResumeAsync(FileMetadata metadata, int interruptAfter)
        {
            var size = metadata.Size!.Value;
            Assert.InRange(interruptAfter, 1, size - 1);
            var authorization = SameHost(metadata);
            var first = new byte[interruptAfter];
            using (var get = await SendAsync(HttpMethod.Get, metadata.Location, HttpxAcceptEncoding, authorization: authorization))
            {
                Assert.Equal(HttpStatusCode.OK, get.StatusCode);
                AssertIdentityBody(get, size);
                if (metadata.CommitHash is { } commit && SameHost(metadata))
                {
                    Assert.Equal(commit, Header(get, "X-Repo-Commit"));
                }
                if (SameHost(metadata))
                {
                    Assert.Equal(metadata.Etag, NormalizeEtag(Header(get, "X-Linked-Etag") ?? Header(get, "ETag")));
                    Assert.Equal("bytes", Header(get, "Accept-Ranges"));
                }
                AssertNoXet(get);
                await using var body = await get.Content.ReadAsStreamAsync();
                await body.ReadExactlyAsync(first);
            } // the connection drops here, mid-body

            using var resumed = await SendAsync(HttpMethod.Get, metadata.Location, HttpxAcceptEncoding, range: $"bytes={interruptAfter.ToString(CultureInfo.InvariantCulture)}-", authorization: authorization);
            // A 200 here would make the client truncate and start over; Gatehouse must honour the range.
            Assert.Equal(HttpStatusCode.PartialContent, resumed.StatusCode);
            Assert.Equal($"bytes {interruptAfter}-{size - 1}/{size}", resumed.Content.Headers.ContentRange?.ToString());
            Assert.Equal(size - interruptAfter, resumed.Content.Headers.ContentLength);
            var rest = await resumed.Content.ReadAsByteArrayAsync();
            return [.. first, .. rest];
        }

        /// <summary>A body the client can size-check: not re-encoded, and exactly the advertised size.</summary>
        private static void AssertIdentityBody(HttpResponseMessage get, long size)
        {
            Assert.Empty(get.Content.Headers.ContentEncoding);
            Assert.Equal(size, get.Content.Headers.ContentLength);
        }

        private static bool SameHost(FileMetadata metadata) => metadata.Location.Authority == metadata.RequestUrl.Authority;

        /// <summary>
        /// <c>_httpx_follow_relative_redirects_with_backoff</c>: no automatic redirects; a relative <c>Location</c> is
        /// followed by hand (path only, query dropped, as up to 1.28), an absolute one is the final answer.
        /// </summary>
        private async Task<(HttpResponseMessage Response, Uri Url)> HeadFollowingRelativeRedirectsAsync(Uri url, int retries)
        {
            for (var hop = 0; hop < 10; hop++)
            {
                var response = await SendWithBackoffAsync(url, retries);
                var status = (int)response.StatusCode;
                if (status is >= 300 and < 400 && response.Headers.Location is { IsAbsoluteUri: false } relative)
                {
                    var path = relative.OriginalString.Split('?', 2)[0];
                    url = new Uri(url.GetLeftPart(UriPartial.Authority) + path, in Verbatim);
                    response.Dispose();
                    continue;
                }
                return (response, url);
            }
            throw new InvalidOperationException($"more than 10 relative redirects from {url}");
        }

        /// <summary><c>http_backoff</c>: retries on 429/5xx, waiting 1, 2, 4, 8, 8 s (at least <c>Retry-After</c>).</summary>
        private async Task<HttpResponseMessage> SendWithBackoffAsync(Uri url, int retries)
        {
            var wait = 1;
            for (var attempt = 0; ; attempt++)
            {
                var response = await SendAsync(HttpMethod.Head, url, "identity");
                if (attempt >= retries || !RetryOnStatus.Contains((int)response.StatusCode))
                {
                    return response;
                }
                var answer = Describe(response);
                response.Dispose();
                var seconds = Math.Max(wait, answer.RetryAfterSeconds ?? 0);
                output.WriteLine($"  {(int)answer.Status} (Retry-After {answer.RetryAfterRaw ?? "none"}): retry {attempt + 1}/{retries} in {seconds} s");
                await Task.Delay(TimeSpan.FromSeconds(seconds));
                wait = Math.Min(8, wait * 2);
            }
        }

        private static RetriedAnswer Describe(HttpResponseMessage response)
        {
            var raw = Header(response, "Retry-After");
            int? seconds = int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null;
            return new RetriedAnswer(response.StatusCode, raw, seconds, Header(response, "X-Error-Message"));
        }

        /// <summary><c>_normalize_etag</c>: <c>etag.lstrip("W/").strip('"')</c>.</summary>
        private static string? NormalizeEtag(string? etag) => etag?.TrimStart('W', '/').Trim('"');

        /// <summary>The body as text, decoded the way httpx/requests decode <c>Content-Encoding</c>.</summary>
        public static async Task<string> ReadTextAsync(HttpResponseMessage response)
        {
            await using var raw = await response.Content.ReadAsStreamAsync();
            var body = response.Content.Headers.ContentEncoding.LastOrDefault() switch
            {
                "gzip" => new GZipStream(raw, CompressionMode.Decompress),
                "deflate" => new ZLibStream(raw, CompressionMode.Decompress),
                "br" => new BrotliStream(raw, CompressionMode.Decompress),
                null => raw,
                var other => throw new InvalidOperationException($"unexpected Content-Encoding {other}"),
            };
            await using (body)
            {
                using var reader = new StreamReader(body, Encoding.UTF8);
                return await reader.ReadToEndAsync();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The fixtures (tests/fixtures/hf/repos.json, written by scripts/fixtures/make_hf_fixtures.py)
    // ---------------------------------------------------------------------------------------------------------------

    private sealed record HfFixtureLfs(string Oid, long Size);

    /// <summary>A file at a commit: git blob sha1 of its bytes, tree <c>oid</c>, and <c>lfs</c> for LFS files.</summary>
    private sealed record HfFixtureFile(string Path, long Size, string Sha1, string Oid, HfFixtureLfs? Lfs)
    {
        /// <summary>The etag huggingface_hub keys its blob cache by: the LFS sha256, else the git blob sha1.</summary>
        public string Etag => Lfs?.Oid ?? Sha1;
    }

    private sealed record HfFixtureRepo(
        string Type, string Id, IReadOnlyDictionary<string, string> Branches, IReadOnlyDictionary<string, string> Tags,
        IReadOnlyDictionary<string, string> Pulls, IReadOnlyDictionary<string, IReadOnlyList<HfFixtureFile>> Commits)
    {
        public HfFixtureFile File(string commit, string path) =>
            Commits[commit].SingleOrDefault(f => f.Path == path) ?? throw new InvalidOperationException($"{path} is not in {Id}@{commit}");

        public string ResolveRevision(string revision) =>
            Branches.GetValueOrDefault(revision) ?? Tags.GetValueOrDefault(revision) ?? Pulls.GetValueOrDefault(revision)
            ?? (Commits.ContainsKey(revision) ? revision : throw new InvalidOperationException($"{revision} is not a revision of {Id}"));
    }

    private static class HfFixtures
    {
        private static readonly Lazy<IReadOnlyList<HfFixtureRepo>> Repos = new(Load);

        private static string Folder => Path.Combine(TestEnvironment.RepoRoot, "tests", "fixtures", "hf");

        public static string ObjectPath(string sha1) => Path.Combine(Folder, "objects", sha1);

        public static HfFixtureRepo Repo(string type, string id) => Repos.Value.Single(r => r.Type == type && r.Id == id);

        private static IReadOnlyList<HfFixtureRepo> Load()
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "repos.json")));
            return doc.RootElement.GetProperty("repos").EnumerateArray().Select(repo =>
            {
                var refs = repo.GetProperty("refs");
                return new HfFixtureRepo(
                    repo.GetProperty("type").GetString()!,
                    repo.GetProperty("id").GetString()!,
                    Map(refs.GetProperty("branches")),
                    Map(refs.GetProperty("tags")),
                    Map(refs.GetProperty("pulls")),
                    repo.GetProperty("commits").EnumerateArray().ToDictionary(
                        c => c.GetProperty("id").GetString()!,
                        c => (IReadOnlyList<HfFixtureFile>)c.GetProperty("files").EnumerateArray().Select(ReadFile).OrderBy(f => f.Path, StringComparer.Ordinal).ToList()));
            }).ToList();
        }

        private static HfFixtureFile ReadFile(JsonElement f) => new(
            f.GetProperty("path").GetString()!,
            f.GetProperty("size").GetInt64(),
            f.GetProperty("sha1").GetString()!,
            f.GetProperty("oid").GetString()!,
            f.TryGetProperty("lfs", out var lfs) ? new HfFixtureLfs(lfs.GetProperty("oid").GetString()!, lfs.GetProperty("size").GetInt64()) : null);

        private static Dictionary<string, string> Map(JsonElement element) =>
            element.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
    }
}
