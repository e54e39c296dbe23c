using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.Tokens;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// The quarantine workflow through the real host, the CLI and a real pip, on a Gatehouse of its own (its own Azurite:
/// overrides on gh-evil must not reach the other tests' hosts). gh-evil's wheel is blocked by the policy
/// (install.pth-exec); a reviewer releases it with a reason and an expiry and pip installs it while the index page is
/// still cached; the reviewer blocks it again and pip is refused with the block's reason; the audit holds each step,
/// and a release past its expiry allows nothing.
/// </summary>
public sealed class QuarantineTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string EvilWheel = "gh_evil-1.0.0-py3-none-any.whl";
    private const string EvilSha256 = "20ad5167cc1db7a87d3aa370bdee03d4a7999b717c1c31f38c55c16da48637b2";
    private const string Reviewer = "reviewer-alice";

    private PrivateGatehouse? _gatehouse;

    private GatehouseStack Stack => _gatehouse?.Stack ?? throw new InvalidOperationException("The quarantine Gatehouse did not start.");

    public async Task InitializeAsync() => _gatehouse = await PrivateGatehouse.StartAsync("quarantine");

    public async Task DisposeAsync()
    {
        if (_gatehouse is not null)
        {
            await _gatehouse.DisposeAsync();
        }
    }

    [Fact]
    public Task A_blocked_wheel_released_installs_with_pip_blocked_again_is_refused_with_the_reason_and_the_audit_holds_every_step() => Stack.RunAsync(output, async () =>
    {
        var adminToken = await GatehouseStack.CreateTokenAsync(_gatehouse!.ConnectionString, Reviewer, TokenScope.Admin);
        using var admin = Admin(adminToken);

        // Refused by the policy: blocked, listed, shown with its finding.
        var refused = await PipInstallEvilAsync();
        Assert.True(refused.ExitCode != 0, $"pip installed gh-evil:\n{refused}");
        Assert.Contains("install.pth-exec", refused.Output, StringComparison.Ordinal);
        var indexCachedAt = DateTimeOffset.UtcNow;
        var listed = await admin.GetFromJsonAsync<JsonElement>("admin/quarantine?remote=pypi&severity=dangerous&rule=content-dangerous");
        output.WriteLine(listed.ToString());
        var item = Assert.Single(listed.GetProperty("items").EnumerateArray(), i => i.GetProperty("sha256").GetString() == EvilSha256);
        Assert.Equal("Blocked", item.GetProperty("decision").GetString());
        Assert.Equal("install.pth-exec", item.GetProperty("rule").GetString());
        Assert.Equal("content-dangerous", item.GetProperty("policyRule").GetString());
        Assert.Matches("^policy-[0-9a-f]{12}$", item.GetProperty("policyVersion").GetString());
        Assert.Equal("Dangerous", item.GetProperty("severity").GetString());
        Assert.Equal(EvilWheel, item.GetProperty("file").GetString());
        Assert.Equal("quarantine", item.GetProperty("container").GetString());
        Assert.Contains(EvilSha256, item.GetProperty("firstRequester").GetProperty("subject").GetString(), StringComparison.Ordinal);
        Assert.Empty((await admin.GetFromJsonAsync<JsonElement>("admin/quarantine?severity=dangerous&remote=hf")).GetProperty("items").EnumerateArray());

        var shown = await admin.GetFromJsonAsync<JsonElement>($"admin/quarantine/{EvilSha256}");
        var finding = Assert.Single(shown.GetProperty("facts").GetProperty("findings").EnumerateArray(), f => f.GetProperty("rule").GetString() == "install.pth-exec");
        Assert.Equal("gh_evil_init.pth", finding.GetProperty("path").GetString());
        Assert.Equal("Dangerous", finding.GetProperty("severity").GetString());
        Assert.True(shown.GetProperty("report").GetProperty("results").GetArrayLength() > 1, $"the full report lists no check results: {shown}");
        var reference = Assert.Single(shown.GetProperty("references").EnumerateArray());
        Assert.Equal("Blocked", reference.GetProperty("decision").GetProperty("decision").GetString());

        // Released with a reason and an expiry, through the CLI: decided again at once, moved to artifacts, and pip installs it.
        var released = await CliAsync(0, "quarantine", "release", EvilSha256, "--reason", "vendor confirmed the .pth is a test fixture", "--expires", "2d",
            "--url", Stack.BaseAddress.ToString(), "--admin-token", adminToken);
        Assert.Contains($"Allowed by {Reviewer}", released.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"{EvilWheel}: Allowed (review.released)", released.StandardOutput, StringComparison.Ordinal);
        Assert.True(await Stack.Storage.BlobExistsAsync(StorageProbe.Artifacts, EvilSha256), "the released wheel is not in artifacts");
        Assert.False(await Stack.Storage.BlobExistsAsync(StorageProbe.Quarantine, EvilSha256), "the released wheel is still in quarantine");
        var installed = await PipInstallEvilAsync();
        Assert.True(installed.ExitCode == 0, $"pip could not install the released gh-evil:\n{installed}");
        // All of it while the index page Gatehouse cached before the release is still fresh.
        Assert.True(DateTimeOffset.UtcNow - indexCachedAt < TimeSpan.FromSeconds(Stack.Host.Settings.IndexTtlSeconds), "the release took effect only after the index TTL");

        // Blocked again: decided again at once, back to quarantine, and pip is told the block's reason.
        const string BlockReason = "the maintainer account was taken over";
        var blocked = await CliAsync(0, "quarantine", "block", EvilSha256, "--reason", BlockReason, "--url", Stack.BaseAddress.ToString(), "--admin-token", adminToken);
        Assert.Contains($"{EvilWheel}: Blocked (review.blocked)", blocked.StandardOutput, StringComparison.Ordinal);
        Assert.True(await Stack.Storage.BlobExistsAsync(StorageProbe.Quarantine, EvilSha256), "the blocked wheel is not in quarantine");
        Assert.False(await Stack.Storage.BlobExistsAsync(StorageProbe.Artifacts, EvilSha256), "the blocked wheel is still in artifacts");
        var refusedAgain = await PipInstallEvilAsync();
        Assert.True(refusedAgain.ExitCode != 0, $"pip installed gh-evil after the block:\n{refusedAgain}");
        Assert.Contains(BlockReason, refusedAgain.Output, StringComparison.Ordinal);

        // The audit, in order: the policy's block, the release (who, until when, why), the decision it made, pip's download, the block, its decision.
        var audit = (await admin.GetFromJsonAsync<JsonElement>($"admin/quarantine/{EvilSha256}")).GetProperty("audit").EnumerateArray()
            .Select(e => (Action: e.GetProperty("action").GetString()!, Detail: e.GetProperty("detail").GetString()!)).ToList();
        output.WriteLine(string.Join("\n", audit.Select(e => $"{e.Action}: {e.Detail}")));
        var steps = new (string Action, string Contains)[]
        {
            ("decision", "Blocked by install.pth-exec"),
            ("quarantine.release", $"released by {Reviewer}"),
            ("decision", "Allowed by review.released"),
            ("download", " bytes"),
            ("quarantine.block", $"blocked by {Reviewer}"),
            ("decision", "Blocked by review.blocked"),
        };
        var at = 0;
        foreach (var (action, contains) in steps)
        {
            var found = audit.FindIndex(at, e => e.Action == action && e.Detail.Contains(contains, StringComparison.Ordinal));
            Assert.True(found >= 0, $"the audit lacks {action} \"{contains}\" after step {at}:\n{string.Join("\n", audit.Select(e => $"{e.Action}: {e.Detail}")) }");
            at = found + 1;
        }
        Assert.Contains(audit, e => e.Action == "quarantine.release" && e.Detail.Contains("vendor confirmed the .pth is a test fixture", StringComparison.Ordinal));
        Assert.Equal(1, await Stack.Storage.AuditCountAsync("quarantine.release", EvilSha256));
        Assert.Equal(1, await Stack.Storage.AuditCountAsync("quarantine.block", EvilSha256));
    });

    [Fact]
    public Task A_release_past_its_expiry_no_longer_allows_a_lift_returns_the_decision_to_the_policy_and_a_rescan_renews_the_facts() => Stack.RunAsync(output, async () =>
    {
        using var admin = Admin(await GatehouseStack.CreateTokenAsync(_gatehouse!.ConnectionString, Reviewer, TokenScope.Admin));
        using var client = Stack.CreateClient();
        var file = GatehouseStack.FileUrl("gh-evil", EvilSha256, EvilWheel);
        using (var before = await client.GetAsync(file))
        {
            Assert.Equal(HttpStatusCode.Forbidden, before.StatusCode);
        }

        var expires = DateTimeOffset.UtcNow.AddSeconds(6);
        using (var release = await admin.PostAsJsonAsync($"admin/quarantine/{EvilSha256}/release", new { reason = "a short waiver", expires = expires.ToString("O") }))
        {
            Assert.True(release.IsSuccessStatusCode, $"release answered {(int)release.StatusCode}: {await release.Content.ReadAsStringAsync()}");
        }
        using (var during = await client.GetAsync(file))
        {
            Assert.True(during.StatusCode == HttpStatusCode.OK, $"the released wheel answered {(int)during.StatusCode}: {await during.Content.ReadAsStringAsync()}");
        }

        await Task.Delay(expires - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1));
        using (var after = await client.GetAsync(file))
        {
            var body = await after.Content.ReadAsStringAsync();
            Assert.True(after.StatusCode == HttpStatusCode.Forbidden, $"the wheel answered {(int)after.StatusCode} after its release expired: {body}");
            Assert.Contains("install.pth-exec", body, StringComparison.Ordinal);
        }
        var shown = await admin.GetFromJsonAsync<JsonElement>($"admin/quarantine/{EvilSha256}");
        Assert.Equal("expired", shown.GetProperty("overrides")[0].GetProperty("state").GetString());
        Assert.Equal("install.pth-exec", shown.GetProperty("references")[0].GetProperty("decision").GetProperty("rule").GetString());

        // Lifting the lapsed release leaves the policy's decision; a second lift finds nothing to lift.
        using (var lift = await admin.PostAsJsonAsync($"admin/quarantine/{EvilSha256}/lift", new { reason = "lapsed" }))
        {
            var body = await lift.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(lift.IsSuccessStatusCode, $"lift answered {(int)lift.StatusCode}: {body}");
            Assert.Equal("Blocked", body.GetProperty("references")[0].GetProperty("decision").GetProperty("decision").GetString());
        }
        using (var again = await admin.PostAsJsonAsync($"admin/quarantine/{EvilSha256}/lift", new { reason = "again" }))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }
        // A re-scan forgets the facts and scans the content again: new facts, the same decision, and the audit says who asked.
        var scannedBefore = shown.GetProperty("facts").GetProperty("scannedAt").GetDateTimeOffset();
        using (var rescan = await admin.PostAsync($"admin/quarantine/{EvilSha256}/rescan", null))
        {
            Assert.True(rescan.StatusCode == HttpStatusCode.Accepted, $"rescan answered {(int)rescan.StatusCode}: {await rescan.Content.ReadAsStringAsync()}");
        }
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        JsonElement rescanned;
        do
        {
            await Task.Delay(500);
            rescanned = await admin.GetFromJsonAsync<JsonElement>($"admin/quarantine/{EvilSha256}");
        }
        while (!(rescanned.GetProperty("facts").ValueKind == JsonValueKind.Object && rescanned.GetProperty("facts").GetProperty("scannedAt").GetDateTimeOffset() > scannedBefore)
            && DateTimeOffset.UtcNow < deadline);
        Assert.True(rescanned.GetProperty("facts").ValueKind == JsonValueKind.Object, $"no facts a minute after the re-scan: {rescanned}");
        Assert.True(rescanned.GetProperty("facts").GetProperty("scannedAt").GetDateTimeOffset() > scannedBefore, "the facts were not renewed by the re-scan");
        Assert.Equal("quarantine", rescanned.GetProperty("facts").GetProperty("container").GetString());
        Assert.Contains(rescanned.GetProperty("audit").EnumerateArray(), e => e.GetProperty("action").GetString() == "quarantine.rescan"
            && e.GetProperty("detail").GetString()!.Contains(Reviewer, StringComparison.Ordinal));

        // A release must say why and until when.
        using (var unexplained = await admin.PostAsJsonAsync($"admin/quarantine/{EvilSha256}/release", new { expires = DateTimeOffset.UtcNow.AddDays(1).ToString("O") }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, unexplained.StatusCode);
        }
    });

    [Fact]
    public Task The_admin_OpenAPI_document_is_served_to_admin_tokens_only() => Stack.RunAsync(output, async () =>
    {
        using var admin = Admin(await GatehouseStack.CreateTokenAsync(_gatehouse!.ConnectionString, Reviewer, TokenScope.Admin));
        var document = await admin.GetFromJsonAsync<JsonElement>("admin/openapi.json");
        Assert.StartsWith("3.0", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.True(document.GetProperty("paths").TryGetProperty("/admin/quarantine/{sha256}/release", out _), "the document lacks the release operation");

        using var reader = Stack.CreateClient();
        using var refused = await reader.GetAsync("admin/openapi.json");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    });

    private HttpClient Admin(string token)
    {
        var client = Stack.CreateClient(authenticated: false);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary><c>pip install gh-evil==1.0.0</c> in a fresh venv through Gatehouse.</summary>
    private async Task<ProcessResult> PipInstallEvilAsync()
    {
        using var venv = await PythonVenv.CreateAsync(output);
        var result = await venv.PipAsync(PythonVenv.InstallArguments(Stack.PipIndexUrl, "gh-evil==1.0.0"));
        output.WriteLine(result.ToString());
        return result;
    }

    private async Task<ProcessResult> CliAsync(int expectedExit, params string[] args)
    {
        var result = await PythonVenv.RunAsync("dotnet", [TestEnvironment.CliDll, .. args]);
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == expectedExit, $"expected exit {expectedExit}:\n{result}");
        return result;
    }
}
