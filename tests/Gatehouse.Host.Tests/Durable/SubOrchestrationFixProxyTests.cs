using DurableTask.Core;
using DurableTask.Core.History;
using Gatehouse.Host.Durable;
using Google.Protobuf.Collections;
using Microsoft.DurableTask.Testing.Sidecar.Dispatcher;

namespace Gatehouse.Host.Tests.Durable;

/// <summary>The decorator that makes the sidecar's sub-orchestration objects persistable by the AzureStorage provider.</summary>
public sealed class SubOrchestrationFixProxyTests
{
    private static readonly OrchestrationInstance Parent = new() { InstanceId = "parent", ExecutionId = "e1" };

    [Fact]
    public async Task Completing_a_work_item_persists_a_plain_sub_orchestration_created_event_with_the_same_data()
    {
        (var inner, var recorder) = RecordingProxy<IOrchestrationService>.New();
        var state = NewParentState();
        DateTime timestamp = new(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc);
        var sidecarEvent = new GrpcSubOrchestrationInstanceCreatedEvent(3)
        {
            Name = "Child",
            Version = "v1",
            InstanceId = "child",
            Input = "\"x\"",
            Timestamp = timestamp,
        };
        state.AddEvent(sidecarEvent);
        var workItem = new TaskOrchestrationWorkItem { InstanceId = Parent.InstanceId, OrchestrationRuntimeState = state, NewMessages = [] };

        await SubOrchestrationFixProxy.Wrap(inner).CompleteTaskOrchestrationWorkItemAsync(workItem, state, [], [], [], null, null);

        Assert.Equal(nameof(IOrchestrationService.CompleteTaskOrchestrationWorkItemAsync), Assert.Single(recorder.Calls).Method);
        var persisted = state.Events.Single(e => e.EventType == EventType.SubOrchestrationInstanceCreated);
        Assert.Equal(typeof(SubOrchestrationInstanceCreatedEvent), persisted.GetType());
        Assert.Same(persisted, state.NewEvents.Single(e => e.EventType == EventType.SubOrchestrationInstanceCreated));
        var plain = (SubOrchestrationInstanceCreatedEvent)persisted;
        Assert.Equal((3, "Child", "v1", "child", "\"x\"", timestamp), (plain.EventId, plain.Name, plain.Version, plain.InstanceId, plain.Input, plain.Timestamp));
    }

    [Fact]
    public async Task Completing_a_work_item_turns_protobuf_tags_of_started_sub_orchestrations_into_a_plain_dictionary()
    {
        (var inner, _) = RecordingProxy<IOrchestrationService>.New();
        var state = NewParentState();
        var startChild = new TaskMessage
        {
            Event = new ExecutionStartedEvent(-1, "\"x\"") { Name = "Child", Tags = new MapField<string, string> { { "team", "gatehouse" } } },
            OrchestrationInstance = new OrchestrationInstance { InstanceId = "child", ExecutionId = "e2" },
        };
        var workItem = new TaskOrchestrationWorkItem { InstanceId = Parent.InstanceId, OrchestrationRuntimeState = state, NewMessages = [] };

        await SubOrchestrationFixProxy.Wrap(inner).CompleteTaskOrchestrationWorkItemAsync(workItem, state, [], [startChild], [], null, null);

        var tags = ((ExecutionStartedEvent)startChild.Event).Tags;
        Assert.Equal(typeof(Dictionary<string, string>), tags.GetType());
        Assert.Equal("gatehouse", tags["team"]);
    }

    [Fact]
    public void Other_calls_pass_through_unchanged_and_exceptions_surface_unwrapped()
    {
        (var inner, var recorder) = RecordingProxy<IOrchestrationService>.New();
        recorder.Behavior = (method, _) => method.Name == nameof(IOrchestrationService.GetDelayInSecondsAfterOnFetchException)
            ? 7
            : throw new TimeoutException("storage down");
        var proxy = SubOrchestrationFixProxy.Wrap(inner);

        Assert.Equal(7, proxy.GetDelayInSecondsAfterOnFetchException(new InvalidOperationException()));
        Assert.Throws<TimeoutException>(() => proxy.GetDelayInSecondsAfterOnProcessException(new InvalidOperationException()));
    }

    [Fact]
    public async Task Every_stop_after_a_start_is_one_forced_stop_of_the_provider_that_all_callers_wait_for()
    {
        (var inner, var recorder) = RecordingProxy<IOrchestrationService>.New();
        var providerStop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        recorder.Behavior = (method, _) => method.Name == nameof(IOrchestrationService.StopAsync) ? providerStop.Task : Task.CompletedTask;
        var proxy = SubOrchestrationFixProxy.Wrap(inner);
        await proxy.StartAsync();

        var sidecarStop = proxy.StopAsync();
        var hostStop = proxy.StopAsync(isForced: false);
        await Task.Delay(50);
        Assert.False(sidecarStop.IsCompleted || hostStop.IsCompleted, "a stop returned before the provider's stop finished");
        providerStop.SetResult();
        await Task.WhenAll(sidecarStop, hostStop).WaitAsync(TimeSpan.FromSeconds(10));

        var stops = recorder.Calls.Where(c => c.Method == nameof(IOrchestrationService.StopAsync)).ToList();
        Assert.Equal([true], Assert.Single(stops).Args);
    }

    [Fact]
    public async Task A_stop_before_any_start_leaves_the_provider_alone_and_a_stop_after_a_later_start_stops_it()
    {
        (var inner, var recorder) = RecordingProxy<IOrchestrationService>.New();
        var proxy = SubOrchestrationFixProxy.Wrap(inner);

        await proxy.StopAsync(isForced: true);
        Assert.Empty(recorder.Calls);

        await proxy.StartAsync();
        await proxy.StopAsync(isForced: true);
        Assert.Equal([nameof(IOrchestrationService.StartAsync), nameof(IOrchestrationService.StopAsync)], recorder.Calls.Select(c => c.Method));
    }

    private static OrchestrationRuntimeState NewParentState()
    {
        var state = new OrchestrationRuntimeState();
        state.AddEvent(new OrchestratorStartedEvent(-1));
        state.AddEvent(new ExecutionStartedEvent(-1, "null") { Name = "Parent", OrchestrationInstance = Parent });
        return state;
    }
}
