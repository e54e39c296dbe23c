using System.Text.Json.Nodes;

namespace Gatehouse.PyPI;

/// <summary>Reads an upstream PEP 691 project page into <see cref="SimpleProject"/>.</summary>
public static class SimpleProjectJson
{
    public static SimpleProject Parse(JsonObject page, Uri pageUrl, string normalizedProject, DateTimeOffset fetchedAt)
    {
        var files = new List<SimpleFile>();
        foreach (var item in page["files"] as JsonArray ?? [])
        {
            if (item is not JsonObject f || f["filename"]?.GetValue<string>() is not { } filename || !DistributionFile.IsValid(filename))
            {
                continue;
            }
            // Files without a sha256 cannot be verified, so they are not offered at all.
            var sha = (f["hashes"] as JsonObject)?["sha256"]?.GetValue<string>()?.ToLowerInvariant();
            if (!DistributionFile.IsSha256(sha) || f["url"]?.GetValue<string>() is not { } url)
            {
                continue;
            }
            var (yanked, yankedReason) = f["yanked"] switch
            {
                JsonValue v when v.TryGetValue(out bool b) => (b, (string?)null),
                JsonValue v when v.TryGetValue(out string? s) => (true, s),
                _ => (false, null),
            };
            var metadata = f["core-metadata"] ?? f["dist-info-metadata"] ?? f["data-dist-info-metadata"];
            var (hasMetadata, metadataSha) = metadata switch
            {
                JsonValue v when v.TryGetValue(out bool b) => (b, (string?)null),
                JsonObject o => (true, o["sha256"]?.GetValue<string>()?.ToLowerInvariant()),
                _ => (false, null),
            };
            if (metadataSha is not null && !DistributionFile.IsSha256(metadataSha))
            {
                metadataSha = null;
            }
            files.Add(new SimpleFile(
                filename,
                new Uri(pageUrl, url).AbsoluteUri,
                sha!,
                f["size"]?.GetValue<long>(),
                f["upload-time"]?.GetValue<string>(),
                f["requires-python"]?.GetValue<string>(),
                yanked,
                yankedReason,
                // Only advertise metadata we can verify: a hash is required (PEP 658 SHOULD, we MUST).
                hasMetadata && metadataSha is not null,
                metadataSha,
                f["provenance"]?.GetValue<string>()));
        }
        var versions = (page["versions"] as JsonArray)?.Select(v => v?.GetValue<string>() ?? throw new FormatException("a null version")).ToList()
            ?? files.Select(f => DistributionFile.Version(f.Filename, normalizedProject)).OfType<string>().Distinct().ToList();
        var status = page["project-status"] as JsonObject;
        return new SimpleProject(
            normalizedProject,
            versions,
            files,
            status?["status"]?.GetValue<string>(),
            status?["reason"]?.GetValue<string>(),
            fetchedAt);
    }
}
