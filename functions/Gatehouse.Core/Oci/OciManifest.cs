using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gatehouse.Oci;

/// <summary>A content descriptor (OCI image spec, descriptor.md): what a manifest points at, by digest and size.</summary>
/// <param name="Platform">For an index's entries: <c>os/architecture[/variant]</c>; null elsewhere.</param>
public sealed record OciDescriptor(string MediaType, string Digest, long Size, string? Platform = null)
{
    /// <summary>The lower-case hex sha256 the digest names.</summary>
    public string Sha256 => Digest["sha256:".Length..];
}

/// <summary>
/// A manifest or index as Gatehouse reads it: its media type, the blobs an image manifest names (config first, then
/// the layers bottom first), or the per-platform manifests an index lists. Parsed from bytes whose digest was checked.
/// </summary>
public sealed partial record OciManifest(string MediaType, string Digest, OciDescriptor? Config, IReadOnlyList<OciDescriptor> Layers,
    IReadOnlyList<OciDescriptor> Manifests)
{
    /// <summary>More entries than any real image or index has; past it the manifest is refused rather than walked.</summary>
    public const int MaxEntries = 1000;

    public bool IsIndex => OciMediaTypes.IsIndex(MediaType);

    /// <summary>Every blob an image needs: its config and its layers.</summary>
    public IEnumerable<OciDescriptor> Blobs => Config is null ? Layers : [Config, .. Layers];

    /// <summary>The <c>sha256:</c> digest of some bytes.</summary>
    public static string DigestOf(ReadOnlySpan<byte> bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>
    /// A sha256 digest (the only algorithm Gatehouse verifies; the spec's registered sha512 is refused as unsupported
    /// by the callers), lower-case hex as the spec's encoded form for sha256 requires.
    /// </summary>
    public static bool IsSha256Digest(string text) => Sha256Digest().IsMatch(text);

    /// <summary>
    /// Reads <paramref name="body"/>: the media type is the body's <c>mediaType</c>, else the upstream's Content-Type;
    /// schema version 2; every descriptor a sha256 digest with a size. Throws <see cref="OciManifestException"/> with
    /// what is wrong.
    /// </summary>
    public static OciManifest Parse(byte[] body, string? contentType)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            throw new OciManifestException($"the manifest is not JSON ({e.Message})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new OciManifestException("the manifest is not a JSON object");
            }
            var declared = root.TryGetProperty("mediaType", out var mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString() : null;
            var mediaType = declared ?? contentType?.Split(';')[0].Trim();
            if (mediaType is null || !OciMediaTypes.Manifests.Contains(mediaType))
            {
                throw new OciManifestException($"media type '{mediaType ?? "(none)"}' is not an OCI or Docker schema 2 manifest or index");
            }
            if (!root.TryGetProperty("schemaVersion", out var version) || version.ValueKind != JsonValueKind.Number || version.GetInt32() != 2)
            {
                throw new OciManifestException("schemaVersion is not 2");
            }
            var digest = DigestOf(body);
            if (OciMediaTypes.IsIndex(mediaType))
            {
                return new OciManifest(mediaType, digest, null, [], Descriptors(root, "manifests", withPlatform: true));
            }
            if (!root.TryGetProperty("config", out var config) || config.ValueKind != JsonValueKind.Object)
            {
                throw new OciManifestException("the image manifest has no config descriptor");
            }
            return new OciManifest(mediaType, digest, Descriptor(config, "config", withPlatform: false), Descriptors(root, "layers", withPlatform: false), []);
        }
    }

    /// <summary>
    /// The manifest Gatehouse holds as a content (its bytes were verified against the digest when staged), read and
    /// parsed. Throws <see cref="OciManifestException"/> past <paramref name="maxBytes"/> or when it cannot be read as a manifest.
    /// </summary>
    public static async Task<OciManifest> ReadHeldAsync(Pipeline.ContentStore content, string sha256, long maxBytes, CancellationToken cancellationToken)
    {
        await using var stream = await content.OpenAsync(sha256, cancellationToken);
        if (stream.Length > maxBytes)
        {
            throw new OciManifestException($"it is {stream.Length:N0} bytes, more than {maxBytes:N0}");
        }
        var bytes = new byte[stream.Length];
        await stream.ReadExactlyAsync(bytes, cancellationToken);
        return Parse(bytes, null);
    }

    private static IReadOnlyList<OciDescriptor> Descriptors(JsonElement root, string property, bool withPlatform)
    {
        if (!root.TryGetProperty(property, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw new OciManifestException($"'{property}' is missing or not an array");
        }
        if (array.GetArrayLength() > MaxEntries)
        {
            throw new OciManifestException($"'{property}' lists {array.GetArrayLength()} entries, more than {MaxEntries}");
        }
        return [.. array.EnumerateArray().Select((item, i) => Descriptor(item, $"{property}[{i}]", withPlatform))];
    }

    private static OciDescriptor Descriptor(JsonElement item, string where, bool withPlatform)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw new OciManifestException($"{where} is not an object");
        }
        var mediaType = item.TryGetProperty("mediaType", out var mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString()! : "";
        var digest = item.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
        if (!IsSha256Digest(digest))
        {
            throw new OciManifestException($"{where} has digest '{Shorten(digest)}', not a sha256 digest");
        }
        if (!item.TryGetProperty("size", out var s) || s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out var size) || size < 0)
        {
            throw new OciManifestException($"{where} has no valid size");
        }
        string? platform = null;
        if (withPlatform && item.TryGetProperty("platform", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            var os = Text(p, "os");
            var architecture = Text(p, "architecture");
            var variant = Text(p, "variant");
            platform = variant is null ? $"{os}/{architecture}" : $"{os}/{architecture}/{variant}";
        }
        return new OciDescriptor(mediaType, digest, size, platform);
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Shorten(string text) => text.Length > 80 ? text[..80] + "…" : text;

    [GeneratedRegex("^sha256:[a-f0-9]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Digest();
}

/// <summary>A manifest Gatehouse cannot read; the message says what is wrong with it.</summary>
public sealed class OciManifestException(string message) : Exception(message);
