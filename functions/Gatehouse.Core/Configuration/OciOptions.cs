namespace Gatehouse.Oci;

/// <summary>
/// The container-image remote (section <c>Gatehouse:Oci</c>): the registries Gatehouse pulls through, the token it
/// issues to clients, and how long a tag is trusted. Clients reach Docker Hub at the root of <c>/v2/</c>
/// (<c>registry-mirrors</c>), and every other registry under its own prefix: <c>host/ghcr.io/owner/image</c>.
/// </summary>
public sealed class OciOptions
{
    /// <summary>
    /// The registries. The one with the empty prefix serves every name no other prefix claims; when none is configured
    /// with it, that is Docker Hub (<see cref="Effective"/>). A list default would be appended to by the configuration
    /// binder, not replaced, so the default lives there.
    /// </summary>
    public List<OciRegistryOptions> Registries { get; set; } = [];

    /// <summary>The configured registries, with Docker Hub at the root unless another registry was configured there.</summary>
    public IReadOnlyList<OciRegistryOptions> Effective =>
        Registries.Any(r => r.Prefix.Length == 0) ? Registries : [.. Registries, OciRegistryOptions.DockerHub()];

    /// <summary>How long a tag's digest is trusted before the upstream is asked again; digests never move and are kept.</summary>
    public int TagTtlSeconds { get; set; } = 30;

    /// <summary>The largest manifest or index accepted (the distribution spec asks registries to accept at least 4 MiB).</summary>
    public long MaxManifestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How long a token from Gatehouse's token endpoint lives.</summary>
    public int TokenLifetimeSeconds { get; set; } = 300;

    /// <summary>
    /// The HMAC key (base64, at least 32 bytes) that signs those tokens: a Key Vault reference in Azure. When empty, a
    /// key is generated once and kept in the <c>config</c> container, so every instance signs alike.
    /// </summary>
    public string? TokenSigningKey { get; set; }

    /// <summary>The service name in the token challenge and in the tokens' audience.</summary>
    public string Service { get; set; } = "gatehouse";

    /// <summary>How long a manifest request waits for its image's scan before it is answered 503 with Retry-After.</summary>
    public int ManifestWaitSeconds { get; set; } = 600;

    /// <summary>Upstream request timeout (headers; a blob's body streams as long as it moves).</summary>
    public int UpstreamTimeoutSeconds { get; set; } = 60;
}

/// <summary>One upstream registry.</summary>
public sealed class OciRegistryOptions
{
    /// <summary>
    /// The first path segment clients put before the repository (<c>ghcr.io</c>, <c>quay.io</c>); empty for the registry
    /// that serves every name no other prefix claims (Docker Hub, as <c>registry-mirrors</c> needs it at the root).
    /// </summary>
    public string Prefix { get; set; } = "";

    /// <summary>The registry's base URL (its <c>/v2/</c> lives under it).</summary>
    public string Url { get; set; } = "";

    /// <summary>One-segment names are official images under <c>library/</c> (Docker Hub's rule: <c>alpine</c> is <c>library/alpine</c>).</summary>
    public bool OfficialImagesUnderLibrary { get; set; }

    /// <summary>The user name for the registry's token flow; anonymous when empty.</summary>
    public string? Username { get; set; }

    /// <summary>The password or access token for it: a Key Vault reference in Azure; never a client's token.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// Hosts the registry may redirect blob downloads to (its CDN), comma separated; "*.example.org" matches
    /// subdomains. The registry's credential is never sent to them: their URLs are pre-signed.
    /// </summary>
    public string BlobHosts { get; set; } = "";

    /// <summary>Hosts its token endpoint may live on (the realm of its challenge), comma separated.</summary>
    public string AuthHosts { get; set; } = "";

    /// <summary>Docker Hub: the registry at <c>registry-1.docker.io</c>, tokens from <c>auth.docker.io</c>, blobs from its Cloudflare CDN.</summary>
    public static OciRegistryOptions DockerHub() => new()
    {
        Prefix = "",
        Url = "https://registry-1.docker.io",
        OfficialImagesUnderLibrary = true,
        AuthHosts = "auth.docker.io",
        BlobHosts = "production.cloudflare.docker.com,*.docker.com,*.docker.io",
    };
}
