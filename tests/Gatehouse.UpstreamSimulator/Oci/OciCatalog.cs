using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Gatehouse.UpstreamSimulator.Oci;

/// <summary>A blob the registry serves: in memory (the small images) or a file in the data folder (synthetic ones).</summary>
public sealed record OciBlob(string Digest, long Size, string MediaType, byte[]? Bytes = null, string? FilePath = null)
{
    /// <summary>A blob over these bytes, named by their sha256.</summary>
    public static OciBlob Of(byte[] bytes, string mediaType) => new(DigestOf(bytes), bytes.LongLength, mediaType, bytes);

    /// <summary>A fresh read-only stream over the bytes.</summary>
    public Stream Open() => Bytes is not null
        ? new MemoryStream(Bytes, writable: false)
        : new FileStream(FilePath!, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous | FileOptions.SequentialScan);

    /// <summary>The OCI digest string of these bytes (<c>sha256:&lt;hex&gt;</c>).</summary>
    public static string DigestOf(ReadOnlySpan<byte> bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
}

/// <summary>
/// A manifest or index as served: its body, media type and digest. <see cref="ServedDigest"/> is what the
/// <c>Docker-Content-Digest</c> header claims (the real digest unless the image is built to lie).
/// </summary>
public sealed record OciManifest(string Digest, string MediaType, byte[] Body, string ServedDigest)
{
    public static OciManifest Of(byte[] body, string mediaType)
    {
        var digest = OciBlob.DigestOf(body);
        return new OciManifest(digest, mediaType, body, digest);
    }
}

/// <summary>One repository: tags to manifest digests, the manifests (indexes and their children) and the blobs it may serve.</summary>
public sealed record OciRepository(
    string Name,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyDictionary<string, OciManifest> Manifests,
    IReadOnlySet<string> BlobDigests)
{
    /// <summary>A tag or a digest of this repository, or null.</summary>
    public OciManifest? Find(string reference) =>
        Manifests.GetValueOrDefault(Tags.GetValueOrDefault(reference) ?? reference);
}

/// <summary>Every repository and blob the registry serves; immutable, swapped whole when a synthetic image is added.</summary>
public sealed class OciCatalog
{
    private OciCatalog(FrozenDictionary<string, OciRepository> repositories, FrozenDictionary<string, OciBlob> blobs, IReadOnlyList<OciImageInfo> images)
    {
        Repositories = repositories;
        Blobs = blobs;
        Images = images;
    }

    public FrozenDictionary<string, OciRepository> Repositories { get; }

    /// <summary>Blobs by digest, across repositories (the CDN path serves them by digest alone).</summary>
    public FrozenDictionary<string, OciBlob> Blobs { get; }

    /// <summary>What <c>GET /_sim/oci/images</c> lists: one entry per tag.</summary>
    public IReadOnlyList<OciImageInfo> Images { get; }

    public static OciCatalog Empty { get; } = new(
        FrozenDictionary<string, OciRepository>.Empty, FrozenDictionary<string, OciBlob>.Empty, []);

    /// <summary>This catalog with the images added (a repository named again gains the new tags and manifests).</summary>
    public OciCatalog With(IEnumerable<OciImage> images)
    {
        var repositories = Repositories.ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal);
        var blobs = Blobs.ToDictionary(b => b.Key, b => b.Value, StringComparer.Ordinal);
        var infos = Images.ToList();
        foreach (var image in images)
        {
            var existing = repositories.GetValueOrDefault(image.Repository);
            var tags = new Dictionary<string, string>(existing?.Tags ?? new Dictionary<string, string>(), StringComparer.Ordinal);
            var manifests = new Dictionary<string, OciManifest>(existing?.Manifests ?? new Dictionary<string, OciManifest>(), StringComparer.Ordinal);
            var blobDigests = new HashSet<string>(existing?.BlobDigests ?? new HashSet<string>(), StringComparer.Ordinal);
            foreach (var manifest in image.Manifests)
            {
                manifests[manifest.Digest] = manifest;
            }
            foreach (var blob in image.Blobs)
            {
                blobs[blob.Digest] = blob;
                blobDigests.Add(blob.Digest);
            }
            foreach (var tag in image.Tags)
            {
                tags[tag] = image.Root.Digest;
                infos.RemoveAll(i => i.Name == image.Repository && i.Tag == tag);
                infos.Add(image.Describe(tag));
            }
            repositories[image.Repository] = new OciRepository(image.Repository, tags, manifests, blobDigests);
        }

        return new OciCatalog(
            repositories.ToFrozenDictionary(StringComparer.Ordinal),
            blobs.ToFrozenDictionary(StringComparer.Ordinal),
            [.. infos.OrderBy(i => i.Name, StringComparer.Ordinal).ThenBy(i => i.Tag, StringComparer.Ordinal)]);
    }
}
