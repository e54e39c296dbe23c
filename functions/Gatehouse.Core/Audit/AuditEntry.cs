namespace Gatehouse.Audit;

/// <summary>
/// One act for the audit trail, with what makes it findable again: the artifact it concerns and who asked. The time
/// defaults to the moment it is written; the caller to the one of the request being answered (<see cref="Caller.Ambient"/>).
/// </summary>
public sealed record AuditEntry(string Action, string Subject, string Detail)
{
    /// <summary>The file the act concerns, when it concerns one (a download, a decision, a waiver, an upload).</summary>
    public AuditArtifact? Artifact { get; init; }

    /// <summary>Who asked; null takes the current request's caller, if any.</summary>
    public Caller? Caller { get; init; }

    /// <summary>When it happened; null is now.</summary>
    public DateTimeOffset? At { get; init; }

    /// <summary>A token the act is about (created, revoked, limited), indexed besides the caller's.</summary>
    public string? SubjectTokenId { get; init; }
}

/// <summary>
/// A file as the audit names it: its remote, how people name where it came from (<c>gh-demo 1.0.0</c>,
/// <c>org/model@commit</c>), its file name and sha256, and the reference it was served under.
/// </summary>
public sealed record AuditArtifact(string Remote, string Subject, string? FileName, string? Sha256)
{
    /// <summary>The partition of the reference the file was served under (its project's or repository's).</summary>
    public string? ReferencePartition { get; init; }

    /// <summary>The row of the reference the file was served under.</summary>
    public string? ReferenceRow { get; init; }
}

/// <summary>The actions the audit trail records, where a query or a report needs to name one.</summary>
public static class AuditActions
{
    /// <summary>A file served to a client by a GET.</summary>
    public const string DownloadAction = "download";

    /// <summary>A decision recorded on a reference after its content's facts.</summary>
    public const string DecisionAction = "decision";

    /// <summary>A refusal decided from the remote's facts before anything was fetched.</summary>
    public const string MetadataDecisionAction = "decision.metadata";

    /// <summary>The prefix of the token actions (<c>token.create</c>, <c>token.revoke</c>): their subject is the token's id.</summary>
    public const string TokenPrefix = "token.";
}
