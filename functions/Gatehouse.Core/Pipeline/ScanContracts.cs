namespace Gatehouse.Pipeline;

/// <summary>
/// Input of <see cref="ScanArtifactOrchestrator"/>: the content (by the reference that first asked for it, which says
/// where to fetch it) and what brought it. The orchestration's instance id is the sha256: one fetch and one scan per
/// content, across every instance of the app.
/// </summary>
public sealed record ScanRequest(ArtifactReference Requester, ScanSource Source)
{
    public string Sha256 => Requester.Sha256;

    /// <summary>The orchestration that scans this content: its remote's choice (<see cref="IRemote.ScanOrchestrator"/>), a file's by default.</summary>
    public string Orchestrator { get; init; } = nameof(ScanArtifactOrchestrator);
}

/// <summary>Input of every content check: only the content, so no check can depend on who asked or under which name.</summary>
public sealed record CheckInput(string Sha256);

/// <summary>Why a content could not be fetched.</summary>
public enum FetchProblem
{
    /// <summary>The upstream could not be reached, answered an error, or broke off.</summary>
    Upstream,
    /// <summary>The upstream sent other bytes than it promised (digest or size).</summary>
    DigestMismatch,
}

/// <summary>
/// Output of <see cref="FetchContentActivity"/>: staged (or already there), or why not; with the results of the checks
/// that ran in the fetch's process (<see cref="LocalContentChecks"/>), which the orchestration then does not schedule.
/// </summary>
public sealed record FetchOutcome(bool Staged, FetchProblem? Problem, string? Message, double FetchMs, IReadOnlyList<CheckResult>? Checks = null)
{
    public static FetchOutcome Present() => new(true, null, null, 0);

    public static FetchOutcome Fetched(double fetchMs) => new(true, null, null, fetchMs);

    public static FetchOutcome Failed(FetchProblem problem, string message) => new(false, problem, message, 0);
}

/// <summary>Input of <see cref="RecordFactsActivity"/>: the checks' results, and the requester's remote facts when they were gathered.</summary>
public sealed record FactsInput(ScanRequest Request, IReadOnlyList<CheckResult> Results, ReferenceFacts? RequesterFacts = null)
{
    /// <summary>The checks whose results the facts must hold (a check missing is an error); <see cref="ContentChecks.All"/> when null.</summary>
    public IReadOnlyList<string>? Checks { get; init; }
}

/// <summary>
/// Output of <see cref="ScanArtifactOrchestrator"/>: where the content went and the requester's decision, or why
/// it could not be fetched (then no facts exist and the next request tries again).
/// </summary>
public sealed record ScanOutcome(string Sha256, FetchProblem? Problem, string? Message, string? Container, ArtifactDecision? RequesterDecision)
{
    public static ScanOutcome NotFetched(string sha256, FetchOutcome fetch) => new(sha256, fetch.Problem, fetch.Message, null, null);
}
