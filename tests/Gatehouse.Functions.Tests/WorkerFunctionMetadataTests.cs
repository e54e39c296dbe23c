using Gatehouse.HuggingFace.Prefetch;
using Gatehouse.Functions.Uploads;
using Gatehouse.Oci.Scanning;
using Gatehouse.Pipeline;
using Gatehouse.Uploads;
using Microsoft.Azure.Functions.Worker.Core.FunctionMetadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Gatehouse.Functions.Tests;

/// <summary>
/// What the worker built by the real <c>Program</c> reports to the Functions host: the generated metadata plus what the
/// Durable extension's metadata transformer adds for every task registered with <c>ConfigureDurableWorker().AddTasks</c>.
/// The host dispatches orchestrations and activities only to functions it finds here, and refuses to start on duplicates.
/// </summary>
public sealed class WorkerFunctionMetadataTests : IAsyncLifetime
{
    private IHost? _host;
    private IReadOnlyList<FunctionDescription> _functions = [];

    public static TheoryData<string> ActivityNames =>
        [nameof(FetchContentActivity), .. ContentChecks.Activities.Select(a => a.Activity), nameof(GatherReferenceFactsActivity), nameof(RecordFactsActivity), nameof(ReadDecisionActivity), nameof(ListRepositoryFilesActivity),
            nameof(PrefetchFileActivity), nameof(PrepareUploadActivity), nameof(PublishUploadVerdictActivity), nameof(PrepareImageActivity), nameof(InspectLayerActivity),
            nameof(JudgeImageActivity), nameof(ReleaseImageClaimActivity)];

    public static TheoryData<string> OrchestratorNames =>
        [nameof(ScanArtifactOrchestrator), nameof(ScanRepositoryOrchestrator), nameof(ScanUploadOrchestrator), nameof(ScanImageOrchestrator), nameof(ScanLayerOrchestrator)];

    public async Task InitializeAsync()
    {
        _host = FunctionsWorkerHost.Build();
        var metadata = await _host.Services.GetRequiredService<IFunctionMetadataManager>()
            .GetFunctionMetadataAsync(FunctionsBuildOutput.BinDirectory);
        _functions = [.. metadata.Select(f => FunctionDescription.FromRawBindings(f.Name!, f.RawBindings!))];
    }

    public Task DisposeAsync()
    {
        _host?.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [MemberData(nameof(OrchestratorNames))]
    public void Every_orchestrator_is_an_orchestration_trigger_under_its_class_name(string orchestratorName)
    {
        var trigger = Assert.Single(Function(orchestratorName).OfType("orchestrationTrigger"));

        Assert.True(trigger.IsInput);
    }

    [Theory]
    [MemberData(nameof(ActivityNames))]
    public void Every_scan_activity_is_an_activity_trigger_under_its_class_name(string activityName)
    {
        var trigger = Assert.Single(Function(activityName).OfType("activityTrigger"));

        Assert.True(trigger.IsInput);
    }

    [Fact]
    public void The_worker_reports_the_routes_and_the_scan_tasks_each_exactly_once()
    {
        string[] expected =
        [
            .. GatehouseRoutes.All.Select(r => r.Name),
            nameof(ScanArtifactOrchestrator),
            nameof(FetchContentActivity),
            .. ContentChecks.Activities.Select(a => a.Activity),
            nameof(GatherReferenceFactsActivity),
            nameof(RecordFactsActivity),
            nameof(ReadDecisionActivity),
            nameof(ScanRepositoryOrchestrator),
            nameof(ListRepositoryFilesActivity),
            nameof(PrefetchFileActivity),
            Gatehouse.Functions.Timers.TimerFunctions.OsvRefreshName,
            Gatehouse.Functions.Timers.EventsFunctions.EventsDispatchName,
            nameof(ScanUploadOrchestrator),
            nameof(PrepareUploadActivity),
            nameof(PublishUploadVerdictActivity),
            UploadFunctions.ScanUploadName,
            nameof(Gatehouse.Rescans.RescanOrchestrator),
            nameof(Gatehouse.Rescans.RescanBaselineActivity),
            nameof(Gatehouse.Rescans.ListRescanBatchActivity),
            nameof(Gatehouse.Rescans.RescanChunkActivity),
            Gatehouse.Functions.Timers.RescanTimer.Name,
            nameof(ScanImageOrchestrator),
            nameof(ScanLayerOrchestrator),
            nameof(PrepareImageActivity),
            nameof(InspectLayerActivity),
            nameof(JudgeImageActivity),
            nameof(ReleaseImageClaimActivity),
        ];

        // Function names are case-insensitive for the host.
        Assert.Equal(
            expected.Order(StringComparer.OrdinalIgnoreCase),
            _functions.Select(f => f.Name).Order(StringComparer.OrdinalIgnoreCase),
            StringComparer.OrdinalIgnoreCase);
    }

    [Theory]
    [MemberData(nameof(FunctionsMetadataFileTests.RouteNames), MemberType = typeof(FunctionsMetadataFileTests))]
    public void Routes_reach_the_host_with_the_template_and_methods_of_the_metadata_file(string routeName)
    {
        var route = GatehouseRoutes.All.Single(r => r.Name == routeName);

        var trigger = Assert.Single(Function(routeName).OfType("httpTrigger"));

        Assert.Equal(route.Template, trigger.Route);
        Assert.Equal(route.Methods.Order(StringComparer.Ordinal), trigger.Methods.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Uploads_reach_the_host_as_a_blob_trigger_fed_by_Event_Grid_on_the_uploads_container()
    {
        var trigger = Assert.Single(Function(UploadFunctions.ScanUploadName).OfType("blobTrigger"));

        Assert.True(trigger.IsInput);
        Assert.Equal("EventGrid", trigger.Source);
        Assert.Equal("uploads/{name}", trigger.Path);
        Assert.Equal("AzureWebJobsStorage", trigger.Connection);
        Assert.Single(Function(UploadFunctions.ScanUploadName).OfType("durableClient"));
    }

    // Function names are case-insensitive for the host.
    private FunctionDescription Function(string name) =>
        FunctionDescription.Single(_functions, name, StringComparison.OrdinalIgnoreCase, "from the worker");
}
