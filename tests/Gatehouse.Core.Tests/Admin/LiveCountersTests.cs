using System.Diagnostics.Metrics;
using Gatehouse.Admin;
using Gatehouse.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Admin;

/// <summary>
/// <see cref="LiveCounters"/> over a meter of the test's own with Gatehouse's instrument names (the process-wide
/// Gatehouse meter is shared with every test running alongside): lookups by their result tag, the two gauges of work in
/// flight, and nothing from instruments it was not asked to follow.
/// </summary>
public sealed class LiveCountersTests : IDisposable
{
    private static readonly DateTimeOffset Started = new(2026, 12, 4, 4, 0, 0, TimeSpan.Zero);
    private readonly Meter _meter = new("Gatehouse.Tests.LiveCounters." + Guid.NewGuid().ToString("N"));
    private readonly Meter _other = new("Gatehouse.Tests.Other." + Guid.NewGuid().ToString("N"));
    private readonly LiveCounters _live;

    public LiveCountersTests() => _live = new LiveCounters(new FakeTimeProvider(Started), i => i.Meter == _meter);

    public void Dispose()
    {
        _live.Dispose();
        _meter.Dispose();
        _other.Dispose();
    }

    private static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);

    [Fact]
    public void Lookups_count_as_hits_or_misses_by_their_result_tag_and_the_ratio_is_rounded_to_four_places()
    {
        var lookups = _meter.CreateCounter<long>("gatehouse.cache.lookups");
        lookups.Add(2, Tag("result", "hit"), Tag("remote", "pypi"));
        lookups.Add(1, Tag("remote", "hf"), Tag("result", "miss"));
        lookups.Add(5, Tag("remote", "hf"));

        var counts = _live.Read();

        Assert.Equal(new LiveCounts(2, 1, 0.6667, Started, 0, 0), counts);
    }

    [Fact]
    public void No_lookup_yet_has_no_ratio()
    {
        _meter.CreateCounter<long>("gatehouse.cache.lookups");

        Assert.Null(_live.Read().HitRatio);
        Assert.Equal(Started, _live.Read().Since);
    }

    [Fact]
    public void Checks_running_and_requests_waiting_follow_their_up_down_counters()
    {
        var checks = _meter.CreateUpDownCounter<long>("gatehouse.checks.running");
        var waiting = _meter.CreateUpDownCounter<long>("gatehouse.requests.waiting");
        checks.Add(1, Tag("check", "content"));
        checks.Add(1, Tag("check", "osv"));
        checks.Add(-1, Tag("check", "content"));
        waiting.Add(3);
        waiting.Add(-1);

        var counts = _live.Read();

        Assert.Equal((1L, 2L), (counts.ChecksRunning, counts.RequestsWaiting));
    }

    [Fact]
    public void Instruments_of_other_meters_and_other_names_are_not_followed()
    {
        _other.CreateCounter<long>("gatehouse.cache.lookups").Add(7, Tag("result", "hit"));
        _meter.CreateCounter<long>("gatehouse.served").Add(1000, Tag("result", "hit"));

        Assert.Equal(new LiveCounts(0, 0, null, Started, 0, 0), _live.Read());
    }

    [Fact]
    public void By_default_it_follows_the_Gatehouse_meter_itself()
    {
        using var live = new LiveCounters(new FakeTimeProvider(Started));
        var before = live.Read();

        // A tag value no other test uses; other tests' lookups may land here too, so only this one's is asserted on.
        GatehouseTelemetry.CacheLookups.Add(1, Tag("result", "hit"), Tag("remote", "live-counters-test"));

        Assert.True(live.Read().Hits >= before.Hits + 1);
    }
}
