using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.Policy;
using Gatehouse.Tokens;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// The audit trail through the real host, real pips and the real CLI: two tokens install a release, a third only reads
/// its index; the release is then quarantined by a stricter policy and refused; <c>gatehouse audit affected</c> names
/// exactly the two tokens that downloaded it, with their download times, and the audit holds the caller of every
/// download (token id, client IP) and never a token's secret. Its own Gatehouse and Azurite: the policy it applies must
/// not reach other tests.
/// </summary>
public sealed class AuditTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Project = "gh-x";
    private const string Version = "1.0";

    private PrivateGatehouse? _gatehouse;

    private GatehouseStack Stack => _gatehouse?.Stack ?? throw new InvalidOperationException("The audit Gatehouse did not start.");

    public async Task InitializeAsync() => _gatehouse = await PrivateGatehouse.StartAsync("audit");

    public async Task DisposeAsync()
    {
        if (_gatehouse is not null)
        {
            await _gatehouse.DisposeAsync();
        }
    }

    [Fact]
    public Task The_affected_report_names_the_two_tokens_that_downloaded_a_release_quarantined_afterwards_and_not_one_that_read_its_index() =>
        Stack.RunAsync(output, async () =>
        {
            var connection = _gatehouse!.ConnectionString;
            var file = await Stack.Sim.SyntheticAsync(Project, Version, 4096, DateTimeOffset.UtcNow.AddDays(-30));
            var first = await GatehouseStack.CreateTokenAsync(connection, "audit first consumer");
            var second = await GatehouseStack.CreateTokenAsync(connection, "audit second consumer");
            var reader = await GatehouseStack.CreateTokenAsync(connection, "audit index reader");
            var started = DateTimeOffset.UtcNow;

            foreach (var token in new[] { first, second })
            {
                using var venv = await PipUnderTest.For(PipUnderTest.Default).CreateVenvAsync(output);
                var install = await venv.PipAsync(PythonVenv.InstallArguments($"http://{token}@{Stack.BaseAddress.Authority}/pypi/simple/", $"{Project}=={Version}"));
                output.WriteLine(install.ToString());
                Assert.True(install.ExitCode == 0, $"pip install {Project}=={Version} failed:\n{install}");
            }
            using (var index = ClientWith(reader))
            using (var page = await index.GetAsync($"pypi/simple/{Project}/"))
            {
                Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            }
            var installed = DateTimeOffset.UtcNow;

            // The release is recalled: a stricter policy quarantines it, and it is refused from then on.
            using var admin = await Stack.CreateAdminClientAsync();
            var stricter = PolicyProvider.DefaultText.TrimEnd() + "\n" + $"""

                  - id: recalled
                    action: quarantine
                    when:
                      project: {Project}
                """ + "\n";
            using (var put = await admin.PutAsync("admin/policy", new StringContent(stricter, Encoding.UTF8, "application/yaml")))
            {
                Assert.True(put.IsSuccessStatusCode, $"PUT /admin/policy answered {(int)put.StatusCode}: {await put.Content.ReadAsStringAsync()}");
            }
            using (var refusing = ClientWith(first))
            using (var refused = await refusing.GetAsync(GatehouseStack.FileUrl(Project, file.Sha256, file.Filename)))
            {
                Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            }

            var url = Stack.BaseAddress.ToString();
            var adminToken = await GatehouseStack.CreateTokenAsync(connection, "audit cli", TokenScope.Admin);
            var text = await CliAsync("audit", "affected", $"{Project}=={Version}", "--url", url, "--admin-token", adminToken);
            output.WriteLine(text.StandardOutput);
            Assert.Contains($"token {Id(first)} (audit first consumer)", text.StandardOutput, StringComparison.Ordinal);
            Assert.Contains($"token {Id(second)} (audit second consumer)", text.StandardOutput, StringComparison.Ordinal);
            Assert.DoesNotContain(Id(reader), text.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("Quarantined by", text.StandardOutput, StringComparison.Ordinal);

            var json = await CliAsync("audit", "affected", $"{Project}=={Version}", "--json", "--url", url, "--admin-token", adminToken);
            var report = JsonDocument.Parse(json.StandardOutput).RootElement;
            var consumers = report.GetProperty("consumers").EnumerateArray().ToList();
            Assert.Equal(new[] { Id(first), Id(second) }.Order(StringComparer.Ordinal), consumers.Select(c => c.GetProperty("tokenId").GetString()!).Order(StringComparer.Ordinal));
            foreach (var consumer in consumers)
            {
                var firstDownload = consumer.GetProperty("firstDownload").GetDateTimeOffset();
                var lastDownload = consumer.GetProperty("lastDownload").GetDateTimeOffset();
                Assert.InRange(firstDownload, started.AddSeconds(-5), installed.AddSeconds(5));
                Assert.InRange(lastDownload, firstDownload, installed.AddSeconds(5));
                Assert.True(consumer.GetProperty("downloadCount").GetInt32() >= 1);
                // The host listens on the loopback; the address may come IPv4-mapped (::ffff:127.0.0.1).
                Assert.Contains(consumer.GetProperty("clientIps").EnumerateArray(), i => i.GetString()!.EndsWith("127.0.0.1", StringComparison.Ordinal));
            }
            var artifact = Assert.Single(report.GetProperty("artifacts").EnumerateArray());
            Assert.Equal(file.Sha256, artifact.GetProperty("sha256").GetString());
            Assert.Equal(file.Filename, artifact.GetProperty("fileName").GetString());
            Assert.Equal("Quarantined", artifact.GetProperty("current").GetProperty("outcome").GetString());
            Assert.Equal(consumers.Sum(c => c.GetProperty("downloadCount").GetInt32()), artifact.GetProperty("downloadCount").GetInt32());

            // The same downloads by sha256 through the query API: each names its token and client IP.
            var downloads = await admin.GetFromJsonAsync<JsonElement>($"admin/audit?artifact={file.Sha256}&action=download");
            var records = downloads.GetProperty("records").EnumerateArray().ToList();
            Assert.Equal(artifact.GetProperty("downloadCount").GetInt32(), records.Count);
            Assert.All(records, r =>
            {
                Assert.Contains(r.GetProperty("tokenId").GetString(), new[] { Id(first), Id(second) });
                Assert.EndsWith("127.0.0.1", r.GetProperty("clientIp").GetString(), StringComparison.Ordinal);
                Assert.Equal(file.Filename, r.GetProperty("artifact").GetProperty("fileName").GetString());
            });

            // The policy change and the refusal are on record too, with the admin's and the consumer's tokens.
            var policy = await admin.GetFromJsonAsync<JsonElement>("admin/audit?action=policy.apply");
            Assert.Contains(policy.GetProperty("records").EnumerateArray(), r => r.GetProperty("tokenName").GetString() == "e2e admin");
            var decisions = await admin.GetFromJsonAsync<JsonElement>($"admin/audit?artifact={Uri.EscapeDataString($"{Project}=={Version}")}&action=decision&token={Id(first)}");
            Assert.Contains(decisions.GetProperty("records").EnumerateArray(), r => r.GetProperty("detail").GetString()!.StartsWith("Quarantined by", StringComparison.Ordinal));

            // No row of the audit holds a token's secret.
            var table = new TableClient(connection, "audit");
            var rows = 0;
            await foreach (var row in table.QueryAsync<TableEntity>())
            {
                rows++;
                var values = string.Join("\n", row.Select(p => Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture)));
                Assert.DoesNotContain(EntitlementTokenService.Prefix, values, StringComparison.Ordinal);
            }
            Assert.True(rows > records.Count, $"the audit table holds only {rows} rows");
        });

    private HttpClient ClientWith(string token)
    {
        var client = Stack.CreateClient(authenticated: false);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(token + ":")));
        return client;
    }

    // A secret is ght_{id}_{secret}; the id is what the audit and the token list show.
    private static string Id(string secret) => secret.Split('_')[1];

    private static async Task<ProcessResult> CliAsync(params string[] args)
    {
        var result = await PythonVenv.RunAsync("dotnet", [TestEnvironment.CliDll, .. args]);
        Assert.True(result.ExitCode == 0, $"gatehouse {string.Join(' ', args.Take(3))} failed:\n{result}");
        return result;
    }
}
