using Gatehouse.Events;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Functions.Timers;

/// <summary>
/// Delivers the event outbox in Azure: a timer rather than a loop in the worker, because a timer wakes the app when
/// it has scaled in, and the Functions host runs a timer function on one instance at a time. Each run delivers until the
/// outbox is empty or the destination fails; the backoff recorded on the dispatcher's lease makes later runs wait it out.
/// </summary>
public sealed class EventsFunctions(EventDispatcher dispatcher, ILogger<EventsFunctions> log)
{
    public const string EventsDispatchName = "EventsDispatch";

    /// <summary>Every 30 seconds (NCRONTAB with seconds).</summary>
    public const string Schedule = "*/30 * * * * *";

    [Function(EventsDispatchName)]
    public async Task EventsDispatch([TimerTrigger(Schedule)] TimerInfo timer, CancellationToken cancellationToken)
    {
        var result = await dispatcher.RunOnceAsync(cancellationToken);
        if (result.Delivered > 0 || result.Status == DispatchStatus.Failed)
        {
            log.LogInformation("Events dispatch {Status}: {Delivered} delivered; next attempt {NextAttempt}", result.Status, result.Delivered, result.NextAttempt);
        }
    }
}
