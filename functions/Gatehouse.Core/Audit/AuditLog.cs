using Azure.Data.Tables;
using Gatehouse.Storage;

namespace Gatehouse.Audit;

/// <summary>The audit trail: what was decided or done, to what, and why.</summary>
public interface IAuditLog
{
    Task WriteAsync(string action, string subject, string detail, CancellationToken cancellationToken);
}

/// <summary>Append-only audit trail: one row per decision or administrative act, partitioned by day.</summary>
public sealed class AuditLog : IAuditLog
{
    private readonly TableClient _table;
    private readonly TimeProvider _time;

    public AuditLog(GatehouseStorage storage, TimeProvider time)
    {
        _table = storage.Table(GatehouseStorage.AuditTable);
        _time = time;
    }

    public async Task WriteAsync(string action, string subject, string detail, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        // Inverted ticks make the newest rows come first in a partition scan; the suffix keeps rows unique.
        var row = $"{DateTimeOffset.MaxValue.UtcTicks - now.UtcTicks:D19}-{Guid.NewGuid():N}";
        var entity = new TableEntity(now.ToString("yyyyMMdd"), row)
        {
            ["Action"] = action,
            ["Subject"] = subject,
            ["Detail"] = detail.Length <= 30_000 ? detail : detail[..30_000],
            ["At"] = now,
        };
        await _table.AddEntityAsync(entity, cancellationToken);
    }
}
