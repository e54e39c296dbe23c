using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Gatehouse.Telemetry;

/// <summary>
/// Gatehouse's own traces and metrics, under one name for both: the hosts subscribe to <see cref="Name"/> with
/// OpenTelemetry (Application Insights in Azure, Prometheus or OTLP on the standalone host). Instruments follow the
/// OpenTelemetry naming rules (dotted lower-case names, UCUM units: <c>s</c>, <c>By</c>, <c>{request}</c>).
/// </summary>
public static class GatehouseTelemetry
{
    /// <summary>The ActivitySource and Meter name to subscribe to.</summary>
    public const string Name = "Gatehouse";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    /// <summary>Seconds, from a cached decision (milliseconds) to a large cold fetch (minutes).</summary>
    private static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    };

    /// <summary>Requests for a file, by whether its content already had facts (<c>result</c> = hit or miss): the cache hit ratio.</summary>
    public static readonly Counter<long> CacheLookups = Meter.CreateCounter<long>("gatehouse.cache.lookups", "{request}",
        "Requests for a file, by whether its content was already fetched and scanned (result=hit) or not (result=miss)");

    /// <summary>Bytes of files served to clients.</summary>
    public static readonly Counter<long> BytesServed = Meter.CreateCounter<long>("gatehouse.served", "By", "Bytes of files served to clients");

    /// <summary>Contents fetched and scanned, by the first requester's decision.</summary>
    public static readonly Counter<long> Scans = Meter.CreateCounter<long>("gatehouse.scans", "{scan}", "Contents fetched and scanned, by the first decision");

    /// <summary>From a request starting a content's fetch and scan to its decision, for requests that waited.</summary>
    public static readonly Histogram<double> TimeToVerdict = Meter.CreateHistogram<double>("gatehouse.verdict.duration", "s",
        "Time from a request for a content without facts to its decision", tags: null, advice: Seconds);

    /// <summary>How long each content check took.</summary>
    public static readonly Histogram<double> CheckDuration = Meter.CreateHistogram<double>("gatehouse.check.duration", "s", "Time one content check took", tags: null, advice: Seconds);

    /// <summary>How long each upstream fetch (transfer, hashing, staging) took.</summary>
    public static readonly Histogram<double> FetchDuration = Meter.CreateHistogram<double>("gatehouse.fetch.duration", "s", "Time one upstream fetch took", tags: null, advice: Seconds);

    /// <summary>Requests waiting for a content's decision right now, and checks running: the queue depth.</summary>
    public static readonly UpDownCounter<long> Waiting = Meter.CreateUpDownCounter<long>("gatehouse.requests.waiting", "{request}",
        "Requests waiting for a fetch and scan to decide");

    /// <summary>Content checks running right now in this process.</summary>
    public static readonly UpDownCounter<long> ChecksRunning = Meter.CreateUpDownCounter<long>("gatehouse.checks.running", "{check}", "Content checks running");

    /// <summary>
    /// Times one content check as a span and in <see cref="CheckDuration"/>, counted in <see cref="ChecksRunning"/> while it
    /// runs; dispose when it ends.
    /// </summary>
    public static CheckScope Check(string check, string sha256) => new(check, sha256);

    /// <summary>A running check's span and timers.</summary>
    public readonly struct CheckScope : IDisposable
    {
        private readonly Activity? _activity;
        private readonly long _started;
        private readonly KeyValuePair<string, object?> _tag;

        internal CheckScope(string check, string sha256)
        {
            _tag = new KeyValuePair<string, object?>("check", check);
            _activity = Source.StartActivity("check " + check);
            _activity?.SetTag("gatehouse.check", check);
            _activity?.SetTag("gatehouse.sha256", sha256);
            _started = Stopwatch.GetTimestamp();
            ChecksRunning.Add(1, _tag);
        }

        public void Dispose()
        {
            ChecksRunning.Add(-1, _tag);
            CheckDuration.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, _tag);
            _activity?.Dispose();
        }
    }
}
