using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Audit;

/// <summary>
/// A question to the audit trail: records of an artifact and/or a token, in a time range, of one action, a page at a
/// time. Read from <c>GET /admin/audit?artifact=…&amp;token=…&amp;from=…&amp;to=…&amp;action=…&amp;limit=…&amp;continuation=…</c>.
/// </summary>
public sealed record AuditQuery(AuditArtifactFilter? Artifact, string? TokenId, DateTimeOffset? From, DateTimeOffset? To, string? Action, int Limit,
    string? Continuation)
{
    /// <summary>The page size when none is asked for.</summary>
    public const int DefaultLimit = 100;

    /// <summary>The largest page: a page is read and answered whole.</summary>
    public const int MaxLimit = 1000;

    /// <summary>How far back a query with neither artifact nor token nor <c>from</c> looks, walking one day partition at a time.</summary>
    public static readonly TimeSpan DefaultSpan = TimeSpan.FromDays(30);

    /// <summary>The parameters a query understands; any other is refused, so a misspelt filter does not silently widen the answer.</summary>
    public static readonly IReadOnlySet<string> Parameters = new HashSet<string>(StringComparer.Ordinal) { "artifact", "token", "from", "to", "action", "limit", "continuation" };

    /// <summary>The query of a request's parameters, or null with the problem. Times are ISO 8601 or an age such as <c>7d</c>, <c>12h</c>, <c>30m</c>.</summary>
    public static AuditQuery? Parse(IQueryCollection parameters, DateTimeOffset now, out string problem)
    {
        problem = "";
        if (parameters.Keys.FirstOrDefault(k => !Parameters.Contains(k)) is { } unknown)
        {
            problem = $"Unknown parameter '{unknown}'; the audit is queried by {string.Join(", ", Parameters)}";
            return null;
        }
        if (parameters.Keys.FirstOrDefault(k => parameters[k].Count > 1) is { } repeated)
        {
            problem = $"Give '{repeated}' once";
            return null;
        }
        AuditArtifactFilter? artifact = null;
        if (parameters.TryGetValue("artifact", out var artifactText) && (artifact = AuditIndex.ParseFilter(artifactText, out problem)) is null)
        {
            return null;
        }
        var token = Optional(parameters, "token");
        if (token is { Length: > 200 } || (token?.Any(char.IsControl) ?? false))
        {
            problem = "A token id is at most 200 printable characters";
            return null;
        }
        if (!TryTime(parameters, "from", now, out var from, ref problem) || !TryTime(parameters, "to", now, out var to, ref problem))
        {
            return null;
        }
        if (from is not null && to is not null && from > to)
        {
            problem = "'from' is after 'to'";
            return null;
        }
        var action = Optional(parameters, "action");
        if (action is { Length: > 100 } || (action?.Any(char.IsControl) ?? false))
        {
            problem = "An action is at most 100 printable characters, e.g. download, decision, policy.apply";
            return null;
        }
        var limit = DefaultLimit;
        if (Optional(parameters, "limit") is { } limitText
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            problem = $"'limit' is a whole number from 1 to {MaxLimit}";
            return null;
        }
        return new AuditQuery(artifact, token, from, to, action, limit, Optional(parameters, "continuation"));
    }

    /// <summary>A time: ISO 8601 (a date alone is midnight UTC; no offset is UTC) or an age before <paramref name="now"/> (<c>90m</c>, <c>12h</c>, <c>7d</c>).</summary>
    public static DateTimeOffset? ParseTime(string text, DateTimeOffset now)
    {
        var value = text.Trim();
        if (value.Length >= 2 && long.TryParse(value[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var amount) && amount <= 100_000)
        {
            TimeSpan? age = value[^1] switch
            {
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => null,
            };
            if (age is { } span)
            {
                return now - span;
            }
        }
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at) ? at : null;
    }

    private static bool TryTime(IQueryCollection parameters, string name, DateTimeOffset now, out DateTimeOffset? at, ref string problem)
    {
        at = null;
        if (Optional(parameters, name) is not { } text)
        {
            return true;
        }
        at = ParseTime(text, now);
        if (at is null)
        {
            problem = $"'{name}' is an ISO 8601 time (2026-05-01, 2026-05-01T12:00:00Z) or an age (90m, 12h, 7d)";
            return false;
        }
        return true;
    }

    private static string? Optional(IQueryCollection parameters, string name) =>
        parameters.TryGetValue(name, out var values) && values.ToString() is { Length: > 0 } value ? value : null;
}
