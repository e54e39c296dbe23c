using Microsoft.DurableTask;

namespace Gatehouse.Host.Tests.Durable;

/// <summary>Small class-based tasks (the same style as the product's scan tasks) used by the backend tests.</summary>
internal static class TestTasks
{
    public const string ContinueEvent = "continue";

    public static void Register(DurableTaskRegistry registry) => registry
        .AddActivity<ShoutActivity>()
        .AddOrchestrator<FanOutOrchestrator>()
        .AddOrchestrator<ParentOrchestrator>()
        .AddOrchestrator<ChildOrchestrator>()
        .AddOrchestrator<WaitForContinueOrchestrator>()
        .AddOrchestrator<TimerClockOrchestrator>();
}

internal sealed class ShoutActivity : TaskActivity<string, string>
{
    public override Task<string> RunAsync(TaskActivityContext context, string input) => Task.FromResult(input.ToUpperInvariant() + "!");
}

/// <summary>Calls <see cref="ShoutActivity"/> for every input in parallel and returns the results in input order.</summary>
internal sealed class FanOutOrchestrator : TaskOrchestrator<string[], string[]>
{
    public override async Task<string[]> RunAsync(TaskOrchestrationContext context, string[] input) =>
        await Task.WhenAll(input.Select(item => context.CallActivityAsync<string>(nameof(ShoutActivity), item)));
}

internal sealed record ParentInput(string ChildInstanceId, string Value);

internal sealed class ParentOrchestrator : TaskOrchestrator<ParentInput, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, ParentInput input)
    {
        var child = await context.CallSubOrchestratorAsync<string>(
            nameof(ChildOrchestrator), input.Value, new SubOrchestrationOptions { InstanceId = input.ChildInstanceId });
        return $"parent({child})";
    }
}

internal sealed class ChildOrchestrator : TaskOrchestrator<string, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, string input) =>
        $"child({await context.CallActivityAsync<string>(nameof(ShoutActivity), input)})";
}

/// <summary>Stays Running until the <see cref="TestTasks.ContinueEvent"/> event arrives.</summary>
internal sealed class WaitForContinueOrchestrator : TaskOrchestrator<string, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, string input)
    {
        var suffix = await context.WaitForExternalEvent<string>(TestTasks.ContinueEvent);
        return $"{input}+{suffix}";
    }
}

/// <summary>Sleeps on a durable timer and reports the orchestration clock before and after it.</summary>
internal sealed class TimerClockOrchestrator : TaskOrchestrator<int, DateTime[]>
{
    public override async Task<DateTime[]> RunAsync(TaskOrchestrationContext context, int seconds)
    {
        var before = context.CurrentUtcDateTime;
        await context.CreateTimer(TimeSpan.FromSeconds(seconds), CancellationToken.None);
        var afterTimer = context.CurrentUtcDateTime;
        await context.CallActivityAsync<string>(nameof(ShoutActivity), "x");
        return [before, afterTimer, context.CurrentUtcDateTime];
    }
}
