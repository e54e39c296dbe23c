using System.Diagnostics.Metrics;
using Gatehouse.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Gatehouse.Admin;

/// <summary>This instance's counters since it started, as the console's overview shows them.</summary>
/// <param name="HitRatio">Hits over all lookups; null when there was none.</param>
public sealed record LiveCounts(long Hits, long Misses, double? HitRatio, DateTimeOffset Since, long ChecksRunning, long RequestsWaiting);

/// <summary>
/// Listens to this process's own <see cref="GatehouseTelemetry"/> instruments (a <see cref="MeterListener"/>, whatever
/// exporter the host has or has not configured): file requests by cache result (<c>gatehouse.cache.lookups</c>,
/// tagged <c>result</c> = hit or miss), content checks running (<c>gatehouse.checks.running</c>) and requests waiting
/// for a decision (<c>gatehouse.requests.waiting</c>). The counts are this instance's since it started, not the fleet's.
/// </summary>
public sealed class LiveCounters : IDisposable
{
    private const string LookupsName = "gatehouse.cache.lookups";
    private const string ChecksName = "gatehouse.checks.running";
    private const string WaitingName = "gatehouse.requests.waiting";

    private readonly MeterListener _listener = new();
    private long _hits;
    private long _misses;
    private long _checks;
    private long _waiting;

    /// <summary>Starts listening to Gatehouse's meter at once.</summary>
    public LiveCounters(TimeProvider time) : this(time, instrument => instrument.Meter.Name == GatehouseTelemetry.Name)
    {
    }

    /// <summary>Starts listening to the instruments <paramref name="listensTo"/> picks (a test's own meter).</summary>
    internal LiveCounters(TimeProvider time, Func<Instrument, bool> listensTo)
    {
        Since = time.GetUtcNow();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (listensTo(instrument) && instrument.Name is LookupsName or ChecksName or WaitingName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>When this instance started counting.</summary>
    public DateTimeOffset Since { get; }

    /// <summary>The counts now.</summary>
    public LiveCounts Read()
    {
        var (hits, misses) = (Interlocked.Read(ref _hits), Interlocked.Read(ref _misses));
        var lookups = hits + misses;
        return new LiveCounts(hits, misses, lookups == 0 ? null : Math.Round((double)hits / lookups, 4), Since,
            Math.Max(0, Interlocked.Read(ref _checks)), Math.Max(0, Interlocked.Read(ref _waiting)));
    }

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        switch (instrument.Name)
        {
            case LookupsName:
                foreach (var tag in tags)
                {
                    if (tag.Key == "result")
                    {
                        // A lookup of another result (none today) counts as neither.
                        if (tag.Value as string == "hit")
                        {
                            Interlocked.Add(ref _hits, value);
                        }
                        else if (tag.Value as string == "miss")
                        {
                            Interlocked.Add(ref _misses, value);
                        }
                        break;
                    }
                }
                break;
            case ChecksName:
                Interlocked.Add(ref _checks, value);
                break;
            case WaitingName:
                Interlocked.Add(ref _waiting, value);
                break;
        }
    }

    /// <summary>Makes the counters at host start, so they count from then and not from the first look at the console.</summary>
    internal sealed class Starter(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            services.GetRequiredService<LiveCounters>();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
