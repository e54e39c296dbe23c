using Gatehouse.Pipeline;
using Gatehouse.Upstream;

namespace Gatehouse.HuggingFace;

/// <summary>
/// The Hugging Face Hub as a remote of the pipeline: references are <c>hf:{repo}</c> / <c>{commit}/{path}</c>, files
/// come from the Hub (and its CDN), and a file promises nothing about its form: its loader decides what it reads.
/// </summary>
public sealed class HuggingFaceRemote(HuggingFaceUpstream upstream, HuggingFaceFacts facts) : IRemote
{
    public static readonly RemoteKind Hf = new("hf");

    public RemoteKind Kind => Hf;

    public Task<UpstreamResponse> OpenAsync(Uri upstreamUrl, long expectedSize, CancellationToken cancellationToken) =>
        upstream.OpenFileAsync(upstreamUrl, ContentFetcher.BodyCap(expectedSize), cancellationToken);

    public ArtifactContext ContextOf(ArtifactReference reference) => Context(reference);

    /// <summary>A commit's facts are one cached API answer and a table read: gathered whole whatever the scope.</summary>
    public Task<ReferenceFacts> GatherAsync(ArtifactReference reference, FactScope scope, CancellationToken cancellationToken) => facts.GatherAsync(reference, cancellationToken);

    /// <summary>A Hub file promises nothing about its form; its loader decides what it reads.</summary>
    public static ArtifactContext Context(ArtifactReference reference) => new(reference, ExpectedArchive: null, IsPackage: false);
}
