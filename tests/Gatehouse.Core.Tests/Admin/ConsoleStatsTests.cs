using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Gatehouse.Admin;
using Gatehouse.Pipeline;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Admin;

/// <summary>
/// The console's overview over a catalog in memory: references counted by decision, 30 UTC days with every day present,
/// the 10 newest refusals as read again, and the answer kept for 10 s with one walk for requests that arrive together.
/// </summary>
public sealed class ConsoleStatsTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 5, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Now);
    private readonly FakeCatalog _catalog = new();
    private readonly Meter _meter = new("Gatehouse.Tests.ConsoleStats." + Guid.NewGuid().ToString("N"));
    private readonly LiveCounters _live;
    private readonly ConsoleStats _stats;

    public ConsoleStatsTests()
    {
        _live = new LiveCounters(_time, i => i.Meter == _meter);
        _stats = new ConsoleStats(_catalog, _live, _time);
    }

    public void Dispose()
    {
        _live.Dispose();
        _meter.Dispose();
    }

    private static CancellationToken Ct => CancellationToken.None;

    private static CatalogReference Row(int i, Decision? decision, DateTimeOffset? decidedAt, long size = 100, string remote = "pypi") =>
        new(remote, $"{remote}:p{i % 7}", $"file-{i}.whl", $"p{i % 7} 1.{i}", $"file-{i}.whl", i.ToString("x64"), size, decision,
            decision is null ? "" : "rule-" + i, decision is null ? "" : "policy-rule", decision is null ? "" : "reason " + i, decidedAt);

    [Fact]
    public async Task References_are_counted_by_their_decision_with_their_bytes_and_undecided_ones_count_only_in_the_total()
    {
        _catalog.Rows.AddRange([
            Row(1, Decision.Allowed, Now.AddHours(-1), 10), Row(2, Decision.Allowed, Now.AddDays(-100), 20), Row(3, Decision.Quarantined, Now.AddDays(-2), 30),
            Row(4, Decision.Blocked, Now.AddDays(-3), 40), Row(5, null, null, 50), Row(6, Decision.Blocked, Now.AddDays(-40), 60),
        ]);

        var stats = await _stats.ComputeAsync(Ct);

        Assert.Equal(new ArtifactCounts(6, 210, 2, 1, 2), stats.Artifacts);
        Assert.Equal(Now, stats.GeneratedAt);
    }

    [Fact]
    public async Task Decisions_per_day_cover_the_last_30_UTC_days_oldest_first_with_zeros_and_nothing_older_or_later()
    {
        _catalog.Rows.AddRange([
            Row(1, Decision.Allowed, Now.AddMinutes(-1)), Row(2, Decision.Allowed, new DateTimeOffset(2026, 12, 4, 0, 30, 0, TimeSpan.FromHours(2))),
            Row(3, Decision.Quarantined, new DateTimeOffset(2026, 11, 5, 0, 0, 0, TimeSpan.Zero)), Row(4, Decision.Blocked, new DateTimeOffset(2026, 11, 4, 23, 59, 59, TimeSpan.Zero)),
            Row(5, Decision.Blocked, Now.AddDays(1)), Row(6, Decision.Blocked, new DateTimeOffset(2026, 11, 20, 12, 0, 0, TimeSpan.Zero)),
        ]);

        var days = (await _stats.ComputeAsync(Ct)).VerdictsByDay;

        Assert.Equal(30, days.Count);
        Assert.Equal("2026-11-05", days[0].Day);
        Assert.Equal("2026-12-04", days[^1].Day);
        Assert.Equal(Enumerable.Range(0, 30).Select(d => new DateOnly(2026, 11, 5).AddDays(d).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)), days.Select(d => d.Day));
        // 00:30 at +02:00 is still 3 December in UTC.
        Assert.Equal(new DayVerdicts("2026-12-04", 1, 0, 0), days[^1]);
        Assert.Equal(new DayVerdicts("2026-12-03", 1, 0, 0), days[^2]);
        Assert.Equal(new DayVerdicts("2026-11-05", 0, 1, 0), days[0]);
        Assert.Equal(new DayVerdicts("2026-11-20", 0, 0, 1), days[15]);
        Assert.All(days.Where(d => d.Day is not ("2026-12-04" or "2026-12-03" or "2026-11-05" or "2026-11-20")), d => Assert.Equal(new DayVerdicts(d.Day, 0, 0, 0), d));
    }

    [Fact]
    public async Task The_latest_refusals_are_the_10_newest_refused_references_newest_first_read_again_whole()
    {
        for (var i = 0; i < 30; i++)
        {
            _catalog.Rows.Add(Row(i, i % 3 == 0 ? Decision.Allowed : i % 3 == 1 ? Decision.Quarantined : Decision.Blocked, Now.AddMinutes(-i)));
        }
        // The newest of all is allowed: never a refusal.
        _catalog.Rows.Add(Row(99, Decision.Allowed, Now));

        var latest = (await _stats.ComputeAsync(Ct)).LatestRefusals;

        var expected = Enumerable.Range(0, 30).Where(i => i % 3 != 0).Take(10).ToList();
        Assert.Equal(expected.Select(i => $"file-{i}.whl"), latest.Select(r => r.File));
        var first = latest[0];
        Assert.Equal(new LatestRefusal("pypi", "p1 1.1", "file-1.whl", 1.ToString("x64"), "Quarantined", "rule-1", "policy-rule", "reason 1", Now.AddMinutes(-1)), first);
        Assert.Equal("Blocked", latest[1].Decision);
        // The walk reads only the tally columns; the ten are read whole, once each.
        Assert.Equal(10, _catalog.Gets);
        Assert.Equal([ReferenceColumns.Tally], _catalog.Walks);
    }

    [Fact]
    public async Task A_refusal_released_between_the_walk_and_its_reading_is_left_out()
    {
        _catalog.Rows.AddRange([Row(1, Decision.Blocked, Now.AddMinutes(-1)), Row(2, Decision.Quarantined, Now.AddMinutes(-2))]);
        _catalog.OnGet = row => row.Row == "file-1.whl" ? row with { Decision = Decision.Allowed } : row;

        var latest = (await _stats.ComputeAsync(Ct)).LatestRefusals;

        Assert.Equal("file-2.whl", Assert.Single(latest).File);
    }

    [Fact]
    public async Task An_answer_is_kept_for_10_seconds_after_its_walk_then_served_while_one_walk_refreshes_it()
    {
        _catalog.Rows.Add(Row(1, Decision.Allowed, Now));
        var (first, _) = await _stats.GetAsync(Ct);
        _catalog.Rows.Add(Row(2, Decision.Blocked, Now));

        _time.Advance(TimeSpan.FromSeconds(9.9));
        var (kept, _) = await _stats.GetAsync(Ct);
        Assert.Single(_catalog.Walks);
        _time.Advance(TimeSpan.FromSeconds(0.1));
        _catalog.Gate = new TaskCompletionSource();
        var (stale, _) = await _stats.GetAsync(Ct);
        var (stillStale, _) = await _stats.GetAsync(Ct);
        _catalog.Gate.SetResult();
        var fresh = await FreshAsync(s => s.Artifacts.Count == 2);

        Assert.Same(first, kept);
        Assert.Same(first, stale);
        Assert.Same(first, stillStale);
        Assert.Equal(1, stale.Artifacts.Count);
        Assert.Equal(2, fresh.Artifacts.Count);
        Assert.Equal(2, _catalog.Walks.Count);
    }

    [Fact]
    public async Task A_refresh_that_fails_leaves_the_last_answer_served_and_the_next_request_walks_again()
    {
        _catalog.Rows.Add(Row(1, Decision.Allowed, Now));
        var (first, _) = await _stats.GetAsync(Ct);
        _catalog.Fail = true;
        _time.Advance(TimeSpan.FromSeconds(10));

        var (served, _) = await _stats.GetAsync(Ct);
        await WaitAsync(() => Volatile.Read(ref _catalog.Failures) == 1);
        _catalog.Fail = false;
        _catalog.Rows.Add(Row(2, Decision.Allowed, Now));
        var fresh = await FreshAsync(s => s.Artifacts.Count == 2);

        Assert.Same(first, served);
        Assert.Equal(2, fresh.Artifacts.Count);
        Assert.Equal(3, _catalog.Walks.Count);
    }

    /// <summary>Asks until the answer is the one <paramref name="fresh"/> recognises (a background walk has ended), at most 10 s.</summary>
    private async Task<StoredStats> FreshAsync(Func<StoredStats, bool> fresh)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var (stored, _) = await _stats.GetAsync(Ct);
            if (fresh(stored) || DateTime.UtcNow > deadline)
            {
                return stored;
            }
            await Task.Delay(10);
        }
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Requests_that_arrive_while_the_overview_is_computed_share_one_walk()
    {
        _catalog.Rows.Add(Row(1, Decision.Quarantined, Now));
        _catalog.Gate = new TaskCompletionSource();

        var answers = Enumerable.Range(0, 8).Select(_ => _stats.GetAsync(Ct)).ToList();
        await _catalog.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(answers, a => Assert.False(a.IsCompleted));
        _catalog.Gate.SetResult();
        var stored = (await Task.WhenAll(answers)).Select(a => a.Stored).ToList();

        Assert.Single(_catalog.Walks);
        Assert.All(stored, s => Assert.Same(stored[0], s));
    }

    [Fact]
    public async Task A_failed_walk_is_not_kept_the_next_request_walks_again()
    {
        _catalog.Rows.Add(Row(1, Decision.Allowed, Now));
        _catalog.Fail = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => _stats.GetAsync(Ct));

        _catalog.Fail = false;
        var (stored, _) = await _stats.GetAsync(Ct);

        Assert.Equal(1, stored.Artifacts.Count);
        Assert.Equal(2, _catalog.Walks.Count);
    }

    [Fact]
    public async Task The_live_counters_are_read_afresh_for_a_kept_answer()
    {
        var lookups = _meter.CreateCounter<long>("gatehouse.cache.lookups");
        var (_, before) = await _stats.GetAsync(Ct);
        lookups.Add(3, new KeyValuePair<string, object?>("result", "hit"));
        lookups.Add(1, new KeyValuePair<string, object?>("result", "miss"));

        var (_, after) = await _stats.GetAsync(Ct);

        Assert.Equal((0, 0, (double?)null), (before.Hits, before.Misses, before.HitRatio));
        Assert.Equal((3, 1, (double?)0.75), (after.Hits, after.Misses, after.HitRatio));
        Assert.Single(_catalog.Walks);
    }

    /// <summary>A catalog in memory that records its walks and reads, and can hold a walk or fail it.</summary>
    private sealed class FakeCatalog : IReferenceCatalog
    {
        public List<CatalogReference> Rows { get; } = [];
        public List<ReferenceColumns> Walks { get; } = [];
        public int Gets;
        public int Failures;
        public TaskCompletionSource? Gate { get; set; }
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool Fail { get; set; }
        public Func<CatalogReference, CatalogReference?> OnGet { get; set; } = r => r;

        public async IAsyncEnumerable<CatalogReference> ListAsync(ReferenceColumns columns, DateTimeOffset? decidedSince,
            [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            lock (Walks)
            {
                Walks.Add(columns);
            }
            Started.TrySetResult();
            if (Gate is { } gate)
            {
                await gate.Task;
            }
            if (Fail)
            {
                Interlocked.Increment(ref Failures);
                throw new InvalidOperationException("storage said no");
            }
            foreach (var row in Rows.ToList().Where(r => decidedSince is null || r.DecidedAt >= decidedSince))
            {
                // The tally projection carries no subject or reason.
                yield return columns == ReferenceColumns.Tally ? row with { Subject = "", Rule = "", PolicyRule = "", Reason = "" } : row;
            }
        }

        public Task<CatalogReference?> GetAsync(string partition, string row, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Gets);
            return Task.FromResult(Rows.SingleOrDefault(r => r.Partition == partition && r.Row == row) is { } found ? OnGet(found) : null);
        }
    }
}
