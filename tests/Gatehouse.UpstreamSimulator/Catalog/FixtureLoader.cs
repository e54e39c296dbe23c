using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;

namespace Gatehouse.UpstreamSimulator.Catalog;

/// <summary>
/// Reads <c>index.json</c> (written by scripts/fixtures/make_pypi_fixtures.py) and the files beside it.
/// Digests are computed from the bytes on disk; a manifest hash that disagrees means stale fixtures.
/// </summary>
internal static class FixtureLoader
{
    public const string ManifestName = "index.json";

    public static async Task<IReadOnlyList<DistributionFile>> LoadAsync(string fixturesPath, CancellationToken ct = default)
    {
        var root = Path.GetFullPath(fixturesPath);
        var manifestPath = Path.Combine(root, ManifestName);
        if (!File.Exists(manifestPath))
        {
            throw new FileNotFoundException($"No {ManifestName} in fixtures folder '{root}'. Run scripts/fixtures/make_pypi_fixtures.py.", manifestPath);
        }

        using var manifest = JsonDocument.Parse(await File.ReadAllBytesAsync(manifestPath, ct));
        var files = new List<DistributionFile>();
        long serial = 0;
        foreach (var entry in manifest.RootElement.GetProperty("files").EnumerateArray())
        {
            var filename = entry.GetProperty("filename").GetString()!;
            if (filename != Path.GetFileName(filename))
            {
                throw new InvalidDataException($"Fixture filename '{filename}' must not contain a path.");
            }

            var path = Path.Combine(root, filename);
            var (digests, size) = await FileDigests.ComputeAsync(path, ct);
            if (entry.TryGetProperty("sha256", out var expected) && expected.GetString() != digests.Sha256)
            {
                throw new InvalidDataException($"Fixture '{filename}' does not match the sha256 in {ManifestName}; regenerate the fixtures.");
            }

            var (yanked, reason) = ReadYanked(entry.GetProperty("yanked"));
            var metadataBytes = filename.EndsWith(".whl", StringComparison.OrdinalIgnoreCase)
                ? ReadWheelMetadata(path)
                : null;
            var metadata = metadataBytes is not null ? CoreMetadata.Parse(metadataBytes) : await ReadSdistMetadataAsync(path, ct);

            files.Add(new DistributionFile
            {
                Project = PackageName.Normalize(entry.GetProperty("project").GetString()!),
                Version = entry.GetProperty("version").GetString()!,
                Filename = filename,
                PhysicalPath = path,
                Size = size,
                Digests = digests,
                UploadTime = DistributionFile.ToMicroseconds(DateTimeOffset.Parse(
                    entry.GetProperty("upload_time").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)),
                IsYanked = yanked,
                YankedReason = reason,
                RequiresPython = OptionalString(entry, "requires_python"),
                Summary = OptionalString(entry, "summary"),
                CoreMetadataBytes = metadataBytes,
                CoreMetadataSha256 = metadataBytes is null ? null : FileDigests.Of(metadataBytes).Sha256,
                Metadata = metadata,
                Serial = ++serial,
            });
        }

        return files;
    }

    /// <summary>The single <c>*.dist-info/METADATA</c> at the top level of a wheel.</summary>
    public static byte[] ReadWheelMetadata(string wheelPath)
    {
        using var zip = ZipFile.OpenRead(wheelPath);
        var entry = zip.Entries.SingleOrDefault(e =>
            e.FullName.EndsWith("/METADATA", StringComparison.Ordinal)
            && e.FullName.Count(c => c == '/') == 1
            && e.FullName.Split('/')[0].EndsWith(".dist-info", StringComparison.Ordinal))
            ?? throw new InvalidDataException($"Wheel '{wheelPath}' has no .dist-info/METADATA.");
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static async Task<CoreMetadata> ReadSdistMetadataAsync(string path, CancellationToken ct)
    {
        await using var file = File.OpenRead(path);
        await using var gzip = new GZipStream(file, CompressionMode.Decompress);
        await using var tar = new TarReader(gzip);
        while (await tar.GetNextEntryAsync(copyData: false, ct) is { } entry)
        {
            if (entry.DataStream is not null && entry.Name.Count(c => c == '/') == 1 && entry.Name.EndsWith("/PKG-INFO", StringComparison.Ordinal))
            {
                using var reader = new StreamReader(entry.DataStream);
                return CoreMetadata.Parse(await reader.ReadToEndAsync(ct));
            }
        }

        throw new InvalidDataException($"Sdist '{path}' has no PKG-INFO.");
    }

    private static (bool Yanked, string? Reason) ReadYanked(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.False or JsonValueKind.Null => (false, null),
        JsonValueKind.True => (true, null),
        JsonValueKind.String => (true, string.IsNullOrEmpty(value.GetString()) ? null : value.GetString()),
        _ => throw new InvalidDataException("'yanked' must be false, true or a reason string."),
    };

    private static string? OptionalString(JsonElement entry, string name) =>
        entry.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
