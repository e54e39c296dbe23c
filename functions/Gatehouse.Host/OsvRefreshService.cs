using Gatehouse.Configuration;
using Gatehouse.Vulnerabilities;
using Microsoft.Extensions.Options;
using NCrontab;

namespace Gatehouse.Host;

/// <summary>
/// The standalone host's OSV refresh, the Functions timer's twin: once at start when the mirror does not yet hold an import of every configured export, then
/// on <c>Gatehouse:Osv:RefreshSchedule</c> (NCRONTAB with seconds, as the Functions timer reads it). A failed refresh
/// keeps what the mirror had and is tried again at the next occurrence.
/// </summary>
public sealed class OsvRefreshService(OsvRefresh refresh, VulnerabilityMirror mirror, IOptions<GatehouseOptions> options, TimeProvider time,
    ILogger<OsvRefreshService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var schedule = CrontabSchedule.Parse(options.Value.Osv.RefreshSchedule, new CrontabSchedule.ParseOptions { IncludingSeconds = true });
        try
        {
            if (!await mirror.IsLoadedAsync(stoppingToken))
            {
                await RunAsync(stoppingToken);
            }
            while (!stoppingToken.IsCancellationRequested)
            {
                var now = time.GetUtcNow();
                var next = schedule.GetNextOccurrence(now.UtcDateTime);
                await Task.Delay(next - now.UtcDateTime, time, stoppingToken);
                await RunAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        try
        {
            var result = await refresh.RunAsync(stoppingToken);
            foreach (var export in result.Exports)
            {
                log.LogInformation("OSV refresh of {Url} {Status}: {Records} records ({Message})", export.Url, export.Status, export.Import?.Records ?? 0, export.Message ?? "");
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "OSV refresh failed; the mirror keeps what it had");
        }
    }
}
