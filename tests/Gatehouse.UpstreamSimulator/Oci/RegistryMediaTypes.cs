namespace Gatehouse.UpstreamSimulator.Oci;

/// <summary>
/// The media types the simulated registry serves (OCI image spec media-types.md; Docker's image manifest v2 schema 2).
/// Spelled out here rather than taken from Gatehouse, so a typo on either side shows up as a failed pull.
/// </summary>
public static class RegistryMediaTypes
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
}
