using System.Globalization;
using Azure.Data.Tables;
using Gatehouse.Storage;

namespace Gatehouse.Audit;

/// <summary>The audit trail: what was decided or done, to what, by whom, and why.</summary>
public interface IAuditLog
{
    Task WriteAsync(string action, string subject, string detail, CancellationToken cancellationToken);

    /// <summary>Records an act with its artifact and caller, so it can be found by them; a log without indexes keeps the text.</summary>
    Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken) => WriteAsync(entry.Action, entry.Subject, entry.Detail, cancellationToken);
}

/// <summary>
/// Append-only audit trail in table <c>audit</c>: one row per act in its day's partition (<c>yyyyMMdd</c>, newest first),
/// and a copy of it in each index partition it can be found by (<see cref="AuditIndex"/>), written in the same call.
/// Nothing in Gatehouse updates or deletes a row: rows are only added, and a row key is never reused.
/// </summary>
public sealed class AuditLog(GatehouseStorage storage, TimeProvider time) : IAuditLog
{
    /// <summary>A table string property holds 64 KiB of UTF-16; the detail is cut to fit with the rest of the row.</summary>
    public const int MaxDetailChars = 30_000;

    private readonly TableClient _table = storage.Table(GatehouseStorage.AuditTable);

    /// <summary>The text-only form the callers before structured entries use; a token action's subject is the token's id.</summary>
    public Task WriteAsync(string action, string subject, string detail, CancellationToken cancellationToken) =>
        WriteAsync(new AuditEntry(action, subject, detail)
        {
            SubjectTokenId = action.StartsWith(AuditActions.TokenPrefix, StringComparison.Ordinal) ? subject : null,
        }, cancellationToken);

    public async Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        var at = entry.At ?? time.GetUtcNow();
        var caller = entry.Caller ?? Caller.Ambient;
        var record = new TableEntity(DayPartition(at), RowKey(at) + "-" + Guid.NewGuid().ToString("N"))
        {
            [nameof(AuditRecord.Action)] = entry.Action,
            [nameof(AuditRecord.Subject)] = entry.Subject,
            [nameof(AuditRecord.Detail)] = entry.Detail.Length <= MaxDetailChars ? entry.Detail : entry.Detail[..MaxDetailChars],
            [nameof(AuditRecord.At)] = at,
            [nameof(Caller.TokenId)] = caller?.TokenId,
            [nameof(Caller.TokenName)] = caller?.TokenName,
            [nameof(Caller.ClientIp)] = caller?.ClientIp,
            [nameof(AuditRecord.SubjectTokenId)] = entry.SubjectTokenId,
        };
        if (entry.Artifact is { } artifact)
        {
            record[nameof(AuditArtifact.Remote)] = artifact.Remote;
            record[ArtifactSubjectProperty] = artifact.Subject;
            record[nameof(AuditArtifact.FileName)] = artifact.FileName;
            record[nameof(AuditArtifact.Sha256)] = artifact.Sha256;
            record[nameof(AuditArtifact.ReferencePartition)] = artifact.ReferencePartition;
            record[nameof(AuditArtifact.ReferenceRow)] = artifact.ReferenceRow;
        }
        var writes = new List<Task> { _table.AddEntityAsync(record, cancellationToken) };
        foreach (var key in AuditIndex.Keys(entry.Artifact, caller?.TokenId, entry.SubjectTokenId))
        {
            writes.Add(_table.AddEntityAsync(new TableEntity(record) { PartitionKey = key, RowKey = record.RowKey, [DayProperty] = record.PartitionKey }, cancellationToken));
        }
        await Task.WhenAll(writes);
    }

    /// <summary>The property naming the day partition of the record an index row copies.</summary>
    internal const string DayProperty = "Day";

    /// <summary>The property holding the artifact's own subject (the record's subject may say more).</summary>
    internal const string ArtifactSubjectProperty = "ArtifactSubject";

    /// <summary>The partition of the day of <paramref name="at"/> (UTC).</summary>
    internal static string DayPartition(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    /// <summary>
    /// The time part of a row key: inverted ticks, so the newest rows come first in a partition (a suffix keeps rows
    /// unique); a later time has a smaller key.
    /// </summary>
    internal static string RowKey(DateTimeOffset at) => (DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks).ToString("D19", CultureInfo.InvariantCulture);
}
