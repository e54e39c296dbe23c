using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.Tokens;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// The standalone host's <c>/metrics</c> (Prometheus text format): only an admin token reads it, and it shows the
/// cache hit ratio, bytes served, scans by verdict, time to verdict, check durations and request metrics.
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed partial class MetricsTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private GatehouseStack Stack => shared.Stack;

    [Fact]
    public Task Metrics_need_an_admin_token() => Stack.RunAsync(output, async () =>
    {
        using var anonymous = Stack.CreateClient(authenticated: false);
        using var reader = Stack.CreateClient();
        using (var none = await anonymous.GetAsync("metrics"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        }
        using (var read = await reader.GetAsync("metrics"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, read.StatusCode);
            Assert.DoesNotContain("gatehouse_", await read.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    });

    [Fact]
    public Task A_cold_download_then_a_warm_one_show_up_as_a_miss_a_hit_a_scan_and_bytes_served() => Stack.RunAsync(output, async () =>
    {
        using var admin = await Stack.CreateAdminClientAsync("metrics admin");
        var before = Parse(await admin.GetStringAsync("metrics"));
        var project = "gh-metrics-" + TestEnvironment.UniqueSuffix();
        var file = await Stack.Sim.SyntheticAsync(project, "1.0", 10_000);
        using var client = Stack.CreateClient();
        var url = GatehouseStack.FileUrl(project, file.Sha256, file.Filename);
        await client.GetStringAsync($"pypi/simple/{project}/");
        for (var i = 0; i < 2; i++)
        {
            using var response = await client.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var text = await admin.GetStringAsync("metrics");
        var after = Parse(text);
        double Delta(string series) => after.GetValueOrDefault(series) - before.GetValueOrDefault(series);
        Assert.True(Delta("gatehouse_cache_lookups_total{remote=\"pypi\",result=\"miss\"}") >= 1, text);
        Assert.True(Delta("gatehouse_cache_lookups_total{remote=\"pypi\",result=\"hit\"}") >= 1, text);
        Assert.True(Delta("gatehouse_served_bytes_total{remote=\"pypi\"}") >= 2 * file.Size, text);
        Assert.True(Delta("gatehouse_scans_total{decision=\"Allowed\",remote=\"pypi\"}") >= 1, text);
        Assert.True(Delta("gatehouse_verdict_duration_seconds_count{remote=\"pypi\"}") >= 1, text);
        Assert.True(Delta("gatehouse_check_duration_seconds_count{check=\"ArchiveSafetyActivity\"}") >= 1, text);
        Assert.Contains("http_server_request_duration_seconds_bucket", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ght_", text, StringComparison.Ordinal);
    });

    /// <summary>Series (name with its labels, as exposed) to value; comment lines and exemplars are skipped.</summary>
    private static Dictionary<string, double> Parse(string exposition)
    {
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in exposition.Split('\n'))
        {
            if (Sample().Match(line) is { Success: true } m)
            {
                // The exporter labels every series with its meter's name; the tests name series without it.
                series[m.Groups["series"].Value.Replace("otel_scope_name=\"Gatehouse\",", "", StringComparison.Ordinal)] = double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }
        return series;
    }

    [GeneratedRegex(@"^(?<series>[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (?<value>[-+0-9.eE]+|NaN|\+Inf)")]
    private static partial Regex Sample();
}
