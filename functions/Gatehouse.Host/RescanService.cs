using Gatehouse.Configuration;
using Gatehouse.Rescans;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using NCrontab;

namespace Gatehouse.Host;

/// <summary>
/// The standalone host's scheduled rescan, the Functions timer's twin: starts <see cref="RescanOrchestrator"/> on
/// <c>Gatehouse:Rescan:Schedule</c> (NCRONTAB with seconds). A rescan still running is left to finish; a start that
/// fails (storage away) is tried again at the next occurrence.
/// </summary>
public sealed class RescanService(RescanRuns runs, DurableTaskClient durable, IOptions<GatehouseOptions> options, TimeProvider time, ILogger<RescanService> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var schedule = CrontabSchedule.Parse(options.Value.Rescan.Schedule, new CrontabSchedule.ParseOptions { IncludingSeconds = true });
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var now = time.GetUtcNow();
                var next = schedule.GetNextOccurrence(now.UtcDateTime);
                await Task.Delay(next - now.UtcDateTime, time, stoppingToken);
                try
                {
                    var start = await runs.StartAsync(durable, "schedule", stoppingToken);
                    log.LogInformation("Scheduled rescan {Outcome}", start.Started ? "started" : "skipped: one is running");
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log.LogError(e, "The scheduled rescan could not be started; trying again at the next occurrence");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }
}
