using Gatehouse.Configuration;
using Gatehouse.Vulnerabilities;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Functions.Timers;

/// <summary>Scheduled work: the OSV mirror is brought up to date from OSV's exports (the standalone host runs the same on its own schedule).</summary>
public sealed class TimerFunctions(OsvRefresh refresh, ILogger<TimerFunctions> log)
{
    public const string OsvRefreshName = "OsvRefresh";

    [Function(OsvRefreshName)]
    public async Task OsvRefresh([TimerTrigger(OsvOptions.DefaultRefreshSchedule)] TimerInfo timer, CancellationToken cancellationToken)
    {
        var result = await refresh.RunAsync(cancellationToken);
        foreach (var export in result.Exports)
        {
            log.LogInformation("OSV refresh of {Url} {Status}: {Records} records ({Message}); next at {Next}", export.Url, export.Status, export.Import?.Records ?? 0,
                export.Message ?? "", timer.ScheduleStatus?.Next);
        }
    }
}
