namespace Gatehouse.Audit;

/// <summary>A file's decision as it stands, for the affected-consumer report.</summary>
/// <param name="Source">Where it comes from: <c>policy</c> (the policy in force, and any reviewer's override, applied now) or <c>recorded</c>.</param>
public sealed record AuditDecision(string Outcome, string Rule, string Reason, string PolicyVersion, string Source);

/// <summary>
/// What a file served earlier is decided now. The pipeline answers it (the audit cannot use the pipeline: the pipeline
/// writes the audit); null when the reference is not known.
/// </summary>
public interface IArtifactDecisions
{
    Task<AuditDecision?> CurrentAsync(AuditArtifact artifact, CancellationToken cancellationToken);
}

/// <summary>One file an artifact filter matched, its decision now, and how often it was served.</summary>
public sealed record AffectedArtifact(string Remote, string Subject, string? FileName, string? Sha256, AuditDecision? Current, int DownloadCount);

/// <summary>One token that downloaded the artifact: from which addresses, first and last, how many times.</summary>
public sealed record AffectedConsumer(string? TokenId, string? TokenName, IReadOnlyList<string> ClientIps, DateTimeOffset FirstDownload, DateTimeOffset LastDownload,
    int DownloadCount);

/// <summary>Who downloaded an artifact and when: what to tell when a file already served is quarantined or blocked.</summary>
public sealed record AffectedReport(string Artifact, IReadOnlyList<AffectedArtifact> Artifacts, IReadOnlyList<AffectedConsumer> Consumers, bool Truncated)
{
    /// <summary>
    /// The report of the downloads recorded under <paramref name="filter"/>: the files, each with its decision now, and per
    /// token (by id; a download without one is grouped under none) its client IPs, first and last download and count.
    /// </summary>
    public static async Task<AffectedReport> BuildAsync(AuditArtifactFilter filter, IReadOnlyList<AuditRecord> downloads, IArtifactDecisions? decisions,
        CancellationToken cancellationToken)
    {
        var artifacts = new List<AffectedArtifact>();
        foreach (var file in downloads.Where(d => d.Artifact is not null).GroupBy(d => d.Artifact! with { ReferencePartition = null, ReferenceRow = null }))
        {
            var served = file.First().Artifact!;
            var decision = decisions is null ? null : await decisions.CurrentAsync(served, cancellationToken);
            artifacts.Add(new AffectedArtifact(served.Remote, served.Subject, served.FileName, served.Sha256, decision, file.Count()));
        }
        var consumers = downloads.GroupBy(d => d.TokenId, StringComparer.Ordinal)
            .Select(t => new AffectedConsumer(t.Key, t.Select(d => d.TokenName).LastOrDefault(n => n is not null),
                [.. t.Select(d => d.ClientIp).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
                t.Min(d => d.At), t.Max(d => d.At), t.Count()))
            .OrderBy(c => c.FirstDownload)
            .ToList();
        return new AffectedReport(filter.Display, [.. artifacts.OrderBy(a => a.Subject, StringComparer.Ordinal).ThenBy(a => a.FileName, StringComparer.Ordinal)],
            consumers, downloads.Count >= AuditReader.MaxReportRows);
    }
}
