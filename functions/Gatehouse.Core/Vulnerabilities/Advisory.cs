namespace Gatehouse.Vulnerabilities;

/// <summary>
/// What a client or the policy is told about one advisory for one project: its ids, a line of summary, how severe it
/// is, whether the package is malware, and the versions that fix it.
/// </summary>
/// <param name="Cvss">The highest CVSS base score among the record's and the project's severity vectors; null when none could be scored.</param>
/// <param name="Severity">none, low, medium, high, critical or unknown.</param>
/// <param name="Malicious">OSV's malicious-packages database (ids <c>MAL-</c>): the release is malware, not a bug.</param>
public sealed record Advisory(string Id, IReadOnlyList<string> Aliases, string Summary, double? Cvss, string Severity, bool Malicious, IReadOnlyList<string> FixedIn)
{
    public const string UnknownSeverity = "unknown";

    /// <summary>
    /// The advisory for <paramref name="project"/>. Severity comes from the highest CVSS score (v3.0, v3.1 or v4.0)
    /// among <c>severity</c> and the project's <c>affected[].severity</c>; failing that from <c>database_specific.severity</c>
    /// (the GitHub Advisory Database's LOW, MODERATE, HIGH, CRITICAL); else it is unknown.
    /// </summary>
    public static Advisory From(OsvRecord record, string project) => From(record, new OsvPackageKey(OsvEcosystem.PyPI, project));

    /// <summary>The advisory for <paramref name="package"/> of any ecosystem the mirror holds, read as <see cref="From(OsvRecord, string)"/> says.</summary>
    public static Advisory From(OsvRecord record, OsvPackageKey package)
    {
        var mine = (record.Affected ?? []).Where(a => a.Names(package)).ToList();
        var vectors = (record.Severity ?? []).Concat(mine.SelectMany(a => a.Severity ?? []))
            .Where(s => s.Type is "CVSS_V3" or "CVSS_V4").Select(s => s.Score);
        CvssResult? highest = null;
        foreach (var vector in vectors)
        {
            if (CvssScore.TryCompute(vector, out var result) && (highest is null || result.BaseScore > highest.BaseScore))
            {
                highest = result;
            }
        }
        var severity = highest?.Severity
            ?? mine.Select(a => a.DatabaseSpecific?.Severity).Prepend(record.DatabaseSpecific?.Severity).Select(Label).FirstOrDefault(l => l is not null)
            ?? UnknownSeverity;
        var summary = record.Summary ?? FirstLine(record.Details) ?? "";
        return new Advisory(record.Id, record.Aliases ?? [], summary, highest?.BaseScore, severity,
            record.Id.StartsWith("MAL-", StringComparison.Ordinal), OsvMatcher.FixedIn(record, package));
    }

    /// <summary>A database's label in the CVSS bands' words (GHSA says MODERATE for medium).</summary>
    private static string? Label(string? label) => label?.Trim().ToUpperInvariant() switch
    {
        "LOW" => "low",
        "MODERATE" or "MEDIUM" => "medium",
        "HIGH" => "high",
        "CRITICAL" => "critical",
        _ => null,
    };

    private static string? FirstLine(string? details) =>
        details?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
}
