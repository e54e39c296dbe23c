using System.Runtime.CompilerServices;
using Gatehouse.Versions;

namespace Gatehouse.Vulnerabilities;

/// <summary>
/// Whether an advisory affects a package at a version, by the schema's evaluation pseudocode
/// (https://ossf.github.io/osv-schema/#evaluation): the version is listed in <c>versions</c>, or lies in a range whose
/// events, sorted by version, leave it vulnerable (<c>introduced</c> opens, "0" meaning every version; <c>fixed</c>
/// closes at and above it; <c>last_affected</c> closes above it) and below one of its <c>limit</c>s, if any ("*" is
/// infinity). Versions are ordered by the ecosystem's own rules: PEP 440 for PyPI (so a pre-release of a fixed version
/// is still affected), dpkg's for Debian, apk-tools' for Alpine. ECOSYSTEM and SEMVER ranges are read alike; GIT
/// ranges name commits, not releases, and are skipped. A withdrawn advisory affects nothing.
/// </summary>
public static class OsvMatcher
{
    private static readonly VersionScheme<Pep440Version> Pep440 = new((string? t, out Pep440Version? v) => Pep440Version.TryParse(t, out v));
    private static readonly VersionScheme<DebianVersion> Debian = new((string? t, out DebianVersion? v) => DebianVersion.TryParse(t, out v!));
    private static readonly VersionScheme<AlpineVersion> Alpine = new((string? t, out AlpineVersion? v) => AlpineVersion.TryParse(t, out v!));

    /// <summary>True when <paramref name="record"/> affects the PyPI project <paramref name="project"/> (any spelling) at <paramref name="version"/>.</summary>
    public static bool Affects(OsvRecord record, string project, string version) =>
        Affects(record, new OsvPackageKey(OsvEcosystem.PyPI, project), version);

    /// <summary>True when <paramref name="record"/> affects <paramref name="package"/> at <paramref name="version"/>.</summary>
    public static bool Affects(OsvRecord record, OsvPackageKey package, string version) => package.Ecosystem.Kind switch
    {
        OsvEcosystemKind.Debian => Debian.Affects(record, package, version),
        OsvEcosystemKind.Alpine => Alpine.Affects(record, package, version),
        _ => Pep440.Affects(record, package, version),
    };

    /// <summary>Every <c>fixed</c> version the advisory names for the PyPI project, PEP 440 ordered, duplicates removed.</summary>
    public static IReadOnlyList<string> FixedIn(OsvRecord record, string project) => FixedIn(record, new OsvPackageKey(OsvEcosystem.PyPI, project));

    /// <summary>Every <c>fixed</c> version the advisory names for the package, in the ecosystem's order, duplicates removed.</summary>
    public static IReadOnlyList<string> FixedIn(OsvRecord record, OsvPackageKey package) => package.Ecosystem.Kind switch
    {
        OsvEcosystemKind.Debian => Debian.FixedIn(record, package),
        OsvEcosystemKind.Alpine => Alpine.FixedIn(record, package),
        _ => Pep440.FixedIn(record, package),
    };

    private static bool IsVersionRange(OsvRange range) => range.Type is "ECOSYSTEM" or "SEMVER";

    private delegate bool VersionParser<T>(string? text, out T? version);

    /// <summary>The evaluation over one ecosystem's versions.</summary>
    private sealed class VersionScheme<T>(VersionParser<T> parse)
        where T : class, IComparable<T>
    {
        // Parsed versions and sorted events per affected entry, kept while the entry lives (the mirror caches records, so a
        // package's entries are parsed once per cache period rather than on every question).
        private readonly ConditionalWeakTable<OsvAffected, Prepared> _prepared = [];

        public bool Affects(OsvRecord record, OsvPackageKey package, string version)
        {
            if (record.Withdrawn is not null)
            {
                return false;
            }
            parse(version, out var parsed);
            foreach (var affected in record.Affected ?? [])
            {
                if (!affected.Names(package))
                {
                    continue;
                }
                var prepared = _prepared.GetValue(affected, Prepare);
                if (prepared.Listed.Contains(version) || (parsed is not null && (prepared.ListedParsed.Any(v => v.CompareTo(parsed) == 0)
                    || prepared.Ranges.Any(events => BeforeLimits(parsed, events) && Vulnerable(parsed, events)))))
                {
                    return true;
                }
            }
            return false;
        }

        public IReadOnlyList<string> FixedIn(OsvRecord record, OsvPackageKey package)
        {
            var fixes = new SortedDictionary<T, string>();
            foreach (var range in (record.Affected ?? []).Where(a => a.Names(package)).SelectMany(a => a.Ranges ?? []).Where(IsVersionRange))
            {
                foreach (var fixedVersion in (range.Events ?? []).Select(e => e.Fixed).OfType<string>())
                {
                    if (parse(fixedVersion, out var v) && v is not null)
                    {
                        fixes.TryAdd(v, fixedVersion);
                    }
                }
            }
            return [.. fixes.Values];
        }

        /// <summary>
        /// Listed versions compare as exact text and as versions (so "1.0" lists "1.0.0" in PEP 440); only ECOSYSTEM and
        /// SEMVER ranges whose every event parses are kept, their events sorted.
        /// </summary>
        private Prepared Prepare(OsvAffected affected)
        {
            var listed = new HashSet<string>(affected.Versions ?? [], StringComparer.Ordinal);
            var parsed = new List<T>();
            foreach (var text in listed)
            {
                if (parse(text, out var v) && v is not null)
                {
                    parsed.Add(v);
                }
            }
            var ranges = (affected.Ranges ?? []).Where(IsVersionRange).Select(r => Sorted(r.Events)).OfType<List<(T? Version, OsvEvent Event)>>().ToList();
            return new Prepared(listed, parsed, ranges);
        }

        private sealed record Prepared(HashSet<string> Listed, List<T> ListedParsed, List<List<(T? Version, OsvEvent Event)>> Ranges);

        /// <summary>
        /// The events ordered by their version ("0" first, "*" last). Null when an event's version does not parse: such a
        /// range cannot be evaluated, and guessing would be worse than leaving it to the <c>versions</c> list.
        /// </summary>
        private List<(T? Version, OsvEvent Event)>? Sorted(IReadOnlyList<OsvEvent>? events)
        {
            var list = new List<(T? Version, OsvEvent Event)>();
            foreach (var e in events ?? [])
            {
                var text = e.Introduced ?? e.Fixed ?? e.LastAffected ?? e.Limit;
                if (text is null)
                {
                    return null;
                }
                if ((text is "0" && e.Introduced is not null) || (text is "*" && e.Limit is not null))
                {
                    list.Add((null, e));
                    continue;
                }
                if (!parse(text, out var v) || v is null)
                {
                    return null;
                }
                list.Add((v, e));
            }
            // null stands for "0" (before everything) on introduced and for "*" (after everything) on limit.
            return [.. list.OrderBy(p => p.Version is null ? (p.Event.Introduced is not null ? 0 : 2) : 1).ThenBy(p => p.Version)];
        }

        private static bool BeforeLimits(T version, List<(T? Version, OsvEvent Event)> events)
        {
            var limits = events.Where(p => p.Event.Limit is not null).ToList();
            return limits.Count == 0 || limits.Any(p => p.Version is null || version.CompareTo(p.Version) < 0);
        }

        private static bool Vulnerable(T version, List<(T? Version, OsvEvent Event)> events)
        {
            var vulnerable = false;
            foreach (var (at, e) in events)
            {
                if (e.Introduced is not null && (at is null || version.CompareTo(at) >= 0))
                {
                    vulnerable = true;
                }
                else if (e.Fixed is not null && at is not null && version.CompareTo(at) >= 0)
                {
                    vulnerable = false;
                }
                else if (e.LastAffected is not null && at is not null && version.CompareTo(at) > 0)
                {
                    vulnerable = false;
                }
            }
            return vulnerable;
        }
    }
}
