using Gatehouse.Pipeline;

namespace Gatehouse.Oci.Scanning;

/// <summary>The names of the image's check, as facts and the policy know it.</summary>
public static class ImageChecks
{
    /// <summary>The model files, Python packages and OS packages of the image's final filesystem, read layer by layer.</summary>
    public const string Layers = ContentChecks.ImageLayersCheck;

    /// <summary>The model format recorded for an image manifest's facts.</summary>
    public const string Format = "oci-image";
}

/// <summary>What an image needs read: its config and its layers (bottom first), each as the reference it is fetched by.</summary>
public sealed record ImagePlan(ArtifactReference? Config, IReadOnlyList<ArtifactReference> Layers, string? Problem)
{
    public static ImagePlan Failed(string problem) => new(null, [], problem);

    /// <summary>Every blob to fetch and read.</summary>
    public IEnumerable<ArtifactReference> Blobs => Config is null ? Layers : [Config, .. Layers];
}

/// <summary>One blob of an image to read: its reference says where it is fetched.</summary>
public sealed record LayerRequest(ArtifactReference Blob);

/// <summary>A blob read, or why it could not be fetched.</summary>
public sealed record LayerOutcome(string Sha256, FetchProblem? Problem, string? Message)
{
    public static LayerOutcome Read(string sha256) => new(sha256, null, null);
}

/// <summary>The image's layers to judge together, bottom first.</summary>
public sealed record ImageJudgement(string ManifestSha256, IReadOnlyList<string> Layers);
