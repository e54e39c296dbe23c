using Gatehouse.Pipeline;
using Gatehouse.Scans.Archives;
using Gatehouse.Upstream;

namespace Gatehouse.PyPI;

/// <summary>
/// PyPI as a remote of the pipeline: references are <c>pypi:{project}</c> / file name, files come from the PyPI
/// upstream, and every file is an installable package whose name promises its archive (a wheel is a zip, an sdist a
/// gzip'd tar or a zip).
/// </summary>
public sealed class PyPIRemote(PyPIUpstream upstream, PyPIFacts facts) : IRemote
{
    public static readonly RemoteKind Pypi = new("pypi");

    public RemoteKind Kind => Pypi;

    public static ReferenceKey Key(string project, string filename) => new(Partition(project), filename);

    public static string Partition(string project) => "pypi:" + project;

    /// <summary>How people name a file's project and version: "gh-demo 1.0.0".</summary>
    public static string Subject(string project, string filename) => $"{project} {DistributionFile.Version(filename, project) ?? "?"}";

    public Task<UpstreamResponse> OpenAsync(Uri upstreamUrl, long expectedSize, CancellationToken cancellationToken) =>
        upstream.OpenFileAsync(upstreamUrl, ContentFetcher.BodyCap(expectedSize), cancellationToken);

    public ArtifactContext ContextOf(ArtifactReference reference) => Context(reference);

    public Task<ReferenceFacts> GatherAsync(ArtifactReference reference, FactScope scope, CancellationToken cancellationToken) =>
        facts.GatherAsync(reference, scope, cancellationToken);

    /// <summary>A PyPI file is an installable package whose name promises its archive.</summary>
    public static ArtifactContext Context(ArtifactReference reference) => new(reference, ExpectedArchive(reference.FileName), IsPackage: true);

    /// <summary>The archive a distribution's name promises; null for a name that promises none in particular.</summary>
    public static ArchiveFormat? ExpectedArchive(string filename) =>
        filename.EndsWith(".whl", StringComparison.OrdinalIgnoreCase) || filename.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)
        || filename.EndsWith(".egg", StringComparison.OrdinalIgnoreCase) ? ArchiveFormat.Zip
        : filename.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) || filename.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase) ? ArchiveFormat.Gzip
        : null;
}
