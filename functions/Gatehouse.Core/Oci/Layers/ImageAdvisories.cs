using Gatehouse.Pipeline;
using Gatehouse.Vulnerabilities;

namespace Gatehouse.Oci.Layers;

/// <summary>
/// OSV advisories for an image's packages, from Gatehouse's OSV mirror. Python packages are looked up in PyPI; dpkg
/// packages in <c>Debian:&lt;major&gt;</c> (and in <c>Debian</c> without a release) by source package, as OSV's Debian
/// records are keyed, at the source version when dpkg gives one; apk packages in <c>Alpine:v&lt;major.minor&gt;</c> by
/// origin. The release comes from the image's os-release: dpkg packages of another distribution (Ubuntu) are not
/// Debian's, so they are not looked up in Debian's records.
/// </summary>
public sealed class ImageAdvisories(VulnerabilityMirror mirror)
{
    /// <summary>
    /// The advisories, each summary naming the package, version, ecosystem and layer ("requests 2.19.0 (PyPI, layer
    /// sha256:…): …"); null when the mirror is not loaded, so the facts say the data is unavailable rather than clean.
    /// </summary>
    public async Task<IReadOnlyList<AdvisoryFact>?> ForAsync(ImageContents image, CancellationToken ct)
    {
        if (!await mirror.IsLoadedAsync(ct))
        {
            return null;
        }
        var facts = new List<AdvisoryFact>();
        // Binary packages of one source (libssl3, openssl) share its advisories: each source and version is asked once.
        var lookups = image.Packages.SelectMany(p => Lookups(p, image.Os).Select(l => (Package: p, l.Key, l.Version)))
            .GroupBy(l => (l.Key, l.Version));
        foreach (var group in lookups)
        {
            var (key, version) = group.Key;
            var first = group.First().Package;
            var binaries = group.Where(l => l.Package.Kind != PackageKind.Python).Select(l => l.Package.Name).Where(n => n != key.Name).Distinct(StringComparer.Ordinal).ToList();
            var what = $"{key.Name} {version} ({key.Ecosystem}{(binaries.Count > 0 ? ", source of " + string.Join(", ", binaries) : "")}, layer {Short(first.LayerDigest)})";
            foreach (var advisory in await mirror.ForAsync(key, version, ct))
            {
                facts.Add(new AdvisoryFact(advisory.Id, advisory.Aliases, $"{what}: {advisory.Summary}", advisory.Cvss, advisory.Severity, advisory.Malicious,
                    advisory.FixedIn));
            }
        }
        return facts;
    }

    /// <summary>Where a package's advisories are kept and the version they are matched at.</summary>
    public static IEnumerable<(OsvPackageKey Key, string Version)> Lookups(ImagePackage package, OsReleaseRecord? os)
    {
        switch (package.Kind)
        {
            case PackageKind.Python:
                yield return (new OsvPackageKey(OsvEcosystem.PyPI, package.Name), package.Version);
                break;
            case PackageKind.Debian when os is { Id: "debian", VersionId: { } release } && Major(release) is { } major:
                var source = package.Source ?? package.Name;
                var version = package.SourceVersion ?? package.Version;
                yield return (new OsvPackageKey(new OsvEcosystem(OsvEcosystemKind.Debian, major), source), version);
                yield return (new OsvPackageKey(new OsvEcosystem(OsvEcosystemKind.Debian, null), source), version);
                break;
            case PackageKind.Alpine when os is { Id: "alpine", VersionId: { } release } && Branch(release) is { } branch:
                yield return (new OsvPackageKey(new OsvEcosystem(OsvEcosystemKind.Alpine, branch), package.Source ?? package.Name), package.Version);
                break;
        }
    }

    /// <summary>Debian's VERSION_ID is the major release ("12"); a point release would be cut to it.</summary>
    private static string? Major(string versionId) => versionId.Split('.')[0] is { Length: > 0 } major && major.All(char.IsAsciiDigit) ? major : null;

    /// <summary>Alpine's VERSION_ID is the point release ("3.19.1"); OSV keys by branch ("v3.19").</summary>
    private static string? Branch(string versionId) =>
        versionId.Split('.') is [var major, var minor, ..] && major.All(char.IsAsciiDigit) && minor.Length > 0 && minor.All(char.IsAsciiDigit)
            ? $"v{major}.{minor}"
            : null;

    private static string Short(string digest) => digest.Length > 19 ? digest[..19] + "…" : digest;
}
