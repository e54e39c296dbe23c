using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Gatehouse.Pipeline;
using Gatehouse.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Core.Tests.Telemetry;

/// <summary>Gatehouse's own instruments record what they promise, told apart from other tests' by unique tag values.</summary>
public sealed class GatehouseTelemetryTests : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _seen = new();

    public GatehouseTelemetryTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == GatehouseTelemetry.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }
        _seen.Enqueue((instrument.Name, value, copy));
    }

    private List<double> Values(string instrument, string tag, string value) =>
        [.. _seen.Where(s => s.Instrument == instrument && Equals(s.Tags.GetValueOrDefault(tag), value)).Select(s => s.Value)];

    [Fact]
    public async Task A_served_GET_counts_its_bytes_and_a_HEAD_counts_none()
    {
        var remote = new RemoteKind("telemetry-" + Guid.NewGuid().ToString("N")[..8]);
        var reference = new ArtifactReference(remote, new ReferenceKey("p", "r"), "demo 1.0", "demo.whl", new string('a', 64), 1234, "https://files.example/demo.whl", null);
        var downloads = new Downloads([], TimeProvider.System, NullLogger<Downloads>.Instance);

        await downloads.ServedAsync(new DefaultHttpContext { Request = { Method = "HEAD" } }, reference, 1234);
        await downloads.ServedAsync(new DefaultHttpContext { Request = { Method = "GET" } }, reference, 1234);

        Assert.Equal([1234.0], Values("gatehouse.served", "remote", remote.Name));
    }

    [Fact]
    public void A_check_is_timed_and_counted_as_running_only_while_it_runs()
    {
        var check = "check-" + Guid.NewGuid().ToString("N")[..8];

        using (GatehouseTelemetry.Check(check, new string('b', 64)))
        {
            Assert.Equal([1.0], Values("gatehouse.checks.running", "check", check));
        }

        Assert.Equal([1.0, -1.0], Values("gatehouse.checks.running", "check", check));
        var duration = Assert.Single(Values("gatehouse.check.duration", "check", check));
        Assert.InRange(duration, 0, 60);
    }
}
