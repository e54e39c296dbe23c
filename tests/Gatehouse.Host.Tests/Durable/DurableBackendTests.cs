using System.Diagnostics;
using System.Net;
using Azure.Data.Tables;
using DurableTask.Core.Exceptions;
using Grpc.Net.Client;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Xunit.Abstractions;
using P = Microsoft.DurableTask.Protobuf;

namespace Gatehouse.Host.Tests.Durable;

/// <summary>The standalone host's durable backend, end to end on Azurite through a real <c>WebApplication</c>.</summary>
public sealed class DurableBackendTests(AzuriteStorage storage, ITestOutputHelper output) : IClassFixture<AzuriteStorage>
{
    [Fact]
    public async Task A_fan_out_over_three_activities_completes_with_every_result_in_input_order()
    {
        await using var app = await DurableTestApp.StartAsync(storage, output, "fanout", TestTasks.Register);
        var instanceId = DurableTestApp.NewInstanceId("fan-out");

        await app.Client.ScheduleNewOrchestrationInstanceAsync(
            nameof(FanOutOrchestrator), new[] { "alpha", "beta", "gamma" }, new StartOrchestrationOptions(instanceId));
        var result = await app.WaitForCompletionAsync(instanceId);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(["ALPHA!", "BETA!", "GAMMA!"], result.ReadOutputAs<string[]>() ?? []);
    }

    [Fact]
    public async Task A_durable_timer_waits_its_time_to_the_second_and_the_orchestration_clock_advances_with_each_episode()
    {
        await using var app = await DurableTestApp.StartAsync(storage, output, "timer", TestTasks.Register);
        var instanceId = DurableTestApp.NewInstanceId("timer");
        var started = DateTime.UtcNow;

        await app.Client.ScheduleNewOrchestrationInstanceAsync(nameof(TimerClockOrchestrator), 2, new StartOrchestrationOptions(instanceId));
        var result = await app.WaitForCompletionAsync(instanceId);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var clock = result.ReadOutputAs<DateTime[]>()!;
        output.WriteLine($"started {started:O}; clock: {string.Join(", ", clock.Select(c => c.ToString("O")))}");
        // Timer messages become visible on Azure Storage queues with whole-second delays (the visibility timeout is in
        // seconds), so a timer may fire up to a second early; orchestrations must not count on sub-second precision.
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(1), "the timer fired more than a second early");
        Assert.True(clock[1] - clock[0] >= TimeSpan.FromSeconds(1), $"clock after the timer {clock[1]:O} is not at least 1 s after {clock[0]:O}");
        Assert.True(clock[2] > clock[1], $"clock after the activity {clock[2]:O} did not advance past {clock[1]:O}");
    }

    [Fact]
    public async Task A_sub_orchestration_completes_and_returns_its_output_to_the_parent()
    {
        await using var app = await DurableTestApp.StartAsync(storage, output, "suborch", TestTasks.Register);
        var parentId = DurableTestApp.NewInstanceId("parent");
        var childId = DurableTestApp.NewInstanceId("child");

        await app.Client.ScheduleNewOrchestrationInstanceAsync(
            nameof(ParentOrchestrator), new ParentInput(childId, "x"), new StartOrchestrationOptions(parentId));
        var parent = await app.WaitForCompletionAsync(parentId);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, parent.RuntimeStatus);
        Assert.Equal("parent(child(X!))", parent.ReadOutputAs<string>());
        var child = await app.Client.GetInstanceAsync(childId, getInputsAndOutputs: true);
        Assert.NotNull(child);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, child.RuntimeStatus);
        Assert.Equal(nameof(ChildOrchestrator), child.Name);
    }

    [Fact]
    public async Task Starting_an_instance_id_that_is_still_running_fails_as_already_existing_and_leaves_the_instance_untouched()
    {
        await using var app = await DurableTestApp.StartAsync(storage, output, "dedupe", TestTasks.Register);
        var instanceId = DurableTestApp.NewInstanceId("dedupe");
        var options = new StartOrchestrationOptions(instanceId);

        await app.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitForContinueOrchestrator), "first", options);
        using (var started = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            var running = await app.Client.WaitForInstanceStartAsync(instanceId, started.Token);
            Assert.Equal(OrchestrationRuntimeStatus.Running, running.RuntimeStatus);
        }

        await Assert.ThrowsAsync<OrchestrationAlreadyExistsException>(
            () => app.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitForContinueOrchestrator), "second", options));

        await app.Client.RaiseEventAsync(instanceId, TestTasks.ContinueEvent, "go");
        var completed = await app.WaitForCompletionAsync(instanceId);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, completed.RuntimeStatus);
        Assert.Equal("first+go", completed.ReadOutputAs<string>());

        // Functions semantics: a terminal instance may be started again under the same id.
        await app.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitForContinueOrchestrator), "third", options);
        await app.Client.RaiseEventAsync(instanceId, TestTasks.ContinueEvent, "again");
        var restarted = await app.WaitForCompletionAsync(instanceId);
        Assert.Equal("third+again", restarted.ReadOutputAs<string>());
    }

    [Fact]
    public async Task The_main_http_endpoint_and_the_grpc_sidecar_both_answer_on_the_same_app()
    {
        await using var app = await DurableTestApp.StartAsync(storage, output, "endpoints", TestTasks.Register);

        // Exactly two endpoints: the one asked for with --urls, and the sidecar.
        Assert.Equal(2, app.App.Urls.Count);
        Assert.Equal("127.0.0.1", app.MainUrl.Host);
        Assert.NotEqual(0, app.MainUrl.Port);

        // Main endpoint: plain HTTP/1.1 application route.
        using var http = new HttpClient { BaseAddress = app.MainUrl };
        using var ping = await http.GetAsync(DurableTestApp.PingPath);
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
        Assert.Equal($"{DurableTestApp.PingResponse} HTTP/1.1", await ping.Content.ReadAsStringAsync());

        // The gRPC service is not mapped on the main endpoint (RequireHost): 404, not gRPC's 415/426.
        using var grpcOverMain = new HttpRequestMessage(HttpMethod.Post, $"/{P.TaskHubSidecarService.Descriptor.FullName}/Hello")
        {
            Content = new ByteArrayContent([]) { Headers = { { "Content-Type", "application/grpc" } } },
        };
        using var notMapped = await http.SendAsync(grpcOverMain);
        Assert.Equal(HttpStatusCode.NotFound, notMapped.StatusCode);

        // Sidecar: a separate gRPC client on its own channel says hello ...
        using (var channel = GrpcChannel.ForAddress(app.Sidecar.Address))
        {
            var sidecar = new P.TaskHubSidecarService.TaskHubSidecarServiceClient(channel);
            await sidecar.HelloAsync(new Google.Protobuf.WellKnownTypes.Empty(), deadline: DateTime.UtcNow.AddSeconds(10));
        }

        // ... and the in-process client from DI reaches the backend through it.
        var missing = await app.Client.GetInstanceAsync(DurableTestApp.NewInstanceId("missing"));
        Assert.Null(missing);
    }

    [Fact]
    public async Task The_sidecar_refuses_calls_that_reach_it_through_an_http2_application_endpoint_with_a_forged_host()
    {
        await using var app = await DurableTestApp.StartAsync(storage, output, "guard", TestTasks.Register, new Dictionary<string, string?>
        {
            // An application endpoint that speaks HTTP/2 (cleartext prior knowledge, like HTTPS with ALPN would).
            ["Kestrel:Endpoints:Main:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Main:Protocols"] = "Http2",
        });

        // The application endpoint works over HTTP/2 ...
        using var http = new HttpClient { BaseAddress = app.MainUrl, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        Assert.Equal($"{DurableTestApp.PingResponse} HTTP/2", await http.GetStringAsync(DurableTestApp.PingPath));

        // ... but a gRPC call sent to it while naming the sidecar's host:port (what RequireHost looks at) is refused.
        var mainPort = app.MainUrl.Port;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, mainPort), cancellationToken);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        using var forged = GrpcChannel.ForAddress(app.Sidecar.Address, new GrpcChannelOptions { HttpHandler = handler });
        var client = new P.TaskHubSidecarService.TaskHubSidecarServiceClient(forged);
        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(
            async () => await client.GetInstanceAsync(new P.GetInstanceRequest { InstanceId = "x" }, deadline: DateTime.UtcNow.AddSeconds(10)));
        Assert.Equal(Grpc.Core.StatusCode.PermissionDenied, refused.StatusCode);
    }

    [Fact]
    public async Task An_instance_started_before_a_graceful_restart_is_completed_by_the_next_process_on_the_same_task_hub()
    {
        var hubName = AzuriteStorage.NewTaskHubName("restart");
        var instanceId = DurableTestApp.NewInstanceId("restart");
        await using (var first = await DurableTestApp.StartAsync(storage, output, "restart", TestTasks.Register, hubName: hubName))
        {
            await first.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitForContinueOrchestrator), "before", new StartOrchestrationOptions(instanceId));
            using var started = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await first.Client.WaitForInstanceStartAsync(instanceId, started.Token);
        }

        await using var second = await DurableTestApp.StartAsync(storage, output, "restart", TestTasks.Register, hubName: hubName);
        await second.Client.RaiseEventAsync(instanceId, TestTasks.ContinueEvent, "after");
        var completed = await second.WaitForCompletionAsync(instanceId, TimeSpan.FromSeconds(30));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, completed.RuntimeStatus);
        Assert.Equal("before+after", completed.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Stopping_the_app_releases_every_partition_lease_before_the_stop_returns()
    {
        var hubName = AzuriteStorage.NewTaskHubName("leases");
        var leases = new TableServiceClient(storage.ConnectionString).GetTableClient(hubName + "Partitions");
        var stopped = Stopwatch.StartNew();
        await using (await DurableTestApp.StartAsync(storage, output, "leases", TestTasks.Register, hubName: hubName))
        {
            using var owned = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while ((await OwnersAsync(leases)) is not { Count: 2 } owners || owners.Any(string.IsNullOrEmpty))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), owned.Token);
            }

            stopped.Restart();
        }

        output.WriteLine($"Stopped and disposed in {stopped.ElapsedMilliseconds} ms");
        Assert.All(await OwnersAsync(leases), owner => Assert.True(string.IsNullOrEmpty(owner), $"partition still owned by {owner} after the stop"));
    }

    private static async Task<List<string?>> OwnersAsync(TableClient leases)
    {
        var owners = new List<string?>();
        await foreach (var row in leases.QueryAsync<TableEntity>(select: ["CurrentOwner"]))
        {
            owners.Add(row.GetString("CurrentOwner"));
        }

        return owners;
    }
}
