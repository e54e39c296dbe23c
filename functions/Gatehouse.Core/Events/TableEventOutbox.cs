using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Gatehouse.Storage;

namespace Gatehouse.Events;

/// <summary>
/// An event written in the caller's own entity-group transaction (<see cref="Action"/>, a row in the caller's table and
/// partition), and the note in the <c>events</c> table that lets the dispatcher find it (<see cref="Note"/>).
/// </summary>
public sealed record StagedEvent(TableTransactionAction Action, string Note);

/// <summary>
/// An outbox that writes an event atomically with the state change it reports: the caller adds
/// <see cref="StagedEvent.Action"/> to the transaction that writes its own row, so either both are stored or neither.
/// </summary>
public interface ITransactionalEventOutbox : IEventOutbox
{
    /// <summary>Notes the event as pending (first) and returns the row to write with the caller's own row.</summary>
    Task<StagedEvent> StageAsync(GatehouseEvent gatehouseEvent, string table, string partition, CancellationToken cancellationToken);

    /// <summary>The caller's transaction did not happen: the note is removed (left behind, it expires by itself).</summary>
    Task AbandonAsync(StagedEvent staged, CancellationToken cancellationToken);
}

/// <summary>An event waiting for delivery: its note, and where its outbox row is when it was staged in a transaction.</summary>
public sealed record OutboxEntry(string Note, string Id, string Subject, string Envelope, string? Table, string? Partition, string? Row);

/// <summary>The dispatcher's lease and its backoff, shared by every host: how many deliveries failed in a row, and when to try next.</summary>
public sealed record DispatchState(int Failures, DateTimeOffset? NextAttempt);

/// <summary>
/// The outbox in Table Storage. An event about a decision is written by <see cref="StageAsync"/>: a note in the
/// <c>events</c> table's <c>pending</c> partition first, then the event row itself (<c>event:{id}</c>) in the same
/// transaction as the reference's decision row, so a crash between the two cannot lose an event whose decision was
/// stored. A note whose event row never appeared (the transaction lost a race or the process died before it) is removed
/// after <see cref="UncommittedGrace"/>. Other events (<see cref="EnqueueAsync"/>) are written whole into their note.
/// Notes are keyed by enqueue time, so the dispatcher reads them in the order they were written; a delivered event row
/// is marked <c>Delivered</c> and its note removed.
/// </summary>
public sealed class TableEventOutbox : ITransactionalEventOutbox
{
    /// <summary>Row keys of event rows written into another table's partition.</summary>
    public const string RowPrefix = "event:";

    internal const string PendingPartition = "pending";
    internal const string DeadPartition = "dead";
    private const string LeasePartition = "lease";
    private const string LeaseRow = "dispatcher";

    /// <summary>How long a note may wait for the transaction it announces; far beyond the storage client's retries.</summary>
    public static readonly TimeSpan UncommittedGrace = TimeSpan.FromMinutes(10);

    private readonly GatehouseStorage _storage;
    private readonly TableClient _events;
    private readonly string _source;
    private readonly TimeProvider _time;

    public TableEventOutbox(GatehouseStorage storage, string source, TimeProvider time)
        : this(storage, source, time, GatehouseStorage.EventsTable)
    {
    }

    /// <summary>An outbox on a table of its own (tests, which must not see each other's pending events).</summary>
    internal TableEventOutbox(GatehouseStorage storage, string source, TimeProvider time, string table)
    {
        _storage = storage;
        _events = storage.Table(table);
        _source = source;
        _time = time;
    }

    public async Task EnqueueAsync(GatehouseEvent gatehouseEvent, CancellationToken cancellationToken)
    {
        var note = NoteEntity(gatehouseEvent);
        note["Envelope"] = Envelope(gatehouseEvent);
        await _events.AddEntityAsync(note, cancellationToken);
    }

    public async Task<StagedEvent> StageAsync(GatehouseEvent gatehouseEvent, string table, string partition, CancellationToken cancellationToken)
    {
        var row = RowPrefix + gatehouseEvent.Id;
        var note = NoteEntity(gatehouseEvent);
        note["Table"] = table;
        note["Partition"] = partition;
        note["Row"] = row;
        await _events.AddEntityAsync(note, cancellationToken);
        var eventRow = new TableEntity(partition, row)
        {
            ["EventId"] = gatehouseEvent.Id,
            ["EventType"] = gatehouseEvent.Type,
            ["Subject"] = gatehouseEvent.Subject,
            ["Envelope"] = Envelope(gatehouseEvent),
            ["Delivered"] = false,
        };
        return new StagedEvent(new TableTransactionAction(TableTransactionActionType.Add, eventRow), note.RowKey);
    }

    public async Task AbandonAsync(StagedEvent staged, CancellationToken cancellationToken) => await DeleteNoteAsync(PendingPartition, staged.Note, cancellationToken);

    /// <summary>
    /// Up to <paramref name="max"/> deliverable events in the order they were written. Notes of events already delivered
    /// are removed, notes whose transaction never happened are removed after the grace, and notes still waiting for it are skipped.
    /// </summary>
    public async Task<IReadOnlyList<OutboxEntry>> PendingAsync(int max, CancellationToken cancellationToken)
    {
        var entries = new List<OutboxEntry>();
        await foreach (var note in _events.QueryAsync<TableEntity>(e => e.PartitionKey == PendingPartition, maxPerPage: Math.Max(max, 10), cancellationToken: cancellationToken))
        {
            // Two notes of one event (a staging host died before taking its note back) deliver it once.
            if (await ResolveAsync(note, cancellationToken) is { } entry && !entries.Exists(e => e.Id == entry.Id))
            {
                entries.Add(entry);
                if (entries.Count >= max)
                {
                    break;
                }
            }
        }
        return entries;
    }

    /// <summary>Marks the event row delivered and removes the note; a crash in between only delivers it again, under the same id.</summary>
    public async Task DeliveredAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        if (entry is { Table: { } table, Partition: { } partition, Row: { } row })
        {
            try
            {
                await _storage.Table(table).UpdateEntityAsync(new TableEntity(partition, row) { ["Delivered"] = true, ["DeliveredAt"] = _time.GetUtcNow() },
                    ETag.All, TableUpdateMode.Merge, cancellationToken);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                // The row went with its partition (a reference forgotten); the event was delivered all the same.
            }
        }
        await DeleteNoteAsync(PendingPartition, entry.Note, cancellationToken);
    }

    /// <summary>The destination refused the event for good: it is kept in the <c>dead</c> partition with the reason, and no longer retried.</summary>
    public async Task RejectedAsync(OutboxEntry entry, string reason, CancellationToken cancellationToken)
    {
        await _events.UpsertEntityAsync(new TableEntity(DeadPartition, entry.Note)
        {
            ["Id"] = entry.Id,
            ["Subject"] = entry.Subject,
            ["Envelope"] = entry.Envelope,
            ["Reason"] = reason.Length <= 4000 ? reason : reason[..4000],
            ["RejectedAt"] = _time.GetUtcNow(),
        }, TableUpdateMode.Replace, cancellationToken);
        await DeleteNoteAsync(PendingPartition, entry.Note, cancellationToken);
    }

    /// <summary>Takes or renews the dispatcher's lease for <paramref name="owner"/>; null while another owner holds it.</summary>
    public async Task<DispatchState?> TryHoldAsync(string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var found = await _events.GetEntityIfExistsAsync<TableEntity>(LeasePartition, LeaseRow, cancellationToken: cancellationToken);
        try
        {
            if (found is not { HasValue: true, Value: { } lease })
            {
                await _events.AddEntityAsync(new TableEntity(LeasePartition, LeaseRow) { ["Owner"] = owner, ["Until"] = now + duration, ["Failures"] = 0 }, cancellationToken);
                return new DispatchState(0, null);
            }
            if (lease.GetString("Owner") != owner && lease.GetDateTimeOffset("Until") > now)
            {
                return null;
            }
            await _events.UpdateEntityAsync(new TableEntity(LeasePartition, LeaseRow) { ["Owner"] = owner, ["Until"] = now + duration }, lease.ETag,
                TableUpdateMode.Merge, cancellationToken);
            return new DispatchState(lease.GetInt32("Failures") ?? 0, lease.GetDateTimeOffset("NextAttempt"));
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            // Another dispatcher took it a moment ago.
            return null;
        }
    }

    /// <summary>Records the backoff (failures in a row, next attempt) on the lease, so it survives a restart or a change of host.</summary>
    public async Task SaveStateAsync(DispatchState state, CancellationToken cancellationToken) =>
        await _events.UpdateEntityAsync(new TableEntity(LeasePartition, LeaseRow) { ["Failures"] = state.Failures, ["NextAttempt"] = state.NextAttempt },
            ETag.All, TableUpdateMode.Merge, cancellationToken);

    /// <summary>Lets the lease go (a host stopping), so another host need not wait for it to run out.</summary>
    public async Task ReleaseAsync(string owner, CancellationToken cancellationToken)
    {
        var found = await _events.GetEntityIfExistsAsync<TableEntity>(LeasePartition, LeaseRow, cancellationToken: cancellationToken);
        if (found is { HasValue: true, Value: { } lease } && lease.GetString("Owner") == owner)
        {
            try
            {
                await _events.UpdateEntityAsync(new TableEntity(LeasePartition, LeaseRow) { ["Until"] = _time.GetUtcNow() }, lease.ETag, TableUpdateMode.Merge, cancellationToken);
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                // Taken over meanwhile.
            }
        }
    }

    private async Task<OutboxEntry?> ResolveAsync(TableEntity note, CancellationToken cancellationToken)
    {
        var id = note.GetString("Id") ?? "";
        var subject = note.GetString("Subject") ?? "";
        if (note.GetString("Envelope") is { } envelope)
        {
            return new OutboxEntry(note.RowKey, id, subject, envelope, null, null, null);
        }
        if (note.GetString("Table") is not { } table || note.GetString("Partition") is not { } partition || note.GetString("Row") is not { } row)
        {
            await DeleteNoteAsync(PendingPartition, note.RowKey, cancellationToken);
            return null;
        }
        var written = await _storage.Table(table).GetEntityIfExistsAsync<TableEntity>(partition, row, cancellationToken: cancellationToken);
        if (written is { HasValue: true, Value: { } eventRow })
        {
            if (eventRow.GetBoolean("Delivered") == true)
            {
                await DeleteNoteAsync(PendingPartition, note.RowKey, cancellationToken);
                return null;
            }
            return new OutboxEntry(note.RowKey, id, subject, eventRow.GetString("Envelope") ?? "", table, partition, row);
        }
        if (_time.GetUtcNow() - (note.GetDateTimeOffset("StagedAt") ?? DateTimeOffset.MinValue) > UncommittedGrace)
        {
            // The transaction this note announced never happened: there is no event.
            await DeleteNoteAsync(PendingPartition, note.RowKey, cancellationToken);
        }
        return null;
    }

    private TableEntity NoteEntity(GatehouseEvent gatehouseEvent)
    {
        var now = _time.GetUtcNow();
        return new TableEntity(PendingPartition, NoteRow(now, gatehouseEvent.Id))
        {
            ["Id"] = gatehouseEvent.Id,
            ["Type"] = gatehouseEvent.Type,
            ["Subject"] = gatehouseEvent.Subject,
            ["StagedAt"] = now,
        };
    }

    /// <summary>Enqueue time first, so a partition scan returns notes oldest first; the id keeps them unique.</summary>
    internal static string NoteRow(DateTimeOffset at, string id) => $"{at.UtcTicks.ToString("D19", CultureInfo.InvariantCulture)}-{id}";

    private string Envelope(GatehouseEvent gatehouseEvent) => CloudEventEnvelope.Create(gatehouseEvent, _source).ToJsonString();

    private async Task DeleteNoteAsync(string partition, string row, CancellationToken cancellationToken)
    {
        try
        {
            await _events.DeleteEntityAsync(partition, row, ETag.All, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // Removed already (another dispatcher, or an abandon racing the grace).
        }
    }
}
