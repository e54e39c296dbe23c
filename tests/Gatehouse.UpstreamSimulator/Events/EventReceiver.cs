using System.Text.Json;

namespace Gatehouse.UpstreamSimulator.Events;

/// <summary>One request's worth of CloudEvents as it arrived: when, with which content type, and each event's JSON.</summary>
public sealed record ReceivedDelivery(DateTimeOffset ReceivedAt, string ContentType, IReadOnlyList<JsonElement> Events);

/// <summary>
/// A webhook that receives CloudEvents over HTTP, as an event consumer would, keeping every delivery (duplicates
/// included, so tests can count them per id). While "down" it answers 503 and counts the refused attempts.
/// </summary>
public sealed class EventReceiver
{
    private readonly Lock _lock = new();
    private readonly List<ReceivedDelivery> _deliveries = [];
    private readonly TimeProvider _time;
    private volatile bool _down;
    private int _refused;

    public EventReceiver(TimeProvider time) => _time = time;

    /// <summary>While true, deliveries are answered 503 and not kept.</summary>
    public bool IsDown
    {
        get => _down;
        set => _down = value;
    }

    /// <summary>Attempts answered 503 while down.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public IReadOnlyList<ReceivedDelivery> Deliveries
    {
        get
        {
            lock (_lock)
            {
                return [.. _deliveries];
            }
        }
    }

    public void CountRefused() => Interlocked.Increment(ref _refused);

    public void Add(string contentType, IReadOnlyList<JsonElement> events)
    {
        lock (_lock)
        {
            _deliveries.Add(new ReceivedDelivery(_time.GetUtcNow(), contentType, events));
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _deliveries.Clear();
        }
        Interlocked.Exchange(ref _refused, 0);
        _down = false;
    }
}
