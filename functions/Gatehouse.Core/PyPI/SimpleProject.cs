using System.Text.Json.Serialization;

namespace Gatehouse.PyPI;

/// <summary>One file of a project as the upstream index lists it (PEP 691/700/714/740 fields we keep).</summary>
public sealed record SimpleFile(
    string Filename,
    string Url,
    string Sha256,
    long? Size,
    string? UploadTime,
    string? RequiresPython,
    bool Yanked,
    string? YankedReason,
    bool HasCoreMetadata,
    string? CoreMetadataSha256,
    string? Provenance)
{
    [JsonIgnore]
    public bool IsWheel => DistributionFile.IsWheel(Filename);
}

/// <summary>A project page, normalized from the upstream's PEP 691 JSON.</summary>
public sealed record SimpleProject(
    string Name,
    IReadOnlyList<string> Versions,
    IReadOnlyList<SimpleFile> Files,
    string? ProjectStatus,
    string? ProjectStatusReason,
    DateTimeOffset FetchedAt)
{
    public SimpleFile? Find(string filename) => Files.FirstOrDefault(f => f.Filename == filename);
}
