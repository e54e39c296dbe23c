using Azure;
using Azure.Data.Tables;
using Gatehouse.Pipeline;
using Gatehouse.Storage;

namespace Gatehouse.Quarantine;

/// <summary>An override as its history keeps it: when and by whom it stopped standing, if it did.</summary>
/// <param name="LiftedBy">Who lifted it, or <c>superseded by &lt;id&gt;</c> when a later override took its place.</param>
public sealed record OverrideRecord(VerdictOverride Override, DateTimeOffset? LiftedAt, string? LiftedBy, string? LiftReason)
{
    /// <summary>active, expired (a release past its expiry), lifted or superseded.</summary>
    public string StateAt(DateTimeOffset now) => LiftedAt is not null
        ? LiftedBy?.StartsWith(TableVerdictOverrides.SupersededPrefix, StringComparison.Ordinal) == true ? "superseded" : "lifted"
        : TableVerdictOverrides.Expired(Override, now) ? "expired" : "active";
}

/// <summary>
/// The reviewers' overrides in the <c>overrides</c> table, keyed by sha256 (the partition): row <c>active</c> holds the
/// one in force, so the check every decision makes is one point read; rows <c>h:…</c> keep every override ever placed,
/// newest first, with who lifted it. A new override supersedes the one in force; a release past its expiry is not
/// returned (the policy decides again), and a block stands until it is lifted.
/// </summary>
public sealed class TableVerdictOverrides : IVerdictOverrides
{
    /// <summary>How <see cref="OverrideRecord.LiftedBy"/> names an override that a later one replaced.</summary>
    public const string SupersededPrefix = "superseded by ";

    private const string ActiveRow = "active";
    private const string HistoryPrefix = "h:";

    private readonly TableClient _table;
    private readonly TimeProvider _time;

    public TableVerdictOverrides(GatehouseStorage storage, TimeProvider time)
    {
        _table = storage.Table(GatehouseStorage.OverridesTable);
        _time = time;
    }

    /// <summary>A release no longer stands once its expiry has come.</summary>
    public static bool Expired(VerdictOverride reviewed, DateTimeOffset now) => reviewed.Expires is { } expires && expires <= now;

    public async Task<VerdictOverride?> FindAsync(ArtifactReference reference, CancellationToken cancellationToken) =>
        await ActiveAsync(reference.Sha256, cancellationToken) is { } active && !Expired(active, _time.GetUtcNow()) ? active : null;

    /// <summary>The override in the content's <c>active</c> row, expired or not; null when none stands.</summary>
    public async Task<VerdictOverride?> ActiveAsync(string sha256, CancellationToken cancellationToken)
    {
        var found = await _table.GetEntityIfExistsAsync<TableEntity>(sha256, ActiveRow, cancellationToken: cancellationToken);
        return found is { HasValue: true, Value: { } e } ? Read(e) : null;
    }

    /// <summary>
    /// Places a release (<see cref="Decision.Allowed"/> with an expiry) or a block on the content, in place of the one in
    /// force (which its history then names as superseded).
    /// </summary>
    public async Task<VerdictOverride> PlaceAsync(string sha256, Decision decision, string reason, string by, DateTimeOffset? expires, CancellationToken cancellationToken)
    {
        if (decision == Decision.Allowed && expires is null)
        {
            throw new ArgumentException("A release needs an expiry.", nameof(expires));
        }
        var now = _time.GetUtcNow();
        var placed = new VerdictOverride($"override-{Guid.NewGuid():N}"[..21], decision, reason, by, now, decision == Decision.Allowed ? expires : null);
        await _table.AddEntityAsync(Write(new TableEntity(sha256, HistoryRow(placed)), placed), cancellationToken);
        if (await ActiveAsync(sha256, cancellationToken) is { } previous)
        {
            await MarkLiftedAsync(sha256, previous, now, SupersededPrefix + placed.Id, null, cancellationToken);
        }
        await _table.UpsertEntityAsync(Write(new TableEntity(sha256, ActiveRow), placed), TableUpdateMode.Replace, cancellationToken);
        return placed;
    }

    /// <summary>Lifts the override in force (expired or not): the policy decides again. Returns it, or null when none stood.</summary>
    public async Task<VerdictOverride?> LiftAsync(string sha256, string by, string? reason, CancellationToken cancellationToken)
    {
        var found = await _table.GetEntityIfExistsAsync<TableEntity>(sha256, ActiveRow, cancellationToken: cancellationToken);
        if (found is not { HasValue: true, Value: { } row })
        {
            return null;
        }
        var lifted = Read(row);
        try
        {
            await _table.DeleteEntityAsync(sha256, ActiveRow, row.ETag, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            // Another reviewer lifted or replaced it a moment ago: theirs is what stands.
            return null;
        }
        await MarkLiftedAsync(sha256, lifted, _time.GetUtcNow(), by, reason, cancellationToken);
        return lifted;
    }

    /// <summary>Every override ever placed on the content, newest first.</summary>
    public async Task<IReadOnlyList<OverrideRecord>> HistoryAsync(string sha256, CancellationToken cancellationToken)
    {
        var history = new List<OverrideRecord>();
        await foreach (var e in _table.QueryAsync<TableEntity>(
            x => x.PartitionKey == sha256 && x.RowKey.CompareTo(HistoryPrefix) >= 0 && x.RowKey.CompareTo("h;") < 0, cancellationToken: cancellationToken))
        {
            history.Add(new OverrideRecord(Read(e), e.GetDateTimeOffset("LiftedAt"), e.GetString("LiftedBy"), e.GetString("LiftReason")));
        }
        return history;
    }

    private Task MarkLiftedAsync(string sha256, VerdictOverride lifted, DateTimeOffset at, string by, string? reason, CancellationToken cancellationToken) =>
        _table.UpsertEntityAsync(new TableEntity(sha256, HistoryRow(lifted))
        {
            ["LiftedAt"] = at,
            ["LiftedBy"] = by,
            ["LiftReason"] = reason,
        }, TableUpdateMode.Merge, cancellationToken);

    /// <summary>Newest first: inverted ticks of when it was placed, then its id.</summary>
    private static string HistoryRow(VerdictOverride placed) => $"{HistoryPrefix}{DateTimeOffset.MaxValue.UtcTicks - placed.At.UtcTicks:D19}:{placed.Id}";

    private static TableEntity Write(TableEntity entity, VerdictOverride placed)
    {
        entity["Id"] = placed.Id;
        entity["Decision"] = placed.Decision.ToString();
        entity["Reason"] = placed.Reason;
        entity["By"] = placed.By;
        entity["At"] = placed.At;
        entity["Expires"] = placed.Expires;
        return entity;
    }

    private static VerdictOverride Read(TableEntity e) => new(
        e.GetString("Id") ?? "",
        Enum.TryParse<Decision>(e.GetString("Decision"), out var decision) ? decision : Decision.Blocked,
        e.GetString("Reason") ?? "",
        e.GetString("By") ?? "",
        e.GetDateTimeOffset("At") ?? DateTimeOffset.MinValue,
        e.GetDateTimeOffset("Expires"));
}
