using Gatehouse.Pipeline;

namespace Gatehouse.HuggingFace.Prefetch;

/// <summary>Input of <see cref="ScanRepositoryOrchestrator"/>: one repository at one commit, and the run's limits.</summary>
/// <param name="RepoType">"models" or "datasets", as in the Hub's API paths.</param>
/// <param name="RepoId"><c>namespace/name</c>.</param>
/// <param name="Revision">What the caller asked for (branch, tag or commit), for the report.</param>
/// <param name="Commit">The 40-hex commit the revision resolved to when the prefetch was accepted; every file is pinned to it.</param>
/// <param name="MaxFiles">Refuse repositories with more files than this.</param>
/// <param name="MaxTreePages">Refuse repositories whose tree listing does not end within this many pages.</param>
/// <param name="Parallelism">How many files are fetched and scanned at once.</param>
/// <param name="ScanTimeoutSeconds">How long to wait for the verdict of a file someone else is scanning before reporting it as pending.</param>
public sealed record PrefetchRequest(string RepoType, string RepoId, string Revision, string Commit, int MaxFiles, int Parallelism, int ScanTimeoutSeconds,
    int MaxTreePages);

/// <summary>
/// Input of <see cref="PrefetchFileActivity"/>: one file of the repository at the prefetch's commit, and the other paths
/// with the same content (their references are recorded too; the content is fetched once).
/// </summary>
public sealed record PrefetchFileInput(string RepoType, string RepoId, string Commit, HfRepoFile File, IReadOnlyList<string>? AlsoAt = null);

/// <summary>
/// Output of <see cref="ListRepositoryFilesActivity"/>: the files, or why the repository is refused (a limit, the Hub's
/// refusal), which fails the prefetch without retrying the listing.
/// </summary>
public sealed record RepositoryListing(List<HfRepoFile>? Files, string? Refusal);

/// <summary>Where one file stands after <see cref="PrefetchFileActivity"/>.</summary>
public enum PrefetchFileState
{
    /// <summary>The content already has current facts: every path is decided.</summary>
    Decided,
    /// <summary>Prepared (sha256 and references known), and this prefetch holds the scan's claim: the orchestrator starts the scan, which fetches it.</summary>
    NeedsScan,
    /// <summary>Prepared, but someone else (a download, another prefetch) holds the scan's claim: its decision is waited for.</summary>
    InProgress,
    /// <summary>Could not be prepared (the Hub failed, or a small file's bytes are not what it said).</summary>
    Failed,
}

/// <summary>
/// Output of <see cref="PrefetchFileActivity"/>: the content's sha256, the references of the file and of the other
/// paths with the same content (file first), and per-path results when already decided.
/// </summary>
public sealed record PrefetchFileOutcome(PrefetchFileState State, string? Sha256, ScanRequest? Scan, IReadOnlyList<ArtifactReference>? References,
    IReadOnlyList<PrefetchedFile>? Results, string? Error, double FetchMs);

/// <summary>One file's line in the prefetch report.</summary>
/// <param name="Decision">Allowed, Quarantined, Blocked; Pending when another scan of the content gave no verdict within the scan timeout; Failed when the file could not be fetched.</param>
/// <param name="FetchMs">Time to fetch, verify and stage the file (0 when it was already known).</param>
/// <param name="ScanMs">Time from starting its scan to its verdict, as the orchestration saw it (0 when it was already known).</param>
public sealed record PrefetchedFile(string Path, long Size, string? Sha256, string Decision, string? Rule, string? Reason, double FetchMs, double ScanMs);

/// <summary>The orchestration's custom status while it runs: files and bytes done of all.</summary>
public sealed record PrefetchProgress(int Files, int FilesDone, long Bytes, long BytesDone);

/// <summary>Output of <see cref="ScanRepositoryOrchestrator"/>: every file with its verdict, in the repository's order.</summary>
public sealed record PrefetchResult(string RepoType, string RepoId, string Revision, string Commit, IReadOnlyList<PrefetchedFile> Files);

/// <summary>The decisions a prefetch report uses besides <see cref="Decision"/>'s.</summary>
public static class PrefetchDecisions
{
    public const string Pending = "Pending";
    public const string Failed = "Failed";
}
