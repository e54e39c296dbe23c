using DurableTask.Core;
using DurableTask.Core.History;
using Gatehouse.Host.Durable;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Host.Tests.Durable;

/// <summary>The Azure Functions rule for starting an instance id that already exists.</summary>
public sealed class FunctionsStartSemanticsClientTests
{
    private static readonly TaskMessage Start = new()
    {
        Event = new ExecutionStartedEvent(-1, "null") { Name = "Scan" },
        OrchestrationInstance = new OrchestrationInstance { InstanceId = "abc", ExecutionId = "e1" },
    };

    [Fact]
    public async Task A_start_without_reuse_policy_refuses_to_replace_running_pending_continued_or_suspended_instances()
    {
        (var inner, var recorder) = RecordingProxy<IOrchestrationServiceClient>.New();
        var client = new FunctionsStartSemanticsClient(inner, NullLogger<FunctionsStartSemanticsClient>.Instance);

        await client.CreateTaskOrchestrationAsync(Start);
        await client.CreateTaskOrchestrationAsync(Start, null!);

        Assert.All(recorder.Calls, call => Assert.Equal(
            [OrchestrationStatus.Running, OrchestrationStatus.ContinuedAsNew, OrchestrationStatus.Pending, OrchestrationStatus.Suspended],
            (OrchestrationStatus[])call.Args[1]!));
        Assert.Equal(2, recorder.Calls.Count);
    }

    [Fact]
    public async Task Explicit_dedupe_statuses_from_the_caller_are_passed_through()
    {
        (var inner, var recorder) = RecordingProxy<IOrchestrationServiceClient>.New();
        var client = new FunctionsStartSemanticsClient(inner, NullLogger<FunctionsStartSemanticsClient>.Instance);
        OrchestrationStatus[] explicitStatuses = [OrchestrationStatus.Completed];

        await client.CreateTaskOrchestrationAsync(Start, explicitStatuses);

        Assert.Same(explicitStatuses, Assert.Single(recorder.Calls).Args[1]);
    }
}
