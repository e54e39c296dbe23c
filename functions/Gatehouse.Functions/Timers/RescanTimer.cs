using Gatehouse.Rescans;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Functions.Timers;

/// <summary>
/// Starts the scheduled rescan of cached verdicts. The schedule is the app setting <c>Gatehouse__Rescan__Schedule</c>
/// (NCRONTAB with seconds; the host resolves <c>%…%</c> from app settings, where <c>__</c> reads as <c>:</c>); the
/// infrastructure sets it to <see cref="Configuration.RescanOptions.DefaultSchedule"/>. A rescan still running is left to finish.
/// </summary>
public sealed class RescanTimer(RescanRuns runs, ILogger<RescanTimer> log)
{
    public const string Name = "Rescan";

    /// <summary>The timer's schedule: the app setting, resolved by the Functions host.</summary>
    public const string Schedule = "%Gatehouse:Rescan:Schedule%";

    [Function(Name)]
    public async Task Run([TimerTrigger(Schedule)] TimerInfo timer, [DurableClient] DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var start = await runs.StartAsync(durable, "schedule", cancellationToken);
        log.LogInformation("Scheduled rescan {Outcome}; next at {Next}", start.Started ? "started" : "skipped: one is running", timer.ScheduleStatus?.Next);
    }
}
