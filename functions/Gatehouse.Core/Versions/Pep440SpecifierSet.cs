using System.Diagnostics.CodeAnalysis;

namespace Gatehouse.Versions;

/// <summary>
/// A comma-separated list of clauses, all of which must match (PEP 440, "Version specifiers"), such as
/// "&gt;=1.0, !=1.3.4.*, &lt;2.0". An empty set puts no limit on the version; the pre-release rule still applies.
/// </summary>
public sealed class Pep440SpecifierSet
{
    private readonly Pep440Specifier[] _clauses;

    private Pep440SpecifierSet(Pep440Specifier[] clauses)
    {
        _clauses = clauses;
        NamesPrerelease = clauses.Any(c => c.NamesPrerelease);
    }

    /// <summary>The clauses, in the order written.</summary>
    public IReadOnlyList<Pep440Specifier> Clauses => _clauses;

    /// <summary>Whether any clause names a pre-release, which lets pre-releases match the whole set by default.</summary>
    public bool NamesPrerelease { get; }

    /// <summary>Parses a set; empty or whitespace text is the empty set. Empty items between commas are skipped.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out Pep440SpecifierSet? value, [NotNullWhen(false)] out string? error)
    {
        value = null;
        var clauses = new List<Pep440Specifier>();
        foreach (var item in (text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Pep440Specifier.TryParse(item, out var clause, out error))
            {
                return false;
            }
            clauses.Add(clause);
        }
        value = new Pep440SpecifierSet([.. clauses]);
        error = null;
        return true;
    }

    /// <summary>
    /// Whether every clause matches <paramref name="version"/>. Pre-releases match only when
    /// <paramref name="prereleases"/> is true, or when it is null and some clause names a pre-release.
    /// </summary>
    public bool Contains(Pep440Version version, bool? prereleases = null)
    {
        ArgumentNullException.ThrowIfNull(version);
        return (!version.IsPrerelease || (prereleases ?? NamesPrerelease)) && MatchesAll(version);
    }

    /// <summary>
    /// Whether every clause matches the text <paramref name="version"/>; text that is not a valid version matches only
    /// a set made of === clauses with that text (ignoring case), never the empty set.
    /// </summary>
    public bool Contains(string version, bool? prereleases = null)
    {
        ArgumentNullException.ThrowIfNull(version);
        if (Pep440Version.TryParse(version, out var parsed))
        {
            return (!parsed.IsPrerelease || (prereleases ?? NamesPrerelease))
                && _clauses.All(c => c.Operator == "===" ? c.MatchesArbitrary(version) : c.Matches(parsed));
        }
        return _clauses.Length > 0 && _clauses.All(c => c.MatchesArbitrary(version));
    }

    /// <summary>
    /// The versions that match, in their order. Pre-releases are kept when <paramref name="prereleases"/> is true or,
    /// when it is null, if some clause names a pre-release or no final release matches at all (PEP 440, "Handling of
    /// pre-releases": pre-releases are accepted when no final or post release satisfies the specifier).
    /// </summary>
    public IEnumerable<Pep440Version> Filter(IEnumerable<Pep440Version> versions, bool? prereleases = null)
    {
        ArgumentNullException.ThrowIfNull(versions);
        var matching = versions.Where(MatchesAll).ToList();
        if (prereleases ?? NamesPrerelease)
        {
            return matching;
        }
        var finals = matching.Where(v => !v.IsPrerelease).ToList();
        return finals.Count == 0 && prereleases is null ? matching : finals;
    }

    /// <summary>The clauses in normalised form, joined by commas.</summary>
    public override string ToString() => string.Join(',', _clauses.Select(c => c.ToString()));

    private bool MatchesAll(Pep440Version version) => _clauses.All(c => c.Matches(version));
}
