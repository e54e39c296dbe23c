using Gatehouse.Uploads;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;

namespace Gatehouse.Host;

/// <summary>
/// The standalone host's stand-in for the Event Grid blob trigger (Azurite raises no events): every
/// <c>Gatehouse:Uploads:WatchSeconds</c> it lists <c>uploads</c> and starts the scan of each blob version not seen
/// before (<see cref="UploadWatcher"/>). A failed pass is logged and tried again at the next one.
/// </summary>
public sealed class UploadWatcherService(UploadWatcher watcher, DurableTaskClient durable, IOptions<UploadsOptions> options, TimeProvider time,
    ILogger<UploadWatcherService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.WatchSeconds);
        if (interval <= TimeSpan.Zero)
        {
            log.LogInformation("The uploads watcher is off (Gatehouse:Uploads:WatchSeconds is 0)");
            return;
        }
        var scans = new UploadScans(durable, log);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (await watcher.PollAsync(scans, stoppingToken) is > 0 and var started)
                    {
                        log.LogInformation("The uploads watcher started {Started} scans", started);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log.LogWarning(e, "The uploads watcher's pass failed; trying again in {Interval}", interval);
                }
                await Task.Delay(interval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }
}
