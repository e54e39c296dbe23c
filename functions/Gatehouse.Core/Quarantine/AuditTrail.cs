using System.Globalization;
using Azure.Data.Tables;
using Gatehouse.Storage;

namespace Gatehouse.Quarantine;

/// <summary>One audit row as a reviewer reads it; <paramref name="Extra"/> holds any further columns (who, from where).</summary>
public sealed record AuditEntry(DateTimeOffset At, string Action, string Subject, string Detail, IReadOnlyDictionary<string, string> Extra);

/// <summary>
/// What the audit says about contents: the rows whose subject names their sha256, read from the day partitions of
/// the <c>audit</c> table (newest first within a day). The table has no index by content, so the look-back is bounded
/// by <see cref="LookBack"/>.
/// </summary>
public sealed class AuditTrail(GatehouseStorage storage, TimeProvider time)
{
    /// <summary>How many days back a reviewer's view reads the audit at most.</summary>
    public static readonly TimeSpan LookBack = TimeSpan.FromDays(31);

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal) { "PartitionKey", "RowKey", "Timestamp", "odata.etag", "Action", "Subject", "Detail", "At" };

    private readonly TableClient _table = storage.Table(GatehouseStorage.AuditTable);

    /// <summary>The rows naming each of <paramref name="sha256s"/> since <paramref name="from"/> (at most <see cref="LookBack"/> ago), oldest first.</summary>
    public async Task<IReadOnlyDictionary<string, List<AuditEntry>>> ForContentsAsync(IReadOnlyCollection<string> sha256s, DateTimeOffset from,
        CancellationToken cancellationToken)
    {
        var found = sha256s.Distinct(StringComparer.Ordinal).ToDictionary(s => s, _ => new List<AuditEntry>(), StringComparer.Ordinal);
        if (found.Count == 0)
        {
            return found;
        }
        var now = time.GetUtcNow();
        var earliest = from < now - LookBack ? now - LookBack : from;
        for (var day = earliest.UtcDateTime.Date; day <= now.UtcDateTime.Date; day = day.AddDays(1))
        {
            var partition = day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
            var rows = new List<(string Sha256, AuditEntry Entry)>();
            await foreach (var e in _table.QueryAsync<TableEntity>(x => x.PartitionKey == partition, cancellationToken: cancellationToken))
            {
                var subject = e.GetString("Subject") ?? "";
                foreach (var sha256 in found.Keys.Where(s => subject.Contains(s, StringComparison.Ordinal)))
                {
                    rows.Add((sha256, Read(e)));
                }
            }
            // A partition is newest first; the trail reads oldest first.
            foreach (var (sha256, entry) in rows.OrderBy(r => r.Entry.At))
            {
                found[sha256].Add(entry);
            }
        }
        return found;
    }

    private static AuditEntry Read(TableEntity e) => new(
        e.GetDateTimeOffset("At") ?? e.Timestamp ?? DateTimeOffset.MinValue,
        e.GetString("Action") ?? "",
        e.GetString("Subject") ?? "",
        e.GetString("Detail") ?? "",
        e.Where(p => !Known.Contains(p.Key) && p.Value is not null)
            .ToDictionary(p => p.Key, p => Convert.ToString(p.Value, CultureInfo.InvariantCulture) ?? "", StringComparer.Ordinal));
}
