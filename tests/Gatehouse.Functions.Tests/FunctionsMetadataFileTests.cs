using Gatehouse.Configuration;
using Gatehouse.Functions.Timers;

namespace Gatehouse.Functions.Tests;

/// <summary>The <c>functions.metadata</c> that the Worker SDK generated from the trigger attributes.</summary>
public sealed class FunctionsMetadataFileTests
{
    private static readonly Lazy<IReadOnlyList<FunctionDescription>> MetadataFile = new(() =>
        FunctionDescription.ParseMetadataFile(
            FunctionsBuildOutput.ReadJson(Path.Combine(FunctionsBuildOutput.BinDirectory, "functions.metadata"))));

    private static IReadOnlyList<FunctionDescription> Functions => MetadataFile.Value;

    public static TheoryData<string> RouteNames => [.. GatehouseRoutes.All.Select(r => r.Name)];

    /// <summary>Routes that start or read orchestrations: every PyPI and Hugging Face route, and the prefetch administration.</summary>
    /// <summary>The routes that hand files to the gate (which starts scans) or start prefetches.</summary>
    private static readonly string[] Scanning = [nameof(GatehouseHttp.PypiFiles), nameof(GatehouseHttp.HuggingFace), nameof(GatehouseHttp.AdminPrefetch), nameof(GatehouseHttp.AdminRescan)];

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
    public void The_file_lists_exactly_the_routes_and_timers_because_the_Durable_extension_adds_the_scan_tasks_at_start_up()
    {
        Assert.Equal(
            GatehouseRoutes.All.Select(r => r.Name).Append(TimerFunctions.OsvRefreshName).Append(RescanTimer.Name).Order(StringComparer.Ordinal),
            Functions.Select(f => f.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_OSV_mirror_is_refreshed_by_a_timer_on_the_default_schedule()
    {
        var trigger = Assert.Single(Function(TimerFunctions.OsvRefreshName).OfType("timerTrigger"));
        Assert.Equal(OsvOptions.DefaultRefreshSchedule, trigger.Schedule);
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
