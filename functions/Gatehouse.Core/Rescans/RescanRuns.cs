using Gatehouse.Audit;
using Gatehouse.Configuration;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Rescans;

/// <summary>
/// Starts the one rescan (the schedule, <c>POST /admin/rescan</c>) and reads its state. A start while one runs joins
/// nothing and changes nothing: it is told which one runs.
/// </summary>
public sealed class RescanRuns(IOptions<GatehouseOptions> options, IAuditLog audit, ILogger<RescanRuns> log)
{
    /// <summary>The rescan's fixed orchestration instance id: one rescan at a time across every instance of the app.</summary>
    public const string InstanceId = "gatehouse-rescan";

    /// <summary>Starts a rescan unless one is running; the running one's state when it is.</summary>
    public async Task<RescanStart> StartAsync(DurableTaskClient durable, string trigger, CancellationToken cancellationToken)
    {
        var existing = await durable.GetInstanceAsync(InstanceId, getInputsAndOutputs: true, cancellationToken);
        if (IsRunning(existing))
        {
            return new RescanStart(false, existing);
        }
        // The last completed rescan already compared every decision with the OSV import it started under.
        var covered = existing is { RuntimeStatus: OrchestrationRuntimeStatus.Completed } ? existing.ReadOutputAs<RescanProgress>()?.Baseline.OsvImportedAt : null;
        var input = new RescanInput(trigger, options.Value.Rescan.BatchSize, options.Value.AdminWork.Parallelism, covered);
        await durable.ScheduleNewOrchestrationInstanceAsync(nameof(RescanOrchestrator), input, new StartOrchestrationOptions(InstanceId), cancellationToken);
        await audit.WriteAsync("rescan", InstanceId, $"started by {trigger}", cancellationToken);
        log.LogInformation("Rescan started by {Trigger} (batches of {BatchSize}, {Parallelism} at once)", trigger, input.BatchSize, input.Parallelism);
        return new RescanStart(true, null);
    }

    /// <summary>Running (also between two batches, which Durable reports as Running) or about to run.</summary>
    public static bool IsRunning(OrchestrationMetadata? instance) =>
        instance is { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending };
}

/// <summary>Whether a start started one, and otherwise the rescan that is running.</summary>
public sealed record RescanStart(bool Started, OrchestrationMetadata? Running);
