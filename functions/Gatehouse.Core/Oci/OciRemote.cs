using System.Net;
using Gatehouse.Oci.Scanning;
using Gatehouse.Oci.Upstream;
using Gatehouse.Pipeline;
using Gatehouse.Upstream;

namespace Gatehouse.Oci;

/// <summary>
/// Container registries as a remote of the pipeline. An image is judged as its manifest: the reference is
/// <c>oci:{repository}</c> / the manifest digest, its content the manifest's bytes, and its scan reads every layer
/// (<see cref="ScanImageOrchestrator"/>). A blob is fetched under a reference of its own (<c>blob:</c> + digest) that
/// is never decided: a blob is served only as part of an image that was allowed.
/// </summary>
public sealed class OciRemote(OciUpstream upstream, OciImageFacts images) : IRemote
{
    public static readonly RemoteKind Oci = new("oci");

    private const string BlobRowPrefix = "blob:";

    public RemoteKind Kind => Oci;

    /// <summary><c>oci:</c> and the repository, escaped for a table key (a repository name holds <c>/</c>).</summary>
    public static string Partition(OciRepository repository) => "oci:" + ReferenceKey.Escape(repository.Canonical);

    /// <summary>The reference of an image manifest of <paramref name="repository"/>, named by the tag it was asked for when there was one.</summary>
    public static ArtifactReference ImageReference(OciRepository repository, string digest, long size, string? tag) => new(
        Oci, new ReferenceKey(Partition(repository), digest), tag is null ? $"{repository.Canonical}@{digest[..19]}" : $"{repository.Canonical}:{tag}", digest,
        digest["sha256:".Length..], size, OciUpstream.ManifestUrl(repository, digest).ToString(), null);

    /// <summary>The reference a blob (config or layer) is fetched under.</summary>
    public static ArtifactReference BlobReference(OciRepository repository, OciDescriptor blob) => new(
        Oci, new ReferenceKey(Partition(repository), BlobRowPrefix + blob.Digest), $"{repository.Canonical} blob {blob.Digest[..19]}", blob.Digest, blob.Sha256, blob.Size,
        OciUpstream.BlobUrl(repository, blob.Digest).ToString(), null);

    private static bool IsBlob(ArtifactReference reference) => reference.Key.Row.StartsWith(BlobRowPrefix, StringComparison.Ordinal);

    public async Task<UpstreamResponse> OpenAsync(Uri upstreamUrl, long expectedSize, CancellationToken cancellationToken)
    {
        if (upstream.FromUrl(upstreamUrl) is not var (repository, digest, isManifest))
        {
            return UpstreamResponse.Failed(new UpstreamFailure(UpstreamFailureKind.NotAllowed, $"{upstreamUrl} is not a blob or manifest of a configured registry"));
        }
        if (!isManifest)
        {
            return await upstream.OpenBlobAsync(repository, digest, expectedSize, cancellationToken);
        }
        // A manifest is small and read whole (capped); the staging writer then verifies it like any body.
        var fetched = await upstream.GetManifestAsync(repository, digest, cancellationToken);
        if (fetched.Body is not { } body)
        {
            return UpstreamResponse.Failed(new UpstreamFailure(UpstreamFailureKind.Unreachable,
                fetched.Failure ?? $"the registry answered {fetched.Status} for manifest {digest} of {repository.Name}"));
        }
        return new UpstreamResponse(null, new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(body) }, body.LongLength, upstreamUrl, null);
    }

    /// <summary>An image is no package: its files are judged as the model files, Python packages and OS packages they are.</summary>
    public ArtifactContext ContextOf(ArtifactReference reference) => new(reference, ExpectedArchive: null, IsPackage: false);

    public Task<ReferenceFacts> GatherAsync(ArtifactReference reference, FactScope scope, CancellationToken cancellationToken) =>
        IsBlob(reference) ? Task.FromResult(ReferenceFacts.None) : images.GatherAsync(reference, scope, cancellationToken);

    /// <summary>An image's scan reads its layers; a blob is never scanned on its own (it is read as one of an image's layers).</summary>
    public string ScanOrchestrator(ArtifactReference reference) => nameof(ScanImageOrchestrator);
}
