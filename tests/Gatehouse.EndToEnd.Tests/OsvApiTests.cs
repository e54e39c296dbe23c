using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// The OSV-compatible API through the real host, read by <c>tests/osv-client/osv_client.py</c>: a standard-library client
/// written from the OSV API documentation alone (querybatch, then vulns/{id}, then one query by purl). It must see the
/// mirror's advisories and, for a file whose refusal Gatehouse recorded (gh-evil's wheel, blocked by its scan), Gatehouse's
/// own record with the refusal as the summary.
/// </summary>
[Collection(PolicyGatehouseCollection.Name)]
public sealed class OsvApiTests(PolicyGatehouse fixture, ITestOutputHelper output)
{
    private const string EvilWheel = "gh_evil-1.0.0-py3-none-any.whl";
    private const string EvilRule = "install.pth-exec";
    private static readonly string Client = Path.Combine(TestEnvironment.RepoRoot, "tests", "osv-client", "osv_client.py");

    private GatehouseStack Stack => fixture.Stack;

    [Fact]
    public Task A_client_written_from_the_osv_api_documentation_sees_the_advisories_and_gatehouses_recorded_refusals() => Stack.RunAsync(output, async () =>
    {
        using var admin = await Stack.CreateAdminClientAsync();
        await PolicyGatehouse.EnsureOsvLoadedAsync(admin);
        using var client = Stack.CreateClient();
        var evil = JsonDocument.Parse(await SimpleIndexPages.GetAsync(client, "gh-evil", SimpleIndexPages.Json)).RootElement.GetProperty("files")
            .EnumerateArray().Single(f => f.GetProperty("filename").GetString() == EvilWheel);
        var sha256 = evil.GetProperty("hashes").GetProperty("sha256").GetString()!;
        // Asking for the wheel has it fetched and scanned; the scan's refusal is recorded on its reference.
        var status = HttpStatusCode.ServiceUnavailable;
        for (var i = 0; i < 60 && status != HttpStatusCode.Forbidden; i++)
        {
            using var response = await client.GetAsync(GatehouseStack.FileUrl("gh-evil", sha256, EvilWheel));
            status = response.StatusCode;
            if (status == HttpStatusCode.ServiceUnavailable)
            {
                await Task.Delay(1000);
            }
        }
        Assert.Equal(HttpStatusCode.Forbidden, status);

        var run = await PythonVenv.RunAsync(TestEnvironment.DebianPython,
            [Client, "gh-evil==1.0.0", "gh-dep==1.0.0", "gh-dep==1.1.0", "Jinja2==2.11.2", "no-such-project==1.0"],
            new Dictionary<string, string> { ["OSV_API_URL"] = new Uri(Stack.BaseAddress, "osv").AbsoluteUri, ["OSV_API_TOKEN"] = Stack.Token },
            TimeSpan.FromMinutes(2));
        output.WriteLine(run.ToString().Replace(Stack.Token, "****", StringComparison.Ordinal));

        Assert.True(run.ExitCode == 1, $"the client should have found vulnerabilities (exit 1):\n{run}");
        var report = JsonDocument.Parse(run.StandardOutput).RootElement;
        var results = report.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("vulns").EnumerateArray().ToList()).ToList();
        Assert.Equal(5, results.Count);
        var blocked = Assert.Single(results[0]);
        Assert.Equal("x_GATEHOUSE-" + sha256[..16], blocked.GetProperty("id").GetString());
        Assert.False(string.IsNullOrWhiteSpace(blocked.GetProperty("summary").GetString()));
        Assert.Contains(EvilRule, blocked.GetProperty("details").GetString(), StringComparison.Ordinal);
        Assert.Contains(EvilWheel, blocked.GetProperty("details").GetString(), StringComparison.Ordinal);
        // gh-dep 1.0.0 is refused on its advisory before any download: that is not recorded on a reference, the advisory says it.
        Assert.Equal(["PYSEC-0000-GH-DEP-1"], results[1].Select(v => v.GetProperty("id").GetString()));
        Assert.Equal(["1.1.0"], results[1][0].GetProperty("fixed").EnumerateArray().Select(v => v.GetString()));
        Assert.Empty(results[2]);
        Assert.Equal(["PYSEC-2021-66"], results[3].Select(v => v.GetProperty("id").GetString()));
        Assert.Empty(results[4]);
        var single = Assert.Single(report.GetProperty("single").GetProperty("vulns").EnumerateArray());
        Assert.Equal(blocked.GetProperty("id").GetString(), single.GetProperty("id").GetString());
    });

    [Fact]
    public Task The_api_needs_an_entitlement_token() => Stack.RunAsync(output, async () =>
    {
        using var anonymous = new HttpClient { BaseAddress = Stack.BaseAddress };
        using var response = await anonymous.PostAsync("osv/v1/query",
            new StringContent("""{"package":{"name":"gh-dep","ecosystem":"PyPI"},"version":"1.0.0"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    });
}
