using Gatehouse.Audit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Events;

/// <summary>What one dispatch round did.</summary>
public enum DispatchStatus
{
    /// <summary>No topic or webhook is configured: events stay in the audit.</summary>
    NoDestination,

    /// <summary>Another host holds the dispatcher's lease.</summary>
    Busy,

    /// <summary>The last delivery failed and its backoff has not run out.</summary>
    Waiting,

    /// <summary>Everything deliverable was delivered.</summary>
    Drained,

    /// <summary>The destination failed; the next attempt is at <see cref="DispatchResult.NextAttempt"/>.</summary>
    Failed,
}

/// <summary>The outcome of a round: how many events went out, and when the next attempt may be.</summary>
public sealed record DispatchResult(DispatchStatus Status, int Delivered, DateTimeOffset? NextAttempt = null, string? Error = null);

/// <summary>
/// Exponential backoff between delivery attempts: the first retry after <c>RetryBaseSeconds</c>, each further failure
/// doubling it, never more than <c>RetryMaxSeconds</c>. No jitter: one dispatcher per installation (it holds a lease)
/// sends to one destination, so there is no crowd of clients to spread out.
/// </summary>
public static class EventBackoff
{
    public static TimeSpan Delay(int failures, TimeSpan first, TimeSpan max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failures, 1);
        var seconds = first.TotalSeconds * Math.Pow(2, Math.Min(failures - 1, 62));
        return seconds >= max.TotalSeconds ? max : TimeSpan.FromSeconds(seconds);
    }
}

/// <summary>
/// Delivers pending events from the outbox to the destination, oldest first, in batches. One host at a time holds the
/// lease; a failure stops the round and records when to try again (<see cref="EventBackoff"/>) on the lease, so every
/// host and every timer run honours it. An event the destination refuses for good is set aside (partition <c>dead</c>,
/// audited) rather than blocking those behind it; in a batch the destination refused, events are then sent one at a
/// time to find it.
/// </summary>
public sealed class EventDispatcher(TableEventOutbox outbox, IEnumerable<IEventSink> sinks, IOptions<EventsOptions> options, IAuditLog audit, TimeProvider time,
    ILogger<EventDispatcher> log)
{
    /// <summary>How long a round's lease lasts; renewed before every batch.</summary>
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(60);

    private readonly string _owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    private bool _oneAtATime;

    public async Task<DispatchResult> RunOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (sinks.FirstOrDefault() is not { } sink)
        {
            return new DispatchResult(DispatchStatus.NoDestination, 0);
        }
        var delivered = 0;
        while (true)
        {
            if (await outbox.TryHoldAsync(_owner, LeaseDuration, cancellationToken) is not { } state)
            {
                return new DispatchResult(DispatchStatus.Busy, delivered);
            }
            var now = time.GetUtcNow();
            if (state.NextAttempt is { } next && next > now)
            {
                return new DispatchResult(DispatchStatus.Waiting, delivered, next);
            }
            var batch = await outbox.PendingAsync(_oneAtATime ? 1 : settings.BatchSize, cancellationToken);
            if (batch.Count == 0)
            {
                _oneAtATime = false;
                return new DispatchResult(DispatchStatus.Drained, delivered);
            }
            var result = await sink.SendAsync([.. batch.Select(e => e.Envelope)], cancellationToken);
            foreach (var entry in batch.Take(result.Delivered))
            {
                await outbox.DeliveredAsync(entry, cancellationToken);
            }
            delivered += result.Delivered;
            if (result.Error is null || result.Rejected)
            {
                if (state.Failures > 0)
                {
                    await outbox.SaveStateAsync(new DispatchState(0, null), cancellationToken);
                }
                if (result.Rejected)
                {
                    await SetAsideAsync(batch, result, cancellationToken);
                }
                continue;
            }
            var failures = state.Failures + 1;
            var retryAt = now + EventBackoff.Delay(failures, TimeSpan.FromSeconds(settings.RetryBaseSeconds), TimeSpan.FromSeconds(settings.RetryMaxSeconds));
            await outbox.SaveStateAsync(new DispatchState(failures, retryAt), cancellationToken);
            log.LogWarning("Event delivery failed ({Failures} in a row): {Error}; {Delivered} delivered this round, next attempt at {RetryAt:O}",
                failures, result.Error, delivered, retryAt);
            return new DispatchResult(DispatchStatus.Failed, delivered, retryAt, result.Error);
        }
    }

    /// <summary>Lets the lease go, for a host that is stopping.</summary>
    public Task ReleaseAsync(CancellationToken cancellationToken) => outbox.ReleaseAsync(_owner, cancellationToken);

    private async Task SetAsideAsync(IReadOnlyList<OutboxEntry> batch, SinkResult result, CancellationToken cancellationToken)
    {
        if (!result.Single && batch.Count - result.Delivered > 1)
        {
            _oneAtATime = true;
            return;
        }
        var refused = batch[result.Delivered];
        await outbox.RejectedAsync(refused, result.Error ?? "refused", cancellationToken);
        await audit.WriteAsync("event.refused", refused.Subject, $"{refused.Id}: {result.Error}", cancellationToken);
        log.LogError("Event {Id} ({Subject}) was refused by the destination and set aside: {Error}", refused.Id, refused.Subject, result.Error);
    }
}
