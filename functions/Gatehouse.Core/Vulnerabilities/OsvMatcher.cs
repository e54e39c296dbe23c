using System.Runtime.CompilerServices;
using Gatehouse.Versions;

namespace Gatehouse.Vulnerabilities;

/// <summary>
/// Whether an advisory affects a PyPI project at a version, by the schema's evaluation pseudocode
/// (https://ossf.github.io/osv-schema/#evaluation): the version is listed in <c>versions</c>, or lies in a range whose
/// events, sorted by version, leave it vulnerable (<c>introduced</c> opens, "0" meaning every version; <c>fixed</c>
/// closes at and above it; <c>last_affected</c> closes above it) and below one of its <c>limit</c>s, if any ("*" is
/// infinity). Versions are ordered by PEP 440, so a pre-release of a fixed version is still affected. ECOSYSTEM and
/// SEMVER ranges are read alike (PyPI versions are PEP 440 either way); GIT ranges name commits, not releases, and
/// are skipped. A withdrawn advisory affects nothing.
/// </summary>
public static class OsvMatcher
{
    // Parsed versions and sorted events per affected entry, kept while the entry lives (the mirror caches records, so a
    // project's entries are parsed once per cache period rather than on every question).
    private static readonly ConditionalWeakTable<OsvAffected, Prepared> PreparedEntries = [];

    /// <summary>True when <paramref name="record"/> affects <paramref name="project"/> (any spelling) at <paramref name="version"/>.</summary>
    public static bool Affects(OsvRecord record, string project, string version)
    {
        if (record.Withdrawn is not null)
        {
            return false;
        }
        var normalized = PyPI.ProjectName.Normalize(project.Trim());
        Pep440Version.TryParse(version, out var parsed);
        foreach (var affected in record.Affected ?? [])
        {
            if (!affected.Names(normalized))
            {
                continue;
            }
            var prepared = PreparedEntries.GetValue(affected, Prepare);
            if (prepared.Listed.Contains(version) || (parsed is not null && (prepared.ListedParsed.Contains(parsed)
                || prepared.Ranges.Any(events => BeforeLimits(parsed, events) && Vulnerable(parsed, events)))))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Every <c>fixed</c> version the advisory names for the project, PEP 440 ordered, duplicates removed.</summary>
    public static IReadOnlyList<string> FixedIn(OsvRecord record, string project)
    {
        var normalized = PyPI.ProjectName.Normalize(project.Trim());
        var fixes = new SortedDictionary<Pep440Version, string>();
        foreach (var range in (record.Affected ?? []).Where(a => a.Names(normalized)).SelectMany(a => a.Ranges ?? []).Where(IsVersionRange))
        {
            foreach (var fixedVersion in (range.Events ?? []).Select(e => e.Fixed).OfType<string>())
            {
                if (Pep440Version.TryParse(fixedVersion, out var v))
                {
                    fixes.TryAdd(v, fixedVersion);
                }
            }
        }
        return [.. fixes.Values];
    }

    private static bool IsVersionRange(OsvRange range) => range.Type is "ECOSYSTEM" or "SEMVER";

    /// <summary>
    /// Listed versions compare as exact text and as PEP 440 versions (so "1.0" lists "1.0.0"); only ECOSYSTEM and SEMVER
    /// ranges whose every event is PEP 440 are kept, their events sorted.
    /// </summary>
    private static Prepared Prepare(OsvAffected affected)
    {
        var listed = new HashSet<string>(affected.Versions ?? [], StringComparer.Ordinal);
        var parsed = new HashSet<Pep440Version>();
        foreach (var text in listed)
        {
            if (Pep440Version.TryParse(text, out var v))
            {
                parsed.Add(v);
            }
        }
        var ranges = (affected.Ranges ?? []).Where(IsVersionRange).Select(r => Sorted(r.Events)).OfType<List<(Pep440Version? Version, OsvEvent Event)>>().ToList();
        return new Prepared(listed, parsed, ranges);
    }

    private sealed record Prepared(HashSet<string> Listed, HashSet<Pep440Version> ListedParsed, List<List<(Pep440Version? Version, OsvEvent Event)>> Ranges);

    /// <summary>
    /// The events ordered by their version ("0" first, "*" last). Null when an event's version is not PEP 440: such a
    /// range cannot be evaluated, and guessing would be worse than leaving it to the <c>versions</c> list.
    /// </summary>
    private static List<(Pep440Version? Version, OsvEvent Event)>? Sorted(IReadOnlyList<OsvEvent>? events)
    {
        var list = new List<(Pep440Version? Version, OsvEvent Event)>();
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
            if (!Pep440Version.TryParse(text, out var v))
            {
                return null;
            }
            list.Add((v, e));
        }
        // null stands for "0" (before everything) on introduced and for "*" (after everything) on limit.
        return [.. list.OrderBy(p => p.Version is null ? (p.Event.Introduced is not null ? 0 : 2) : 1).ThenBy(p => p.Version)];
    }

    private static bool BeforeLimits(Pep440Version version, List<(Pep440Version? Version, OsvEvent Event)> events)
    {
        var limits = events.Where(p => p.Event.Limit is not null).ToList();
        return limits.Count == 0 || limits.Any(p => p.Version is null || version < p.Version);
    }

    private static bool Vulnerable(Pep440Version version, List<(Pep440Version? Version, OsvEvent Event)> events)
    {
        var vulnerable = false;
        foreach (var (at, e) in events)
        {
            if (e.Introduced is not null && (at is null || version >= at))
            {
                vulnerable = true;
            }
            else if (e.Fixed is not null && version >= at)
            {
                vulnerable = false;
            }
            else if (e.LastAffected is not null && version > at)
            {
                vulnerable = false;
            }
        }
        return vulnerable;
    }
}
