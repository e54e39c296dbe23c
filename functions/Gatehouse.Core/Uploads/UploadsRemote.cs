using System.Net;
using System.Net.Http.Headers;
using Azure;
using Azure.Storage.Blobs;
using Gatehouse.Pipeline;
using Gatehouse.PyPI;
using Gatehouse.Storage;
using Gatehouse.Upstream;

namespace Gatehouse.Uploads;

/// <summary>
/// Files a team wrote into the <c>uploads</c> container, as a remote of the pipeline: references are
/// <c>uploads:{subject}</c> / path (<see cref="UploadPath"/>), the "upstream" is the uploads blob itself, read with
/// Gatehouse's own storage identity, and a file under <c>pypi/</c> is an installable package whose name promises its
/// archive, while a model file promises nothing (its loader decides what it reads). The orchestration's staging
/// verifies the sha256 taken when the upload was prepared, so a blob rewritten since is a digest mismatch, never
/// judged under the earlier digest.
/// </summary>
public sealed class UploadsRemote(GatehouseStorage storage) : IRemote
{
    public static readonly RemoteKind Uploads = new("uploads");

    public RemoteKind Kind => Uploads;

    /// <summary>The uploads container.</summary>
    public BlobContainerClient Container => storage.Container(GatehouseStorage.UploadsContainer);

    /// <summary>The reference's upstream URL of an uploaded blob: its URL in the account (never carrying a credential).</summary>
    public Uri UrlOf(string blobName) => Container.GetBlobClient(blobName).Uri;

    /// <summary>
    /// Opens the upload at <paramref name="upstreamUrl"/> (a blob of this account's <c>uploads</c> container; any other
    /// URL is refused): its body as an upstream answer, 404 when the blob is gone.
    /// </summary>
    public async Task<UpstreamResponse> OpenAsync(Uri upstreamUrl, long expectedSize, CancellationToken cancellationToken)
    {
        if (BlobNameOf(upstreamUrl) is not { } name)
        {
            return UpstreamResponse.Failed(new UpstreamFailure(UpstreamFailureKind.NotAllowed, $"{upstreamUrl} is not a blob of the uploads container"));
        }
        try
        {
            var download = await Container.GetBlobClient(name).DownloadStreamingAsync(cancellationToken: cancellationToken);
            var content = new StreamContent(download.Value.Content);
            content.Headers.ContentLength = download.Value.Details.ContentLength;
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            return new UpstreamResponse(null, new HttpResponseMessage(HttpStatusCode.OK) { Content = content }, ContentFetcher.BodyCap(expectedSize), upstreamUrl, null);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return new UpstreamResponse(null, new HttpResponseMessage(HttpStatusCode.NotFound), 0, upstreamUrl, null);
        }
    }

    public ArtifactContext ContextOf(ArtifactReference reference) => Context(reference);

    /// <summary>An upload has no registry behind it: what is known is where it was written.</summary>
    public Task<ReferenceFacts> GatherAsync(ArtifactReference reference, FactScope scope, CancellationToken cancellationToken) =>
        Task.FromResult(new ReferenceFacts { Project = reference.Subject });

    /// <summary>A distribution under <c>pypi/</c> is a package whose name promises its archive; anything else promises nothing.</summary>
    public static ArtifactContext Context(ArtifactReference reference) =>
        reference.Key.Partition.StartsWith(PackagePartitionPrefix, StringComparison.Ordinal)
            ? new ArtifactContext(reference, PyPIRemote.ExpectedArchive(reference.FileName), IsPackage: true)
            : new ArtifactContext(reference, ExpectedArchive: null, IsPackage: false);

    /// <summary>The blob name in <c>uploads</c> that <paramref name="url"/> names in this account; null for any other URL.</summary>
    public string? BlobNameOf(Uri url)
    {
        var container = Container.Uri;
        var prefix = container.AbsoluteUri.TrimEnd('/') + "/";
        var asked = url.GetLeftPart(UriPartial.Path);
        return asked.StartsWith(prefix, StringComparison.Ordinal) && asked.Length > prefix.Length
            ? Uri.UnescapeDataString(asked[prefix.Length..])
            : null;
    }

    private static readonly string PackagePartitionPrefix = "uploads:" + ReferenceKey.Escape("pypi/");
}
