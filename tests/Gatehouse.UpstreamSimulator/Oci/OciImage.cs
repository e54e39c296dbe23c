using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gatehouse.UpstreamSimulator.Oci;

/// <summary>An OS and architecture (and variant) an image manifest is built for.</summary>
public sealed record OciPlatform(string Os, string Architecture, string? Variant = null)
{
    public static readonly OciPlatform LinuxAmd64 = new("linux", "amd64");
    public static readonly OciPlatform LinuxArm64 = new("linux", "arm64", "v8");

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}

/// <summary>One image manifest with its config and layers.</summary>
public sealed record OciPlatformImage(OciManifest Manifest, OciBlob Config, IReadOnlyList<OciLayer> Layers, OciPlatform Platform);

/// <summary>
/// An image as the registry serves it under one repository and its tags: the root manifest (an image manifest or an
/// index), every manifest an index points to, and every blob.
/// </summary>
public sealed record OciImage(
    string Repository,
    IReadOnlyList<string> Tags,
    OciManifest Root,
    IReadOnlyList<OciPlatformImage> Platforms,
    string Description,
    IReadOnlyList<OciBlob>? ExtraBlobs = null)
{
    /// <summary>The root and every platform manifest.</summary>
    public IEnumerable<OciManifest> Manifests => Platforms.Select(p => p.Manifest).Prepend(Root).DistinctBy(m => m.Digest);

    /// <summary>Configs and layers of every platform (and any blob served that no manifest names).</summary>
    public IEnumerable<OciBlob> Blobs =>
        Platforms.SelectMany(p => p.Layers.Select(l => l.Blob).Prepend(p.Config)).Concat(ExtraBlobs ?? []).DistinctBy(b => b.Digest);

    public OciImageInfo Describe(string tag)
    {
        var platforms = Platforms.Select(p => new OciPlatformInfo(
            p.Manifest.Digest,
            p.Manifest.MediaType,
            p.Platform.ToString(),
            p.Config.Digest,
            [.. p.Layers.Select(l => new OciLayerInfo(l.Blob.Digest, l.Blob.Size, l.Blob.MediaType, l.DiffId))])).ToList();
        var single = platforms.Count == 1 && platforms[0].Digest == Root.Digest ? platforms[0] : null;
        return new OciImageInfo(
            Repository, tag, Root.Digest, Root.MediaType, Root.Body.LongLength, Description, single?.ConfigDigest, single?.Layers ?? [], platforms);
    }
}

/// <summary>What <c>GET /_sim/oci/images</c> says about one tag. <c>configDigest</c> and <c>layers</c> are set for an image manifest; an index lists its <c>platforms</c>.</summary>
public sealed record OciImageInfo(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("tag")] string Tag,
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("mediaType")] string MediaType,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("configDigest")] string? ConfigDigest,
    [property: JsonPropertyName("layers")] IReadOnlyList<OciLayerInfo> Layers,
    [property: JsonPropertyName("platforms")] IReadOnlyList<OciPlatformInfo> Platforms)
{
    /// <summary><c>name:tag</c>.</summary>
    [JsonIgnore]
    public string Reference => $"{Name}:{Tag}";
}

public sealed record OciPlatformInfo(
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("mediaType")] string MediaType,
    [property: JsonPropertyName("platform")] string Platform,
    [property: JsonPropertyName("configDigest")] string ConfigDigest,
    [property: JsonPropertyName("layers")] IReadOnlyList<OciLayerInfo> Layers);

/// <summary>A layer: its blob digest and size, media type, and the digest of its uncompressed tar.</summary>
public sealed record OciLayerInfo(
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("mediaType")] string MediaType,
    [property: JsonPropertyName("diffId")] string DiffId);

/// <summary>Writes image configs, manifests and indexes as the OCI image spec (and Docker's schema 2) lay them out, in a fixed property order.</summary>
public static class OciImageBuilder
{
    /// <summary>The <c>created</c> time of every config and history entry.</summary>
    public const string Created = "2024-01-01T00:00:00Z";

    /// <summary>An image of these layers for one platform, served under the tags.</summary>
    public static OciImage Image(string repository, IReadOnlyList<string> tags, IReadOnlyList<OciLayer> layers, string description, bool docker = false,
        OciPlatform? platform = null)
    {
        var image = PlatformImage(layers, platform ?? OciPlatform.LinuxAmd64, docker, description);
        return new OciImage(repository, tags, image.Manifest, [image], description);
    }

    /// <summary>An index (or Docker manifest list) of per-platform images.</summary>
    public static OciImage Index(string repository, IReadOnlyList<string> tags, IReadOnlyList<OciPlatformImage> platforms, string description, bool docker = false)
    {
        var body = Write(json =>
        {
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", docker ? RegistryMediaTypes.DockerManifestList : RegistryMediaTypes.OciIndex);
            json.WriteStartArray("manifests");
            foreach (var platform in platforms)
            {
                json.WriteStartObject();
                WriteDescriptor(json, platform.Manifest.MediaType, platform.Manifest.Digest, platform.Manifest.Body.LongLength);
                json.WriteStartObject("platform");
                json.WriteString("architecture", platform.Platform.Architecture);
                json.WriteString("os", platform.Platform.Os);
                if (platform.Platform.Variant is { } variant)
                {
                    json.WriteString("variant", variant);
                }
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
        });
        return new OciImage(repository, tags, OciManifest.Of(body, docker ? RegistryMediaTypes.DockerManifestList : RegistryMediaTypes.OciIndex), platforms, description);
    }

    /// <summary>Config and manifest for these layers.</summary>
    public static OciPlatformImage PlatformImage(IReadOnlyList<OciLayer> layers, OciPlatform platform, bool docker, string description,
        IReadOnlyDictionary<string, string>? annotations = null)
    {
        var config = Config(layers, platform, docker, description);
        return new OciPlatformImage(ImageManifest(config, layers.Select(l => l.Blob), docker, annotations), config, layers, platform);
    }

    /// <summary>The image config: platform, a shell as the command, <c>rootfs.diff_ids</c> and one history entry per layer.</summary>
    public static OciBlob Config(IReadOnlyList<OciLayer> layers, OciPlatform platform, bool docker, string description)
    {
        var body = Write(json =>
        {
            json.WriteString("architecture", platform.Architecture);
            if (platform.Variant is { } variant)
            {
                json.WriteString("variant", variant);
            }
            json.WriteString("os", platform.Os);
            json.WriteString("created", Created);
            json.WriteStartObject("config");
            json.WriteStartArray("Env");
            json.WriteStringValue("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            json.WriteEndArray();
            json.WriteStartArray("Cmd");
            json.WriteStringValue("/bin/sh");
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteStartObject("rootfs");
            json.WriteString("type", "layers");
            json.WriteStartArray("diff_ids");
            foreach (var layer in layers)
            {
                json.WriteStringValue(layer.DiffId);
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteStartArray("history");
            for (var i = 0; i < layers.Count; i++)
            {
                json.WriteStartObject();
                json.WriteString("created", Created);
                json.WriteString("created_by", $"gatehouse upstream simulator: {description}, layer {i + 1}");
                json.WriteEndObject();
            }
            json.WriteEndArray();
        });
        return OciBlob.Of(body, docker ? RegistryMediaTypes.DockerConfig : RegistryMediaTypes.OciConfig);
    }

    /// <summary>An image manifest naming the config and the layers by descriptor.</summary>
    public static OciManifest ImageManifest(OciBlob config, IEnumerable<OciBlob> layers, bool docker, IReadOnlyDictionary<string, string>? annotations = null)
    {
        var mediaType = docker ? RegistryMediaTypes.DockerManifest : RegistryMediaTypes.OciManifest;
        var body = Write(json =>
        {
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", mediaType);
            json.WriteStartObject("config");
            WriteDescriptor(json, config.MediaType, config.Digest, config.Size);
            json.WriteEndObject();
            json.WriteStartArray("layers");
            foreach (var layer in layers)
            {
                json.WriteStartObject();
                WriteDescriptor(json, layer.MediaType, layer.Digest, layer.Size);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (annotations is not null)
            {
                json.WriteStartObject("annotations");
                foreach (var (key, value) in annotations)
                {
                    json.WriteString(key, value);
                }
                json.WriteEndObject();
            }
        });
        return OciManifest.Of(body, mediaType);
    }

    /// <summary>A JSON object written by <paramref name="body"/>, compact and UTF-8.</summary>
    public static byte[] Write(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        // Registries write media types with a plain '+', not the default encoder's \u002B.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void WriteDescriptor(Utf8JsonWriter json, string mediaType, string digest, long size)
    {
        json.WriteString("mediaType", mediaType);
        json.WriteString("digest", digest);
        json.WriteNumber("size", size);
    }
}
