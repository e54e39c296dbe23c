using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.Storage;
using Gatehouse.Tokens;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Every route of <see cref="GatehouseRoutes.All"/>, one representative request each, against every kind of token: exactly
/// the cells the table allows get the route's own answer; the rest are refused 401 (no live credential) or 403 (a
/// live token that may not do this). Plus: a revocation made by another process is honoured within 2 s, and an address
/// that guesses is answered 429 with Retry-After.
/// </summary>
public sealed class ScopeMatrixTests(ScopeMatrixTests.Fixture fixture, ITestOutputHelper output) : IClassFixture<ScopeMatrixTests.Fixture>
{
    private const string Ok = "ok";
    private const string Unauthorized = "401";
    private const string Forbidden = "403";

    /// <summary>The kinds of caller, in the table's column order.</summary>
    private static readonly string[] Callers = ["none", "read", "scoped", "admin", "expired", "revoked", "over-limit", "wrong-ip"];

    /// <summary>
    /// What each caller gets from each route. "scoped" holds pypi:read=other-* and hf:read=other-org/ (neither covers the
    /// project or repo asked for); "over-limit" is a read token with a one-download limit that downloaded once;
    /// "wrong-ip" a read token allowed from 10.0.0.0/8 only.
    /// </summary>
    private static readonly Dictionary<string, string[]> Expected = new(StringComparer.Ordinal)
    {
        //                  none          read       scoped     admin  expired       revoked       over-limit wrong-ip
        ["PypiSimple"] = [Unauthorized, Ok, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["PypiFiles"] = [Unauthorized, Ok, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["PypiIntegrity"] = [Unauthorized, Ok, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["PypiJson"] = [Unauthorized, Ok, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["HuggingFace"] = [Unauthorized, Ok, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["AdminTokens"] = [Unauthorized, Forbidden, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["AdminPrefetch"] = [Unauthorized, Forbidden, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["AdminPolicy"] = [Unauthorized, Forbidden, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["AdminOsv"] = [Unauthorized, Forbidden, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["Health"] = [Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok],
        ["OsvApi"] = [Unauthorized, Ok, Ok, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["AdminBom"] = [Unauthorized, Forbidden, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["AdminAudit"] = [Unauthorized, Forbidden, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["AdminQuarantine"] = [Unauthorized, Forbidden, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["AdminOpenApi"] = [Unauthorized, Forbidden, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["Uploads"] = [Unauthorized, Ok, Ok, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["AdminRescan"] = [Unauthorized, Forbidden, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        // The console's page holds no data: anyone may load it; what it shows comes from the admin API.
        ["Console"] = [Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok],
        ["AdminStats"] = [Unauthorized, Forbidden, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["AdminArtifacts"] = [Unauthorized, Forbidden, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        // Container images need oci:read, which neither legacy read nor the scoped token holds.
        ["Oci"] = [Unauthorized, Forbidden, Forbidden, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        ["OciRoot"] = [Unauthorized, Ok, Ok, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
        // The token endpoint issues a token holding only what the entitlement covers (none for read), as Docker's token spec says.
        ["OciToken"] = [Unauthorized, Ok, Ok, Ok, Unauthorized, Unauthorized, Forbidden, Forbidden],
    };

    [Fact]
    public Task Exactly_the_allowed_cells_of_every_route_and_caller_succeed() => fixture.Stack.RunAsync(output, async () =>
    {
        Assert.Equal(GatehouseRoutes.All.Select(r => r.Name).Order(StringComparer.Ordinal), Expected.Keys.Order(StringComparer.Ordinal));
        var requests = fixture.Requests;
        Assert.Equal(Expected.Keys.Order(StringComparer.Ordinal), requests.Keys.Order(StringComparer.Ordinal));

        var table = new StringBuilder($"{"route",-15}" + string.Concat(Callers.Select(c => $"{c,-12}")) + "\n");
        var wrong = new List<string>();
        foreach (var (route, expected) in Expected)
        {
            var request = requests[route];
            table.Append(CultureInfo.InvariantCulture, $"{route,-15}");
            for (var i = 0; i < Callers.Length; i++)
            {
                var (status, detail) = await fixture.SendAsync(request, fixture.Secrets[Callers[i]]);
                var got = status == request.Success ? Ok : ((int)status).ToString(CultureInfo.InvariantCulture);
                // A refusal must be the token's, not another 403 (a policy's) that happens to share the status.
                if (got is Unauthorized or Forbidden && !detail.Contains("token", StringComparison.Ordinal))
                {
                    got += "(not the token's)";
                }
                table.Append(CultureInfo.InvariantCulture, $"{(got == expected[i] ? got : $"{got}≠{expected[i]}"),-12}");
                if (got != expected[i])
                {
                    wrong.Add($"{route} × {Callers[i]}: expected {expected[i]}, got {(int)status} {detail}");
                }
            }
            table.Append('\n');
        }
        output.WriteLine(table.ToString());
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));

        // The files the read token downloaded were counted against it, by the host, through the download observer.
        using var admin = fixture.ClientFor(fixture.Secrets["admin"], bearer: true);
        var read = await admin.GetFromJsonAsync<JsonElement>($"admin/tokens/{fixture.Ids["read"]}");
        Assert.Equal(1, read.GetProperty("downloads").GetInt64());
        Assert.Equal(fixture.Wheel.Size, read.GetProperty("bytes").GetInt64());
        Assert.True(read.TryGetProperty("lastUsedAt", out _), read.ToString());
    });

    [Fact]
    public Task A_revocation_by_another_process_is_honoured_by_the_running_host_within_two_seconds() => fixture.Stack.RunAsync(output, async () =>
    {
        var tokens = fixture.NewService();
        var created = await tokens.CreateAsync("e2e revoke elsewhere", TokenScope.Read, CancellationToken.None);
        var request = fixture.Requests["PypiJson"];
        Assert.Equal(HttpStatusCode.OK, (await fixture.SendAsync(request, created.Secret)).Status);

        var clock = Stopwatch.StartNew();
        Assert.True(await tokens.RevokeAsync(created.Token.Id, "another process", CancellationToken.None));
        var revokedAfter = clock.Elapsed;
        HttpStatusCode status;
        do
        {
            status = (await fixture.SendAsync(request, created.Secret)).Status;
        }
        while (status == HttpStatusCode.OK && clock.Elapsed < TimeSpan.FromSeconds(5));
        output.WriteLine($"revocation written in {revokedAfter.TotalMilliseconds:F0} ms; refused by the host {clock.Elapsed.TotalMilliseconds:F0} ms after the revocation began");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"the host honoured the revocation after {clock.Elapsed.TotalMilliseconds:F0} ms");
    });

    [Fact]
    public Task An_address_that_keeps_failing_is_answered_429_with_Retry_After_and_may_try_again_after_it() => fixture.Stack.RunAsync(output, async () =>
    {
        var request = fixture.Requests["PypiJson"];
        var guesses = Enumerable.Range(0, 2000).Select(_ => $"ght_{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()[..6])}_{new string('0', 48)}").ToArray();
        var clock = Stopwatch.StartNew();
        var statuses = new List<(HttpStatusCode Status, string? RetryAfter)>();
        using var gate = new SemaphoreSlim(16);
        var tasks = guesses.Select(async guess =>
        {
            await gate.WaitAsync();
            try
            {
                using var client = fixture.ClientFor(guess, bearer: false);
                using var response = await client.GetAsync(request.Path);
                return (response.StatusCode, response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(CultureInfo.InvariantCulture));
            }
            finally
            {
                gate.Release();
            }
        });
        statuses.AddRange(await Task.WhenAll(tasks));
        var elapsed = clock.Elapsed;
        var unauthorized = statuses.Count(s => s.Status == HttpStatusCode.Unauthorized);
        var tooMany = statuses.Count(s => s.Status == HttpStatusCode.TooManyRequests);
        output.WriteLine($"{guesses.Length} wrong guesses in {elapsed.TotalSeconds:F2} s: {unauthorized} answered 401, {tooMany} answered 429 " +
            $"(limit {Fixture.FailureLimit} per {Fixture.FailureWindowSeconds} s)");
        Assert.Equal(guesses.Length, unauthorized + tooMany);
        // At most the limit per window gets a 401 (a window may end while the guesses run).
        var windows = (int)Math.Ceiling(elapsed.TotalSeconds / Fixture.FailureWindowSeconds) + 1;
        Assert.InRange(unauthorized, Fixture.FailureLimit, Fixture.FailureLimit * windows);
        Assert.All(statuses.Where(s => s.Status == HttpStatusCode.TooManyRequests), s => Assert.InRange(double.Parse(s.RetryAfter!, CultureInfo.InvariantCulture), 1, Fixture.FailureWindowSeconds));

        // While held back, even a valid token from this address waits; once the window ends, it is served.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await fixture.SendAsync(request, fixture.Secrets["read"])).Status);
        await Task.Delay(TimeSpan.FromSeconds(Fixture.FailureWindowSeconds + 1));
        Assert.Equal(HttpStatusCode.OK, (await fixture.SendAsync(request, fixture.Secrets["read"])).Status);
    });

    /// <summary>One representative request of a route and the status it answers an allowed caller.</summary>
    public sealed record RouteRequest(HttpMethod Method, string Path, HttpStatusCode Success, bool HuggingFace = false, object? Body = null);

    /// <summary>
    /// A Gatehouse of its own (its failure counter must not reach the shared host; a short window lets the 429 test end),
    /// with a token of each kind and the upstream content the representative requests need.
    /// </summary>
    public sealed class Fixture : IAsyncLifetime
    {
        // Above the matrix's own failed authentications (an expired and a revoked token on every route, 23 routes).
        public const int FailureLimit = 60;
        public const int FailureWindowSeconds = 5;
        private const string Project = "gh-scopes";
        // A repo of its own per run: the names table remembers repos across runs, and one seen before with another
        // creation time would be refused as a reused namespace.
        private static readonly string Repo = $"scopes-org/model-{Guid.NewGuid():N}";

        private GatehouseStack? _stack;

        public GatehouseStack Stack => _stack ?? throw new InvalidOperationException("The scope-matrix Gatehouse did not start.");
        public Dictionary<string, string?> Secrets { get; } = new(StringComparer.Ordinal) { ["none"] = null };
        public Dictionary<string, string> Ids { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, RouteRequest> Requests { get; } = new(StringComparer.Ordinal);
        public SyntheticFile Wheel { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            _stack = await GatehouseStack.StartAsync("scopes", s => s with { AuthFailures = (FailureLimit, FailureWindowSeconds) });
            Wheel = await Stack.Sim.SyntheticAsync(Project, "1.0.0", 4096);
            await Stack.Sim.ProvenanceAsync(Wheel.Filename);
            await Stack.Sim.HfSyntheticAsync(Repo, new HfSyntheticSpec("config.json", 64, "text"));

            Requests["PypiSimple"] = new(HttpMethod.Get, $"pypi/simple/{Project}/", HttpStatusCode.OK);
            Requests["PypiFiles"] = new(HttpMethod.Get, GatehouseStack.FileUrl(Project, Wheel.Sha256, Wheel.Filename), HttpStatusCode.OK);
            Requests["PypiIntegrity"] = new(HttpMethod.Get, $"pypi/integrity/{Project}/1.0.0/{Wheel.Filename}/provenance", HttpStatusCode.OK);
            Requests["PypiJson"] = new(HttpMethod.Get, $"pypi/{Project}/json", HttpStatusCode.OK);
            Requests["HuggingFace"] = new(HttpMethod.Get, $"hf/api/models/{Repo}", HttpStatusCode.OK, HuggingFace: true);
            Requests["AdminTokens"] = new(HttpMethod.Get, "admin/tokens", HttpStatusCode.OK);
            // No such prefetch: the handler's own 404, which only a caller let through gets.
            Requests["AdminPrefetch"] = new(HttpMethod.Get, "admin/prefetch/hf/prefetch-00000000000000000000000000000000", HttpStatusCode.NotFound);
            Requests["AdminPolicy"] = new(HttpMethod.Get, "admin/policy", HttpStatusCode.OK);
            Requests["AdminOsv"] = new(HttpMethod.Get, "admin/osv", HttpStatusCode.OK);
            Requests["Health"] = new(HttpMethod.Get, "healthz", HttpStatusCode.OK);
            Requests["OsvApi"] = new(HttpMethod.Post, "osv/v1/query", HttpStatusCode.OK, Body: new { package = new { name = Project, ecosystem = "PyPI" } });
            Requests["AdminBom"] = new(HttpMethod.Get, $"admin/bom/pypi/{Project}", HttpStatusCode.OK);
            Requests["AdminAudit"] = new(HttpMethod.Get, "admin/audit?action=download", HttpStatusCode.OK);
            Requests["AdminQuarantine"] = new(HttpMethod.Get, "admin/quarantine", HttpStatusCode.OK);
            Requests["AdminOpenApi"] = new(HttpMethod.Get, "admin/openapi.json", HttpStatusCode.OK);
            // No such upload: the handler's own 404, which only a caller let through gets.
            // No rescan ran on this host yet: the handler's own 404, which only a caller let through gets.
            Requests["AdminRescan"] = new(HttpMethod.Get, "admin/rescan/gatehouse-rescan", HttpStatusCode.NotFound);
            Requests["Uploads"] = new(HttpMethod.Get, "uploads/models/scopes-org/none/model.bin", HttpStatusCode.NotFound);
            Requests["Console"] = new(HttpMethod.Get, "console/", HttpStatusCode.OK);
            Requests["AdminStats"] = new(HttpMethod.Get, "admin/stats", HttpStatusCode.OK);
            Requests["AdminArtifacts"] = new(HttpMethod.Get, $"admin/artifacts?q={Project}", HttpStatusCode.OK);
            Requests["Oci"] = new(HttpMethod.Get, "v2/library/clean/tags/list", HttpStatusCode.OK);
            Requests["OciRoot"] = new(HttpMethod.Get, "v2/", HttpStatusCode.OK);
            Requests["OciToken"] = new(HttpMethod.Get, "oci/token?service=gatehouse&scope=repository:library/clean:pull", HttpStatusCode.OK);

            var tokens = NewService();
            async Task AddAsync(string caller, IReadOnlyList<string> scopes, TokenLimits limits)
            {
                var created = await tokens.CreateAsync($"e2e {caller}", TokenGrant.ParseAll(scopes), limits, "the scope matrix", CancellationToken.None);
                Secrets[caller] = created.Secret;
                Ids[caller] = created.Token.Id;
            }
            await AddAsync("read", ["read"], TokenLimits.None);
            await AddAsync("scoped", ["pypi:read=other-*", "hf:read=other-org/"], TokenLimits.None);
            await AddAsync("admin", ["admin"], TokenLimits.None);
            await AddAsync("expired", ["read"], new TokenLimits(ExpiresAt: DateTimeOffset.UtcNow.AddMinutes(-1)));
            await AddAsync("revoked", ["read"], TokenLimits.None);
            Assert.True(await tokens.RevokeAsync(Ids["revoked"], "the scope matrix", CancellationToken.None));
            await AddAsync("over-limit", ["read"], new TokenLimits(MaxDownloads: 1));
            await AddAsync("wrong-ip", ["read"], new TokenLimits(AllowedIps: ["10.0.0.0/8"]));

            // The index first (the file is served only once its index was seen), then the one download the limit allows.
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(Requests["PypiSimple"], Secrets["admin"])).Status);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(Requests["PypiFiles"], Secrets["over-limit"])).Status);
        }

        public async Task DisposeAsync()
        {
            if (_stack is not null)
            {
                await _stack.DisposeAsync();
            }
        }

        /// <summary>A token service of "another process": straight on the storage account, with a cache of its own.</summary>
        public EntitlementTokenService NewService()
        {
            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = TestEnvironment.StorageConnectionString })
                .Build();
            return EntitlementTokenService.ForStorage(GatehouseStorage.FromConfiguration(configuration), TimeProvider.System, new MemoryCache(new MemoryCacheOptions()));
        }

        /// <summary>A client presenting <paramref name="secret"/> as Bearer (Hugging Face clients) or Basic (pip); none when null.</summary>
        public HttpClient ClientFor(string? secret, bool bearer)
        {
            var client = Stack.CreateClient(authenticated: false);
            if (secret is not null)
            {
                client.DefaultRequestHeaders.Authorization = bearer
                    ? new AuthenticationHeaderValue("Bearer", secret)
                    : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("__token__:" + secret)));
            }
            return client;
        }

        /// <summary>Sends the route's request; returns the status and, for a refusal, what the client is told.</summary>
        public async Task<(HttpStatusCode Status, string Detail)> SendAsync(RouteRequest route, string? secret)
        {
            using var client = ClientFor(secret, bearer: route.HuggingFace);
            using var request = new HttpRequestMessage(route.Method, route.Path);
            if (route.Body is not null)
            {
                request.Content = JsonContent.Create(route.Body);
            }
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var status = response.StatusCode;
            if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                // Each refusal in the client's own shape: the Hub's X-Error-Message under /hf, a Basic challenge with every 401.
                Assert.True(!route.HuggingFace || response.Headers.Contains("X-Error-Message"), $"{route.Path}: a Hub client would see no reason");
                Assert.True(status != HttpStatusCode.Unauthorized || response.Headers.WwwAuthenticate.Count > 0, $"{route.Path}: 401 without a challenge");
            }
            return (status, body.Length > 300 ? body[..300] : body);
        }
    }
}
