using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.Pipeline;

namespace Gatehouse.EndToEnd.Tests.Oci;

/// <summary>
/// OS packages in images against OSV's Debian and Alpine exports (the simulator's fixture exports, loaded by the host
/// at start): skopeo is refused a Debian or Alpine image with a high advisory, with the package and the advisory in
/// its own error output, and a record added to Debian's export after an image was allowed blocks it at the next
/// refresh and rescan.
/// </summary>
[Collection(ContainerPullTests.Collection)]
public sealed class ContainerAdvisoryTests(ContainerPullTests.Fixture fixture, ITestOutputHelper output)
{
    private GatehouseStack Stack => fixture.Stack;

    private ContainerClients Clients => fixture.Clients;

    private string Reference(string name, string tag) => $"docker://{Clients.Registry}/{name}:{tag}";

    [Theory]
    [InlineData("library/vuln-deb", "1.0", "DSA-0000-1", "openssl 3.0.11-1~deb12u1 (Debian:12, source of libssl3")]
    [InlineData("library/vuln-alpine", "3.19", "ALPINE-CVE-0000-0001", "openssl 3.1.4-r0 (Alpine:v3.19, source of libcrypto3")]
    public async Task Skopeo_is_refused_an_image_whose_os_package_has_a_high_advisory_with_the_package_and_advisory_in_its_output(
        string name, string tag, string advisory, string package)
    {
        await Stack.RunAsync(output, async () =>
        {
            var inspect = await Clients.SkopeoAsync("inspect", "--tls-verify=false", Reference(name, tag));
            output.WriteLine(inspect.ToString());

            Assert.NotEqual(0, inspect.ExitCode);
            Assert.Contains("Blocked by Gatehouse: vulnerable-high", inspect.StandardError, StringComparison.Ordinal);
            Assert.Contains(advisory + " (high, CVSS 7.5)", inspect.StandardError, StringComparison.Ordinal);
            Assert.Contains(package, inspect.StandardError, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_debian_record_added_after_an_image_was_allowed_blocks_it_at_the_next_refresh_and_rescan_with_one_audit_row()
    {
        await Stack.RunAsync(output, async () =>
        {
            var image = fixture.Image("library/deb-clean");
            var sha256 = image.Digest["sha256:".Length..];
            var allowed = await Clients.SkopeoAsync("inspect", "--tls-verify=false", Reference(image.Name, image.Tag));
            output.WriteLine(allowed.ToString());
            Assert.True(allowed.ExitCode == 0, allowed.ToString());
            Assert.Equal(nameof(Decision.Allowed), (await ReferenceAsync(image))?.GetString("Decision"));
            // The image's decision rows so far (a rerun on the same Azurite finds the earlier runs' rows too: the images are deterministic).
            var before = await Stack.Storage.AuditDetailsAsync("decision", sha256);

            var id = $"DSA-0000-{TestEnvironment.UniqueSuffix()}";
            await Stack.Sim.AddOsvRecordAsync(JsonSerializer.Serialize(new
            {
                schema_version = "1.6.0",
                id,
                modified = "2026-01-01T00:00:00Z",
                summary = "expat - security update (made up by the container advisory test)",
                severity = new[] { new { type = "CVSS_V3", score = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H" } },
                affected = new[]
                {
                    new
                    {
                        package = new { ecosystem = "Debian:12", name = "expat" },
                        ranges = new[] { new { type = "ECOSYSTEM", events = new object[] { new { introduced = "0" }, new { @fixed = "2.5.0-1+deb12u1" } } } },
                    },
                },
            }));
            using var admin = await Stack.CreateAdminClientAsync();
            using (var refreshed = await admin.PostAsync("admin/osv/refresh", null))
            {
                var body = await refreshed.Content.ReadFromJsonAsync<JsonElement>();
                Assert.True(refreshed.StatusCode == HttpStatusCode.OK, $"POST /admin/osv/refresh answered {(int)refreshed.StatusCode}: {body}");
                var exports = body.GetProperty("exports").EnumerateArray().ToDictionary(e => new Uri(e.GetProperty("url").GetString()!).AbsolutePath, e => e.GetProperty("status").GetString());
                Assert.Equal(new Dictionary<string, string?> { ["/osv/PyPI/all.zip"] = "NotModified", ["/osv/Debian/all.zip"] = "Imported", ["/osv/Alpine/all.zip"] = "NotModified" },
                    exports);
            }
            var status = await admin.GetFromJsonAsync<JsonElement>("admin/osv");
            Assert.True(status.GetProperty("allLoaded").GetBoolean(), status.ToString());
            Assert.All(status.GetProperty("exports").EnumerateArray(), e => Assert.Equal(JsonValueKind.Object, e.GetProperty("import").ValueKind));

            var rescan = await RescanTests.RescanAsync(admin);
            output.WriteLine(rescan.ToString());
            Assert.True(rescan.GetProperty("byDecision").GetProperty("Blocked").GetInt64() >= 1, rescan.ToString());

            var refused = await Clients.SkopeoAsync("inspect", "--tls-verify=false", Reference(image.Name, image.Tag));
            output.WriteLine(refused.ToString());
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("Blocked by Gatehouse: vulnerable-high", refused.StandardError, StringComparison.Ordinal);
            Assert.Contains(id, refused.StandardError, StringComparison.Ordinal);
            Assert.Contains("expat 2.5.0-1 (Debian:12, source of libexpat1", refused.StandardError, StringComparison.Ordinal);
            var reference = await ReferenceAsync(image);
            Assert.Equal((nameof(Decision.Blocked), "vulnerable-high"), (reference?.GetString("Decision"), reference?.GetString("PolicyRule")));
            // One decision row more, and it is the block that names the new advisory.
            var after = await Stack.Storage.AuditDetailsAsync("decision", sha256);
            Assert.Equal(before.Count + 1, after.Count);
            var blocked = Assert.Single(after, d => d.Contains(id, StringComparison.Ordinal));
            Assert.StartsWith(nameof(Decision.Blocked), blocked, StringComparison.Ordinal);
            Assert.Contains("vulnerable-high", blocked, StringComparison.Ordinal);
        });
    }

    /// <summary>The image's row in the <c>references</c> table: partition <c>oci:</c> and the escaped repository, row the manifest digest.</summary>
    private Task<TableEntity?> ReferenceAsync(SimulatedImage image) => Stack.Storage.ReferenceAsync("oci:" + image.Name.Replace("/", "%2F", StringComparison.Ordinal), image.Digest);
}
