using Gatehouse.Scans;

namespace Gatehouse.Oci.Layers;

/// <summary>
/// The filesystem a container gets: layers applied bottom first, each hiding what lower layers put at the paths it
/// writes, whites out or makes opaque (https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts).
/// Only findings and packages whose file survives are the image's.
/// </summary>
public static class ImageFilesystem
{
    /// <summary>
    /// The findings, packages and os-release of the final filesystem. A lower file is hidden by a higher layer's entry
    /// at its path, a whiteout of it or of an ancestor, an opaque ancestor, a non-directory at an ancestor, or an entry
    /// below it (the path became a directory). A database file (dpkg status, apk installed, os-release) has one path,
    /// so its top-most surviving copy is the one that counts.
    /// </summary>
    public static ImageContents Merge(IReadOnlyList<LayerReport> layersBottomFirst)
    {
        var above = new UpperLayers();
        var findings = new List<ImageFinding>();
        var packages = new List<ImagePackage>();
        var releases = new Dictionary<string, OsReleaseRecord>(StringComparer.Ordinal);
        for (var i = layersBottomFirst.Count - 1; i >= 0; i--)
        {
            var layer = layersBottomFirst[i];
            // Top layer first: what is added here is then in front of the layer's own list, as the bottom-first order wants.
            findings.InsertRange(0, layer.Findings.Where(f => above.Keeps(f.Path)).Select(f => new ImageFinding(layer.Digest, f.Path, f.Finding)));
            packages.InsertRange(0, layer.Packages.Where(p => above.Keeps(p.Path))
                .Select(p => new ImagePackage(p.Kind, p.Name, p.Version, p.Source, layer.Digest, p.Path, p.SourceVersion)));
            foreach (var release in layer.OsReleases.Where(r => above.Keeps(r.Path)))
            {
                releases.TryAdd(release.Path, release);
            }
            above.Add(layer);
        }
        // os-release(5): /etc/os-release wins; /usr/lib/os-release is the fallback (and /etc's is often a link to it).
        var os = releases.GetValueOrDefault("etc/os-release") ?? releases.GetValueOrDefault("usr/lib/os-release");
        return new ImageContents(findings, packages, os);
    }

    /// <summary>What the layers above hide from the ones below.</summary>
    private sealed class UpperLayers
    {
        private readonly HashSet<string> _entries = new(StringComparer.Ordinal);
        private readonly HashSet<string> _nonDirectories = new(StringComparer.Ordinal);
        private readonly HashSet<string> _whiteouts = new(StringComparer.Ordinal);
        private readonly HashSet<string> _opaque = new(StringComparer.Ordinal);
        private readonly HashSet<string> _parents = new(StringComparer.Ordinal);

        public bool Keeps(string path)
        {
            if (_entries.Contains(path) || _whiteouts.Contains(path) || _parents.Contains(path))
            {
                return false;
            }
            foreach (var ancestor in LayerPaths.Ancestors(path))
            {
                if (_whiteouts.Contains(ancestor) || _opaque.Contains(ancestor) || _nonDirectories.Contains(ancestor))
                {
                    return false;
                }
            }
            return !_opaque.Contains("");
        }

        public void Add(LayerReport layer)
        {
            var directories = new HashSet<string>(layer.Directories ?? [], StringComparer.Ordinal);
            foreach (var file in layer.Files)
            {
                _entries.Add(file);
                if (!directories.Contains(file))
                {
                    _nonDirectories.Add(file);
                }
                AddParents(file);
            }
            foreach (var whiteout in layer.Whiteouts)
            {
                _whiteouts.Add(whiteout);
                AddParents(whiteout);
            }
            foreach (var opaque in layer.OpaqueDirectories)
            {
                _opaque.Add(opaque);
                if (opaque.Length > 0)
                {
                    _parents.Add(opaque);
                    AddParents(opaque);
                }
            }
        }

        private void AddParents(string path)
        {
            foreach (var ancestor in LayerPaths.Ancestors(path))
            {
                if (!_parents.Add(ancestor))
                {
                    break; // its ancestors are in already
                }
            }
        }
    }
}

/// <summary>What an image's final filesystem holds that Gatehouse judges.</summary>
public sealed record ImageContents(IReadOnlyList<ImageFinding> Findings, IReadOnlyList<ImagePackage> Packages, OsReleaseRecord? Os);

/// <summary>A model-scanner finding on a file of the final filesystem, with the layer that put the file there.</summary>
public sealed record ImageFinding(string LayerDigest, string Path, Finding Finding);

/// <summary>A package of the final filesystem, with the layer and file that record it.</summary>
public sealed record ImagePackage(PackageKind Kind, string Name, string Version, string? Source, string LayerDigest, string Path, string? SourceVersion = null);
