using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// The admin API the console reads, through the real host on a Gatehouse of its own (its counts must be exactly this
/// test's): a consumer downloads a clean synthetic wheel twice (a miss, then a hit) and is refused gh-evil's wheel
/// (blocked by the default policy); then <c>GET /admin/stats</c> counts both references by decision, today included,
/// lists the refusal and this host's lookups; <c>GET /admin/artifacts</c> finds each by subject, sha256 prefix and the
/// consumer's token; and the audit exports as CSV.
/// </summary>
public sealed class ConsoleApiTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string EvilProject = "gh-evil";
    private const string EvilWheel = "gh_evil-1.0.0-py3-none-any.whl";
    private const string EvilSha256 = "20ad5167cc1db7a87d3aa370bdee03d4a7999b717c1c31f38c55c16da48637b2";
    private const string Project = "gh-console";

    private PrivateGatehouse? _gatehouse;

    private GatehouseStack Stack => _gatehouse?.Stack ?? throw new InvalidOperationException("The console Gatehouse did not start.");

    public async Task InitializeAsync() => _gatehouse = await PrivateGatehouse.StartAsync("console");

    public async Task DisposeAsync()
    {
        if (_gatehouse is not null)
        {
            await _gatehouse.DisposeAsync();
        }
    }

    [Fact]
    public Task Stats_artifacts_and_the_audit_csv_show_an_allowed_download_and_a_refused_one() => Stack.RunAsync(output, async () =>
    {
        var consumer = await GatehouseStack.CreateTokenAsync(_gatehouse!.ConnectionString, "console consumer");
        var consumerId = consumer.Split('_')[1];
        var file = await Stack.Sim.SyntheticAsync(Project, "1.0", 6000, DateTimeOffset.UtcNow.AddDays(-30));
        using (var client = Stack.CreateClient(authenticated: false))
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(consumer + ":")));
            for (var i = 0; i < 2; i++)
            {
                using var allowed = await client.GetAsync(GatehouseStack.FileUrl(Project, file.Sha256, file.Filename));
                Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
            }
            using var refused = await client.GetAsync(GatehouseStack.FileUrl(EvilProject, EvilSha256, EvilWheel));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
        var evilSize = new FileInfo(Path.Combine(TestEnvironment.PyPIFixtures, EvilWheel)).Length;
        using var admin = await Stack.CreateAdminClientAsync("console admin");

        // The overview: two references by decision, both decided today (UTC), the refusal, and this host's one hit and two misses.
        var stats = await admin.GetFromJsonAsync<JsonElement>("admin/stats");
        output.WriteLine(stats.ToString());
        var artifacts = stats.GetProperty("artifacts");
        Assert.Equal((2, file.Size + evilSize, 1, 0, 1), (artifacts.GetProperty("count").GetInt64(), artifacts.GetProperty("bytes").GetInt64(),
            artifacts.GetProperty("allowed").GetInt64(), artifacts.GetProperty("quarantined").GetInt64(), artifacts.GetProperty("blocked").GetInt64()));
        var days = stats.GetProperty("verdictsByDay").EnumerateArray().ToList();
        Assert.Equal(30, days.Count);
        var today = days[^1];
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), today.GetProperty("day").GetString());
        Assert.Equal((1, 0, 1), (today.GetProperty("allowed").GetInt32(), today.GetProperty("quarantined").GetInt32(), today.GetProperty("blocked").GetInt32()));
        Assert.All(days[..^1], d => Assert.Equal(0, d.GetProperty("allowed").GetInt32() + d.GetProperty("quarantined").GetInt32() + d.GetProperty("blocked").GetInt32()));
        var refusal = Assert.Single(stats.GetProperty("latestRefusals").EnumerateArray());
        Assert.Equal((EvilSha256, EvilWheel, "Blocked", "install.pth-exec", "content-dangerous", "pypi"), (refusal.GetProperty("sha256").GetString(),
            refusal.GetProperty("file").GetString(), refusal.GetProperty("decision").GetString(), refusal.GetProperty("rule").GetString(),
            refusal.GetProperty("policyRule").GetString(), refusal.GetProperty("remote").GetString()));
        Assert.StartsWith("gh-evil ", refusal.GetProperty("subject").GetString(), StringComparison.Ordinal);
        var cache = stats.GetProperty("cache");
        Assert.Equal((1, 2, 0.3333), (cache.GetProperty("hits").GetInt64(), cache.GetProperty("misses").GetInt64(), cache.GetProperty("hitRatio").GetDouble()));
        Assert.True(cache.GetProperty("since").GetDateTimeOffset() < DateTimeOffset.UtcNow);
        Assert.Equal((0, 0), (stats.GetProperty("scans").GetProperty("running").GetInt32(), stats.GetProperty("scans").GetProperty("waiting").GetInt32()));

        // The search: by subject, by a sha256 prefix, by the consumer's token (what it downloaded: not the refused file).
        var bySubject = Assert.Single((await admin.GetFromJsonAsync<JsonElement>($"admin/artifacts?q={Project}")).GetProperty("items").EnumerateArray());
        Assert.Equal((file.Filename, file.Sha256, "Allowed", "1.0", file.Size), (bySubject.GetProperty("file").GetString(), bySubject.GetProperty("sha256").GetString(),
            bySubject.GetProperty("decision").GetString(), bySubject.GetProperty("version").GetString(), bySubject.GetProperty("size").GetInt64()));
        var byPrefix = Assert.Single((await admin.GetFromJsonAsync<JsonElement>($"admin/artifacts?q={EvilSha256[..12]}")).GetProperty("items").EnumerateArray());
        Assert.Equal((EvilWheel, "Blocked"), (byPrefix.GetProperty("file").GetString(), byPrefix.GetProperty("decision").GetString()));
        var byToken = await admin.GetFromJsonAsync<JsonElement>($"admin/artifacts?q={consumerId}");
        Assert.Equal([file.Filename], byToken.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("file").GetString()));
        Assert.False(byToken.GetProperty("truncated").GetBoolean());
        var newest = (await admin.GetFromJsonAsync<JsonElement>("admin/artifacts")).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, newest.Count);
        Assert.Empty((await admin.GetFromJsonAsync<JsonElement>("admin/artifacts?q=gh-&remote=hf")).GetProperty("items").EnumerateArray());
        using (var bad = await admin.GetAsync("admin/artifacts?limit=501"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        // The audit as CSV: the consumer's two downloads, as an attachment; and the decisions by Accept: text/csv.
        using (var csv = await admin.GetAsync($"admin/audit?token={consumerId}&action=download&format=csv"))
        {
            Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
            Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
            Assert.Equal("utf-8", csv.Content.Headers.ContentType?.CharSet);
            Assert.Equal("attachment; filename=\"gatehouse-audit.csv\"", Assert.Single(csv.Content.Headers.GetValues("Content-Disposition")));
            var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n");
            output.WriteLine(string.Join("\n", lines));
            Assert.Equal("at,action,subject,detail,tokenId,tokenName,clientIp,subjectTokenId,remote,artifactSubject,fileName,sha256", lines[0]);
            Assert.Equal(2, lines.Length - 2);
            Assert.All(lines[1..^1], l => Assert.Contains($",download,", l, StringComparison.Ordinal));
            Assert.All(lines[1..^1], l => Assert.EndsWith($",pypi,{Project} 1.0,{file.Filename},{file.Sha256}", l, StringComparison.Ordinal));
            Assert.All(lines[1..^1], l => Assert.Contains($",{consumerId},console consumer,", l, StringComparison.Ordinal));
        }
        using var request = new HttpRequestMessage(HttpMethod.Get, "admin/audit?action=decision");
        request.Headers.Accept.ParseAdd("text/csv");
        using var decisions = await admin.SendAsync(request);
        Assert.Equal("text/csv", decisions.Content.Headers.ContentType?.MediaType);
        var decided = (await decisions.Content.ReadAsStringAsync()).Split("\r\n")[1..^1];
        Assert.Contains(decided, l => l.Contains(EvilSha256, StringComparison.Ordinal) && l.Contains("Blocked", StringComparison.Ordinal));
        Assert.Contains(decided, l => l.Contains(file.Sha256, StringComparison.Ordinal) && l.Contains("Allowed", StringComparison.Ordinal));
    });
}
