using Gatehouse.Upstream;

namespace Gatehouse.Pipeline;

/// <summary>
/// A remote adapter as the pipeline sees it: its kind, how a file is opened at its upstream (through
/// <see cref="UpstreamClient"/>, with the remote's hosts and credential), and the decision context of its references.
/// </summary>
public interface IRemote
{
    RemoteKind Kind { get; }

    /// <summary>Opens a file this remote recorded, at its upstream URL; the caller disposes the answer.</summary>
    Task<UpstreamResponse> OpenAsync(Uri upstreamUrl, long expectedSize, CancellationToken cancellationToken);

    /// <summary>What this remote promises about a reference's file, for the policy.</summary>
    ArtifactContext ContextOf(ArtifactReference reference);

    /// <summary>
    /// What this remote knows of a reference besides its bytes (advisories, licence, name, age, provenance), from
    /// caches each with its own freshness. Never throws for a source that failed: it is listed in
    /// <see cref="ReferenceFacts.Unavailable"/>.
    /// </summary>
    Task<ReferenceFacts> GatherAsync(ArtifactReference reference, FactScope scope, CancellationToken cancellationToken);

    /// <summary>The orchestration that scans a reference's content: <see cref="ScanArtifactOrchestrator"/> for a file.</summary>
    string ScanOrchestrator(ArtifactReference reference) => nameof(ScanArtifactOrchestrator);
}

/// <summary>How much a remote gathers for a decision.</summary>
public enum FactScope
{
    /// <summary>Everything, a release's own document included: the decision on a scanned file, a dry run.</summary>
    Full,

    /// <summary>
    /// What can be learnt without waiting on a release's own upstream document: the decision before a fetch starts.
    /// What is left out is fetched in the background, so the decision after the scan finds it cached.
    /// </summary>
    BeforeFetch,
}

/// <summary>Every registered remote by kind.</summary>
public sealed class RemoteRegistry(IEnumerable<IRemote> remotes)
{
    private readonly Dictionary<RemoteKind, IRemote> _remotes = remotes.ToDictionary(r => r.Kind);

    public IRemote this[RemoteKind kind] =>
        _remotes.TryGetValue(kind, out var remote) ? remote : throw new InvalidOperationException($"No remote '{kind}' is registered.");

    /// <summary>A scan of <paramref name="reference"/>'s content by the orchestration its remote chose (a file's when the remote is not registered here).</summary>
    public ScanRequest Scan(ArtifactReference reference, ScanSource source) =>
        new(reference, source) { Orchestrator = _remotes.TryGetValue(reference.Remote, out var remote) ? remote.ScanOrchestrator(reference) : nameof(ScanArtifactOrchestrator) };
}
