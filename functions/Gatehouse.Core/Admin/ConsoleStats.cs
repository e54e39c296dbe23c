using System.Globalization;
using Gatehouse.Pipeline;

namespace Gatehouse.Admin;

/// <summary>The references by their recorded decision: all of them, their bytes, and each decision's count.</summary>
/// <param name="Count">Every recorded reference, decided or not.</param>
/// <param name="Bytes">The sum of their sizes (as their upstream promised them).</param>
public sealed record ArtifactCounts(long Count, long Bytes, long Allowed, long Quarantined, long Blocked);

/// <summary>The decisions of one UTC day, by the day each reference was decided.</summary>
/// <param name="Day">The day, <c>yyyy-MM-dd</c>.</param>
public sealed record DayVerdicts(string Day, long Allowed, long Quarantined, long Blocked);

/// <summary>A refused reference, as the overview lists the latest.</summary>
public sealed record LatestRefusal(string Remote, string Subject, string File, string Sha256, string Decision, string Rule, string PolicyRule, string Reason,
    DateTimeOffset DecidedAt);

/// <summary>What the overview shows of storage: counted in one walk over the references.</summary>
/// <param name="GeneratedAt">When the walk began.</param>
public sealed record StoredStats(DateTimeOffset GeneratedAt, ArtifactCounts Artifacts, IReadOnlyList<DayVerdicts> VerdictsByDay, IReadOnlyList<LatestRefusal> LatestRefusals);

/// <summary>
/// The console's overview: the references counted by decision, the last <see cref="Days"/> days' decisions, the
/// <see cref="LatestCount"/> newest refusals, and this instance's live counters. The storage part walks every reference
/// (the <see cref="ReferenceColumns.Tally"/> columns only), which takes seconds at 100 000 references, so: the first
/// request waits for the walk, and requests that arrive meanwhile wait for that same walk (single flight); an answer
/// is fresh for <see cref="CacheFor"/> after its walk ended; after that the last answer is served at once while one
/// walk refreshes it in the background (stale while revalidating; <see cref="StoredStats.GeneratedAt"/> says how old it
/// is). The live counters are read afresh for each answer.
/// </summary>
public sealed class ConsoleStats(IReferenceCatalog catalog, LiveCounters live, TimeProvider time)
{
    /// <summary>How many days <see cref="StoredStats.VerdictsByDay"/> covers, today (UTC) included.</summary>
    public const int Days = 30;

    /// <summary>How many refusals <see cref="StoredStats.LatestRefusals"/> lists.</summary>
    public const int LatestCount = 10;

    /// <summary>How long a computed answer is served again: a dashboard polling every few seconds walks storage at most this often.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private Task<(StoredStats Stats, DateTimeOffset Finished)>? _current;
    private (StoredStats Stats, DateTimeOffset Finished)? _last;

    /// <summary>
    /// The storage part (the last walk's when one has succeeded, refreshed in the background once older than
    /// <see cref="CacheFor"/>; else the running or a new walk's) and the live counters now.
    /// </summary>
    public async Task<(StoredStats Stored, LiveCounts Live)> GetAsync(CancellationToken cancellationToken)
    {
        Task<(StoredStats Stats, DateTimeOffset Finished)> walk;
        (StoredStats Stats, DateTimeOffset Finished)? last;
        lock (_gate)
        {
            if (_current is { IsCompletedSuccessfully: true })
            {
                _last = _current.Result;
            }
            // A walk still running, or one that succeeded less than CacheFor ago, is used; a failed one is not kept.
            if (_current is null || _current.IsFaulted || _current.IsCanceled
                || (_current.IsCompletedSuccessfully && time.GetUtcNow() - _current.Result.Finished >= CacheFor))
            {
                // Not the request's token: the walk serves every request waiting for it, whichever goes away.
                _current = WalkAsync(CancellationToken.None);
            }
            walk = _current;
            last = _last;
        }
        if (last is { } previous && !walk.IsCompletedSuccessfully)
        {
            // A refresh is running (or just failed): the last answer now rather than a wait of seconds, or an error.
            return (previous.Stats, live.Read());
        }
        var (stats, _) = await walk.WaitAsync(cancellationToken);
        return (stats, live.Read());
    }

    /// <summary>Counts every reference once; then reads the newest refusals whole (the walk reads only what it counts).</summary>
    public async Task<StoredStats> ComputeAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var firstDay = DateOnly.FromDateTime(now.UtcDateTime).AddDays(1 - Days);
        var byDay = new long[Days, 3];
        long count = 0, bytes = 0, allowed = 0, quarantined = 0, blocked = 0;
        // The newest refusals so far, oldest at the head so it is the one pushed out.
        var newest = new PriorityQueue<CatalogReference, CatalogReference>(LatestCount + 1, NewestLast.Instance);
        await foreach (var row in catalog.ListAsync(ReferenceColumns.Tally, null, cancellationToken))
        {
            count++;
            bytes += row.Size;
            switch (row.Decision)
            {
                case Decision.Allowed: allowed++; break;
                case Decision.Quarantined: quarantined++; break;
                case Decision.Blocked: blocked++; break;
                default: continue;
            }
            if (row.DecidedAt is { } at && DateOnly.FromDateTime(at.UtcDateTime).DayNumber - firstDay.DayNumber is var day and >= 0 and < Days)
            {
                byDay[day, (int)row.Decision]++;
            }
            if (row.IsRefused)
            {
                newest.Enqueue(row, row);
                if (newest.Count > LatestCount)
                {
                    newest.Dequeue();
                }
            }
        }
        var latest = await Task.WhenAll(newest.UnorderedItems.Select(i => catalog.GetAsync(i.Element.Partition, i.Element.Row, cancellationToken)));
        return new StoredStats(
            now,
            new ArtifactCounts(count, bytes, allowed, quarantined, blocked),
            [.. Enumerable.Range(0, Days).Select(d => new DayVerdicts(firstDay.AddDays(d).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), byDay[d, 0], byDay[d, 1], byDay[d, 2]))],
            // Read again whole: one decided again since the walk shows its decision now, one gone since is left out.
            [.. latest.OfType<CatalogReference>().Where(r => r.IsRefused).OrderBy(r => r, NewestFirst.Instance).Select(r => new LatestRefusal(r.Remote, r.Subject, r.File, r.Sha256,
                r.Decision!.Value.ToString(), r.Rule, r.PolicyRule, r.Reason, r.DecidedAt ?? DateTimeOffset.MinValue))]);
    }

    private async Task<(StoredStats, DateTimeOffset)> WalkAsync(CancellationToken cancellationToken)
    {
        // Off the caller's lock and synchronous context.
        await Task.Yield();
        var stats = await ComputeAsync(cancellationToken);
        return (stats, time.GetUtcNow());
    }

    /// <summary>Newest decision first; the key breaks ties so the order is the same on every walk.</summary>
    internal sealed class NewestFirst : IComparer<CatalogReference>
    {
        public static readonly NewestFirst Instance = new();

        public int Compare(CatalogReference? x, CatalogReference? y)
        {
            var byTime = Nullable.Compare(y?.DecidedAt, x?.DecidedAt);
            if (byTime != 0)
            {
                return byTime;
            }
            var byPartition = string.CompareOrdinal(x?.Partition, y?.Partition);
            return byPartition != 0 ? byPartition : string.CompareOrdinal(x?.Row, y?.Row);
        }
    }

    /// <summary>The reverse of <see cref="NewestFirst"/>: a bounded heap under it keeps the newest, dropping the oldest.</summary>
    internal sealed class NewestLast : IComparer<CatalogReference>
    {
        public static readonly NewestLast Instance = new();

        public int Compare(CatalogReference? x, CatalogReference? y) => NewestFirst.Instance.Compare(y, x);
    }
}
