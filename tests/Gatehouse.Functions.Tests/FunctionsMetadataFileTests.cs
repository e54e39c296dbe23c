using Gatehouse.Configuration;
using System.Text.RegularExpressions;
using Gatehouse.Functions.Timers;
using Gatehouse.Functions.Uploads;
using Gatehouse.TestHelpers;

namespace Gatehouse.Functions.Tests;

/// <summary>The <c>functions.metadata</c> that the Worker SDK generated from the trigger attributes.</summary>
public sealed class FunctionsMetadataFileTests
{
    private static readonly Lazy<IReadOnlyList<FunctionDescription>> MetadataFile = new(() =>
        FunctionDescription.ParseMetadataFile(
            FunctionsBuildOutput.ReadJson(Path.Combine(FunctionsBuildOutput.BinDirectory, "functions.metadata"))));

    private static IReadOnlyList<FunctionDescription> Functions => MetadataFile.Value;

    public static TheoryData<string> RouteNames => [.. GatehouseRoutes.All.Select(r => r.Name)];

    /// <summary>The routes that hand files to the gate (which starts scans), start prefetches or rescans, or start a re-scan of a content.</summary>
    private static readonly string[] Scanning =
        [nameof(GatehouseHttp.PypiFiles), nameof(GatehouseHttp.HuggingFace), nameof(GatehouseHttp.AdminPrefetch), nameof(GatehouseHttp.AdminQuarantine),
            nameof(GatehouseHttp.Uploads), nameof(GatehouseHttp.AdminRescan), nameof(GatehouseHttp.Oci)];

    public static TheoryData<string> DurableRouteNames => [.. Scanning];

    public static TheoryData<string> OtherRouteNames => [.. GatehouseRoutes.All.Select(r => r.Name).Except(Scanning)];

    [Theory]
    [MemberData(nameof(RouteNames))]
    public void Every_route_is_an_anonymous_http_trigger_with_its_exact_template_and_methods(string routeName)
    {
        var route = GatehouseRoutes.All.Single(r => r.Name == routeName);

        var trigger = Assert.Single(Function(routeName).OfType("httpTrigger"));

        Assert.True(trigger.IsInput);
        Assert.Equal("Anonymous", trigger.AuthLevel);
        Assert.Equal(route.Template, trigger.Route);
        Assert.Equal(route.Methods.Order(StringComparer.Ordinal), trigger.Methods.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(RouteNames))]
    public void Every_route_has_an_http_output_binding(string routeName)
    {
        var output = Assert.Single(Function(routeName).OfType("http"));

        Assert.True(output.IsOutput);
    }

    [Theory]
    [MemberData(nameof(DurableRouteNames))]
    public void Registry_and_prefetch_routes_get_a_durable_client_to_start_scans(string routeName)
    {
        var client = Assert.Single(Function(routeName).OfType("durableClient"));

        Assert.True(client.IsInput);
    }

    [Theory]
    [MemberData(nameof(OtherRouteNames))]
    public void Routes_that_start_no_scan_bind_no_durable_client(string routeName) =>
        Assert.Empty(Function(routeName).OfType("durableClient"));

    [Fact]
    public void The_file_lists_exactly_the_routes_timers_and_blob_trigger_because_the_Durable_extension_adds_the_scan_tasks_at_start_up()
    {
        Assert.Equal(
            GatehouseRoutes.All.Select(r => r.Name).Append(TimerFunctions.OsvRefreshName).Append(EventsFunctions.EventsDispatchName).Append(UploadFunctions.ScanUploadName)
                .Append(RescanTimer.Name).Order(StringComparer.Ordinal),
            Functions.Select(f => f.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_OSV_mirror_is_refreshed_by_a_timer_on_the_default_schedule()
    {
        var trigger = Assert.Single(Function(TimerFunctions.OsvRefreshName).OfType("timerTrigger"));
        Assert.Equal(OsvOptions.DefaultRefreshSchedule, trigger.Schedule);
    }

    [Fact]
    public void Uploads_are_scanned_by_a_blob_trigger_with_the_Event_Grid_source()
    {
        var trigger = Assert.Single(Function(UploadFunctions.ScanUploadName).OfType("blobTrigger"));

        Assert.Equal("EventGrid", trigger.Source);
        Assert.Equal(UploadFunctions.UploadsPath, trigger.Path);
        Assert.Equal(UploadFunctions.StorageConnection, trigger.Connection);
    }

    /// <summary>
    /// Phase 2 subscribes <c>Host.Functions.{name}</c> at the blobs extension's webhook: the name it defaults to must be
    /// the trigger's, or Event Grid delivers to a function that does not exist.
    /// </summary>
    [Theory]
    [InlineData("infra/eventgrid.bicep", @"param blobTriggerFunctionName string = '([^']+)'")]
    [InlineData("infra/eventgrid.bicepparam", @"'GATEHOUSE_BLOB_TRIGGER_FUNCTION', '([^']+)'")]
    [InlineData("scripts/eventgrid-subscription.sh", @"GATEHOUSE_BLOB_TRIGGER_FUNCTION:-([A-Za-z0-9]+)\}")]
    public void The_Event_Grid_subscription_names_the_blob_trigger(string file, string pattern)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryPaths.Root, file));

        var match = Regex.Match(text, pattern);

        Assert.True(match.Success, $"{file} does not name the blob-trigger function as expected");
        Assert.Equal(UploadFunctions.ScanUploadName, match.Groups[1].Value);
    }

    [Fact]
    public void The_rescan_timer_reads_its_schedule_from_the_app_setting_and_starts_the_orchestration_through_a_durable_client()
    {
        var trigger = Assert.Single(Function(RescanTimer.Name).OfType("timerTrigger"));
        Assert.Equal("%Gatehouse:Rescan:Schedule%", trigger.Schedule);
        Assert.Single(Function(RescanTimer.Name).OfType("durableClient"));
    }

    private static FunctionDescription Function(string name) =>
        FunctionDescription.Single(Functions, name, StringComparison.Ordinal, "in functions.metadata");
}
