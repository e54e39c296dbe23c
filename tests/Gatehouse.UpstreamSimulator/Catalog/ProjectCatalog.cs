using System.Collections.Immutable;

namespace Gatehouse.UpstreamSimulator.Catalog;

/// <summary>An immutable snapshot of every project and file the simulator serves.</summary>
public sealed class ProjectCatalog
{
    private ProjectCatalog(
        ImmutableSortedDictionary<string, ImmutableList<DistributionFile>> projects,
        ImmutableDictionary<string, DistributionFile> byFilename,
        long lastSerial)
    {
        Projects = projects;
        ByFilename = byFilename;
        LastSerial = lastSerial;
    }

    /// <summary>Normalized project name to its files, ordered by version then filename.</summary>
    public ImmutableSortedDictionary<string, ImmutableList<DistributionFile>> Projects { get; }

    public ImmutableDictionary<string, DistributionFile> ByFilename { get; }

    /// <summary>Highest serial of any file (Warehouse's global <c>last_serial</c>).</summary>
    public long LastSerial { get; }

    public static ProjectCatalog Empty { get; } = new(
        ImmutableSortedDictionary.Create<string, ImmutableList<DistributionFile>>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, DistributionFile>(StringComparer.Ordinal),
        0);

    public static ProjectCatalog From(IEnumerable<DistributionFile> files) =>
        files.Aggregate(Empty, (catalog, file) => catalog.With(file));

    /// <summary>A new snapshot with the file added; filenames are unique across the index, as on PyPI.</summary>
    public ProjectCatalog With(DistributionFile file)
    {
        if (ByFilename.ContainsKey(file.Filename))
        {
            throw new InvalidOperationException($"File '{file.Filename}' already exists.");
        }

        var files = (Projects.TryGetValue(file.Project, out var existing) ? existing : ImmutableList<DistributionFile>.Empty)
            .Add(file)
            .Sort((a, b) =>
            {
                var byVersion = PackageVersion.Comparer.Compare(a.Version, b.Version);
                return byVersion != 0 ? byVersion : string.CompareOrdinal(a.Filename, b.Filename);
            });
        return new ProjectCatalog(Projects.SetItem(file.Project, files), ByFilename.Add(file.Filename, file), Math.Max(LastSerial, file.Serial));
    }

    public IReadOnlyList<DistributionFile> FilesOf(string normalizedProject) =>
        Projects.TryGetValue(normalizedProject, out var files) ? files : [];
}
