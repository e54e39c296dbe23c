using Gatehouse.Scans;

namespace Gatehouse.Oci.Layers;

/// <summary>What one layer blob holds, read in one forward walk by <see cref="LayerInspector"/>.</summary>
/// <param name="Version">The inspector's <see cref="LayerInspector.CurrentVersion"/> when it was made: a newer inspector reads layers again.</param>
/// <param name="Compression">"tar", "gzip" or "zstd", told by content; "none" when the blob is no tar at all (a config blob).</param>
/// <param name="Files">Every non-whiteout entry path, normalised as a runtime extracts it under the rootfs.</param>
/// <param name="Whiteouts">Paths this layer deletes from lower layers (<c>a/.wh.b</c> → <c>a/b</c>).</param>
/// <param name="OpaqueDirectories">Directories whose lower-layer content this layer hides (<c>a/.wh..wh..opq</c> → <c>a</c>).</param>
/// <param name="Findings">Suspicious and dangerous model-scanner findings, each at the member path it was found in.</param>
/// <param name="Packages">Python, dpkg and apk packages this layer's files record as installed.</param>
/// <param name="OsReleases">The os-release files this layer holds.</param>
/// <param name="Error">Why the walk could not finish, the rule first; the layer is then not judged (fail closed).</param>
/// <param name="Directories">The entries of <see cref="Files"/> that are directories (the others replace a lower directory).</param>
public sealed record LayerReport(
    int Version,
    string Digest,
    string Compression,
    IReadOnlyList<string> Files,
    IReadOnlyList<string> Whiteouts,
    IReadOnlyList<string> OpaqueDirectories,
    IReadOnlyList<LayerFinding> Findings,
    IReadOnlyList<PackageRecord> Packages,
    IReadOnlyList<OsReleaseRecord> OsReleases,
    string? Error,
    IReadOnlyList<string>? Directories = null);

/// <summary>A model-scanner finding on the file at <paramref name="Path"/> in a layer.</summary>
public sealed record LayerFinding(string Path, Finding Finding);

/// <summary>
/// One installed package and the file that records it. <paramref name="Source"/> is the package OSV keys advisories by
/// when it differs in kind from the name: dpkg's source package, apk's origin; null for Python.
/// </summary>
/// <param name="SourceVersion">The source package's version when dpkg's <c>Source: name (version)</c> gives one.</param>
public sealed record PackageRecord(PackageKind Kind, string Name, string Version, string? Source, string Path, string? SourceVersion = null);

/// <summary>Where a package record comes from: a Python distribution's metadata, dpkg's status, apk's installed database.</summary>
public enum PackageKind
{
    Python,
    Debian,
    Alpine,
}

/// <summary>An os-release file (https://www.freedesktop.org/software/systemd/man/latest/os-release.html): <c>ID</c> and <c>VERSION_ID</c>.</summary>
public sealed record OsReleaseRecord(string Path, string Id, string? VersionId);
