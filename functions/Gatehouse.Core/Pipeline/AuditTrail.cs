using System.Globalization;
using Gatehouse.Audit;

namespace Gatehouse.Pipeline;

/// <summary>How the audit names a reference's file, so its records can be found by sha256, release or commit.</summary>
public static class AuditArtifacts
{
    public static AuditArtifact Of(ArtifactReference reference) =>
        new(reference.Remote.Name, reference.Subject, reference.FileName, reference.Sha256)
        {
            ReferencePartition = reference.Key.Partition,
            ReferenceRow = reference.Key.Row,
        };
}

/// <summary>Every file served is in the audit: who (token id and name, client IP), what, how many bytes, when.</summary>
public sealed class AuditedDownloads(IAuditLog audit) : IDownloadObserver
{
    public Task ServedAsync(Download download, CancellationToken cancellationToken) =>
        audit.WriteAsync(new AuditEntry(AuditActions.DownloadAction, $"{download.Reference.Remote} {download.Reference.Subject} {download.Reference.FileName}",
            string.Create(CultureInfo.InvariantCulture, $"{download.Bytes} bytes"))
        {
            Artifact = AuditArtifacts.Of(download.Reference),
            Caller = download.Caller,
            At = download.At,
        }, cancellationToken);
}

/// <summary>
/// A file's decision now, for the affected-consumer report: the policy in force (and any reviewer's override) applied
/// to its content's current facts, without recording anything; the recorded decision when the facts are not current.
/// </summary>
public sealed class ArtifactDecisionsNow(IReferenceStore references, IFactsStore facts, ReferenceDecisions decisions) : IArtifactDecisions
{
    public async Task<AuditDecision?> CurrentAsync(AuditArtifact artifact, CancellationToken cancellationToken)
    {
        if (artifact.ReferencePartition is not { } partition || artifact.ReferenceRow is not { } row
            || await references.GetAsync(new ReferenceKey(partition, row), cancellationToken) is not { } stored || stored.Reference.Sha256 != artifact.Sha256)
        {
            return null;
        }
        if (await facts.GetAsync(stored.Reference.Sha256, cancellationToken) is { IsCurrent: true } known)
        {
            var (outcome, version) = await decisions.PreviewAsync(known, stored.Reference, cancellationToken);
            return new AuditDecision(outcome.Decision.ToString(), outcome.Rule, outcome.Reason, version, "policy");
        }
        return stored.Decision is { } recorded ? new AuditDecision(recorded.Decision.ToString(), recorded.Rule, recorded.Reason, recorded.PolicyVersion, "recorded") : null;
    }
}
