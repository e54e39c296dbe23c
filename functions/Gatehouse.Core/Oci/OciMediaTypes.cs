namespace Gatehouse.Oci;

/// <summary>
/// The manifest and layer media types Gatehouse reads (OCI image spec, media-types.md; Docker's image manifest v2
/// schema 2). Schema 1 manifests are not read: registries stopped serving them, and their layers carry no digest of
/// their own compressed form to verify.
/// </summary>
public static class OciMediaTypes
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";

    public const string OciLayerTar = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    /// <summary>Every manifest type, in the order Gatehouse asks its upstreams for them.</summary>
    public static readonly IReadOnlyList<string> Manifests = [OciIndex, OciManifest, DockerManifestList, DockerManifest];

    /// <summary>An index of per-platform manifests (OCI index or Docker manifest list).</summary>
    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;

    /// <summary>An image manifest (config and layers).</summary>
    public static bool IsImage(string mediaType) => mediaType is OciManifest or DockerManifest;
}
