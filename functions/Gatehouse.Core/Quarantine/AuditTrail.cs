using Gatehouse.Audit;

namespace Gatehouse.Quarantine;

/// <summary>One audit row as a reviewer reads it; <paramref name="Extra"/> holds who asked (token id and name, client IP).</summary>
public sealed record TrailEntry(DateTimeOffset At, string Action, string Subject, string Detail, IReadOnlyDictionary<string, string> Extra);

/// <summary>
/// What the audit says about contents: the records indexed under each sha256 (decisions, downloads, reviewers' acts),
/// read through the audit's own index (<see cref="AuditReader"/>: one partition per content), oldest first, at most
/// <see cref="MaxRows"/> per content.
/// </summary>
public sealed class AuditTrail(AuditReader reader)
{
    /// <summary>The most records a reviewer's view reads for one content.</summary>
    public const int MaxRows = AuditQuery.MaxLimit;

    /// <summary>The records naming each of <paramref name="sha256s"/> since <paramref name="from"/>, oldest first.</summary>
    public async Task<IReadOnlyDictionary<string, List<TrailEntry>>> ForContentsAsync(IReadOnlyCollection<string> sha256s, DateTimeOffset from,
        CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, List<TrailEntry>>(StringComparer.Ordinal);
        foreach (var sha256 in sha256s.Distinct(StringComparer.Ordinal))
        {
            var filter = AuditIndex.ParseFilter(sha256, out _);
            var page = filter is null
                ? new AuditPage([], null)
                : await reader.QueryAsync(new AuditQuery(filter, null, from, null, null, MaxRows, null), cancellationToken);
            found[sha256] = [.. page.Records.OrderBy(r => r.At).Select(Read)];
        }
        return found;
    }

    private static TrailEntry Read(AuditRecord record)
    {
        var extra = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in new[] { ("TokenId", record.TokenId), ("TokenName", record.TokenName), ("ClientIp", record.ClientIp) })
        {
            if (!string.IsNullOrEmpty(value))
            {
                extra[name] = value;
            }
        }
        return new TrailEntry(record.At, record.Action, record.Subject, record.Detail, extra);
    }
}
