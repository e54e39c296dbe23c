using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Events;

/// <summary>
/// The standalone host's dispatcher loop: a round every <c>PollSeconds</c> while all is delivered, and after a failure
/// not before the backoff recorded on the lease runs out. (In Azure the timer function <c>EventsDispatch</c> runs the
/// same rounds.) Stopping lets the lease go, so another host carries on at once.
/// </summary>
public sealed class EventDispatchService(EventDispatcher dispatcher, IOptions<EventsOptions> options, TimeProvider time, ILogger<EventDispatchService> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(options.Value.PollSeconds);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                DispatchResult result;
                try
                {
                    result = await dispatcher.RunOnceAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Storage itself failing: try again at the next poll.
                    log.LogError(e, "Event dispatch round failed");
                    result = new DispatchResult(DispatchStatus.Failed, 0);
                }
                if (result.Status == DispatchStatus.NoDestination)
                {
                    return;
                }
                var wait = result.NextAttempt is { } at ? at - time.GetUtcNow() : poll;
                await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (options.Value.HasDestination)
        {
            try
            {
                await dispatcher.ReleaseAsync(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogWarning(e, "The event dispatcher's lease was not released; it runs out by itself");
            }
        }
    }
}
