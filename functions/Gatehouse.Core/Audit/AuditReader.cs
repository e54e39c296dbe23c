using System.Globalization;
using System.Text;
using Azure.Data.Tables;
using Gatehouse.Storage;

namespace Gatehouse.Audit;

/// <summary>One act as the audit trail holds it.</summary>
public sealed record AuditRecord(DateTimeOffset At, string Action, string Subject, string Detail, string? TokenId, string? TokenName, string? ClientIp,
    string? SubjectTokenId, AuditArtifact? Artifact);

/// <summary>A page of records, newest first, and where the next one starts (null at the end).</summary>
public sealed record AuditPage(IReadOnlyList<AuditRecord> Records, string? Continuation);

/// <summary>
/// Reads the audit trail. A query by artifact or token reads that one index partition between the times asked; any
/// other reads the day partitions from <c>to</c> back to <c>from</c>, one at a time, so either is newest first.
/// </summary>
public sealed class AuditReader(GatehouseStorage storage, TimeProvider time)
{
    /// <summary>The most downloads the affected-consumer report reads for one artifact filter.</summary>
    public const int MaxReportRows = 100_000;

    private readonly TableClient _table = storage.Table(GatehouseStorage.AuditTable);

    /// <summary>One page of the records <paramref name="query"/> asks for; a continuation that is not one of ours is an <see cref="FormatException"/>.</summary>
    public async Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        var to = query.To ?? time.GetUtcNow();
        var indexKey = query.Artifact?.IndexKey ?? (query.TokenId is { } token ? AuditIndex.TokenKey(token) : null);
        var from = query.From ?? (indexKey is null ? to - AuditQuery.DefaultSpan : DateTimeOffset.MinValue);
        var filters = new List<string> { TableClient.CreateQueryFilter($"RowKey ge {AuditLog.RowKey(to)} and RowKey lt {AuditLog.RowKey(from) + "."}") };
        if (query.Action is { } action)
        {
            filters.Add(TableClient.CreateQueryFilter($"Action eq {action}"));
        }
        if (query.TokenId is { } tokenId && query.Artifact is not null)
        {
            filters.Add(TableClient.CreateQueryFilter($"TokenId eq {tokenId}"));
        }
        var records = new List<AuditRecord>();
        var firstPartition = indexKey ?? AuditLog.DayPartition(to);
        var lastDay = AuditLog.DayPartition(from);
        var (partition, continuation) = Decode(query.Continuation) ?? (firstPartition, null);
        // A continuation goes on with the same question: in its index partition, or in a day between the two asked.
        if (indexKey is null
                ? partition.Length != 8 || !partition.All(char.IsAsciiDigit) || string.CompareOrdinal(partition, firstPartition) > 0 || string.CompareOrdinal(partition, lastDay) < 0
                : partition != indexKey)
        {
            throw new FormatException("The continuation belongs to another query");
        }
        while (true)
        {
            var filter = string.Join(" and ", [TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), .. filters]);
            await foreach (var page in _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).AsPages(continuation, query.Limit - records.Count))
            {
                records.AddRange(page.Values.Select(Read));
                continuation = page.ContinuationToken;
                if (records.Count >= query.Limit || continuation is null)
                {
                    break;
                }
            }
            if (continuation is not null)
            {
                return new AuditPage(records, Encode(partition, continuation));
            }
            // An index is one partition; days go back one at a time until the first day asked for.
            var previous = indexKey is null && string.CompareOrdinal(partition, lastDay) > 0 ? PreviousDay(partition) : null;
            if (previous is null)
            {
                return new AuditPage(records, null);
            }
            if (records.Count >= query.Limit)
            {
                return new AuditPage(records, Encode(previous, null));
            }
            partition = previous;
        }
    }

    /// <summary>Every download recorded under <paramref name="filter"/>, newest first, at most <see cref="MaxReportRows"/>.</summary>
    public async Task<IReadOnlyList<AuditRecord>> DownloadsAsync(AuditArtifactFilter filter, CancellationToken cancellationToken)
    {
        var records = new List<AuditRecord>();
        var query = TableClient.CreateQueryFilter($"PartitionKey eq {filter.IndexKey} and Action eq {AuditActions.DownloadAction}");
        await foreach (var entity in _table.QueryAsync<TableEntity>(query, cancellationToken: cancellationToken))
        {
            records.Add(Read(entity));
            if (records.Count >= MaxReportRows)
            {
                break;
            }
        }
        return records;
    }

    private static AuditRecord Read(TableEntity entity)
    {
        var remote = entity.GetString(nameof(AuditArtifact.Remote));
        var artifact = remote is null ? null : new AuditArtifact(remote, entity.GetString(AuditLog.ArtifactSubjectProperty) ?? "", entity.GetString(nameof(AuditArtifact.FileName)),
            entity.GetString(nameof(AuditArtifact.Sha256)))
        {
            ReferencePartition = entity.GetString(nameof(AuditArtifact.ReferencePartition)),
            ReferenceRow = entity.GetString(nameof(AuditArtifact.ReferenceRow)),
        };
        return new AuditRecord(entity.GetDateTimeOffset(nameof(AuditRecord.At)) ?? entity.Timestamp ?? DateTimeOffset.MinValue, entity.GetString(nameof(AuditRecord.Action)) ?? "",
            entity.GetString(nameof(AuditRecord.Subject)) ?? "", entity.GetString(nameof(AuditRecord.Detail)) ?? "", entity.GetString(nameof(Caller.TokenId)),
            entity.GetString(nameof(Caller.TokenName)), entity.GetString(nameof(Caller.ClientIp)), entity.GetString(nameof(AuditRecord.SubjectTokenId)), artifact);
    }

    private static string? PreviousDay(string day) =>
        DateTime.TryParseExact(day, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var date) && date > DateTime.MinValue
            ? date.AddDays(-1).ToString("yyyyMMdd", CultureInfo.InvariantCulture)
            : null;

    // A continuation names the partition to go on in and the table's own continuation there, if any: base64url of "partition\ntoken".
    private static string Encode(string partition, string? continuation) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(partition + "\n" + continuation)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static (string Partition, string? Continuation)? Decode(string? text)
    {
        if (text is null)
        {
            return null;
        }
        var base64 = text.Replace('-', '+').Replace('_', '/');
        var bytes = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64.PadRight(base64.Length + (4 - (base64.Length % 4)) % 4, '='), bytes, out var length)
            || Encoding.UTF8.GetString(bytes, 0, length).Split('\n', 2) is not [var partition, var continuation] || partition.Length == 0)
        {
            throw new FormatException("The continuation is not one this audit trail gave");
        }
        return (partition, continuation.Length == 0 ? null : continuation);
    }
}
