using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// PyPI's advisories do not depend on the OS exports that container images need: with the Debian export unreachable,
/// the refresh reports it failed, PyPI's export still loads, and a vulnerable release is refused with its advisory.
/// </summary>
public sealed class OsvExportFailureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task With_the_debian_export_unreachable_pypi_advisories_still_refuse_a_vulnerable_release()
    {
        await using var gatehouse = await PrivateGatehouse.StartAsync("osv-partial", s => s with
        {
            OsvFixture = true,
            Extra = new Dictionary<string, string> { ["Gatehouse__Osv__ExtraExportUrls"] = "http://127.0.0.1:9/osv/Debian/all.zip" },
        });
        var stack = gatehouse.Stack;
        await stack.RunAsync(output, async () =>
        {
            using var admin = await stack.CreateAdminClientAsync();
            using (var refresh = await admin.PostAsync("admin/osv/refresh", null))
            {
                var body = await refresh.Content.ReadAsStringAsync();
                Assert.True(refresh.StatusCode == HttpStatusCode.BadGateway, $"a refresh with a failed export answered {(int)refresh.StatusCode}: {body}");
                var exports = JsonDocument.Parse(body).RootElement.GetProperty("exports").EnumerateArray()
                    .ToDictionary(e => e.GetProperty("url").GetString()!, e => e.GetProperty("status").GetString());
                Assert.Equal("Failed", exports["http://127.0.0.1:9/osv/Debian/all.zip"]);
                Assert.Contains(exports, e => e.Key.EndsWith("/osv/PyPI/all.zip", StringComparison.Ordinal) && e.Value is "Imported" or "NotModified");
            }
            var status = await admin.GetFromJsonAsync<JsonElement>("admin/osv");
            Assert.True(status.GetProperty("loaded").GetBoolean(), $"PyPI's export is not loaded: {status}");
            Assert.False(status.GetProperty("allLoaded").GetBoolean(), $"the mirror says every export is loaded: {status}");

            using var client = stack.CreateClient();
            var page = JsonDocument.Parse(await SimpleIndexPages.GetAsync(client, "gh-dep", SimpleIndexPages.Json)).RootElement;
            var vulnerable = page.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("filename").GetString() == "gh_dep-1.0.0-py3-none-any.whl");
            var yanked = vulnerable.GetProperty("yanked");
            Assert.True(yanked.ValueKind == JsonValueKind.String, $"gh-dep 1.0.0 is not yanked: {vulnerable}");
            Assert.Contains("PYSEC-0000-GH-DEP-1", yanked.GetString(), StringComparison.Ordinal);
        });
    }
}
