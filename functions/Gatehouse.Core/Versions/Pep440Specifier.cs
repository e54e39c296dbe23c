using System.Diagnostics.CodeAnalysis;

namespace Gatehouse.Versions;

/// <summary>
/// One version clause such as "&gt;=1.2" or "==1.4.*", matched the way PEP 440's "Version specifiers" section says
/// (https://peps.python.org/pep-0440/#version-specifiers), so a policy written as a requirement means what pip
/// would take it to mean. Where the specification leaves room, this follows pypa/packaging (specifiers.py), the
/// implementation pip uses.
/// </summary>
public sealed class Pep440Specifier
{
    // Longest first, so "===" is not read as "==" and "=".
    private static readonly string[] Operators = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"];

    private readonly string _text;

    private Pep440Specifier(string op, Pep440Version? version, string arbitrary, bool wildcard)
    {
        Operator = op;
        Version = version;
        IsWildcard = wildcard;
        _text = op == "===" ? op + arbitrary : op + version + (wildcard ? ".*" : "");
        // A clause that names a pre-release admits pre-releases; != never does (pypa/packaging, Specifier.prereleases).
        NamesPrerelease = op != "!=" && version is { IsPrerelease: true };
    }

    /// <summary>The comparison operator: ~=, ==, !=, &lt;=, &gt;=, &lt;, &gt; or ===.</summary>
    public string Operator { get; }

    /// <summary>The version the clause names (without ".*"); null only for === with text that is not a version.</summary>
    public Pep440Version? Version { get; }

    /// <summary>Whether this is a prefix match (==V.* or !=V.*).</summary>
    public bool IsWildcard { get; }

    /// <summary>Whether the clause itself names a pre-release, which lets pre-releases match it by default.</summary>
    public bool NamesPrerelease { get; }

    /// <summary>The arbitrary text of a === clause, compared as a string.</summary>
    private string Arbitrary => _text[3..];

    /// <summary>Parses one clause, or says what is wrong with it.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out Pep440Specifier? value, [NotNullWhen(false)] out string? error)
    {
        value = null;
        var trimmed = (text ?? "").Trim();
        var op = Operators.FirstOrDefault(o => trimmed.StartsWith(o, StringComparison.Ordinal));
        if (op is null)
        {
            error = $"'{trimmed}' does not start with a version operator (~=, ==, !=, <=, >=, <, >, ===).";
            return false;
        }
        var operand = trimmed[op.Length..].TrimStart();
        if (operand.Length == 0)
        {
            error = $"'{trimmed}' names no version.";
            return false;
        }
        if (op == "===")
        {
            // Arbitrary equality compares strings; the operand is any text without whitespace (PEP 440, "Arbitrary equality").
            if (operand.Any(char.IsWhiteSpace))
            {
                error = $"'{trimmed}': the operand of === cannot contain whitespace.";
                return false;
            }
            _ = Pep440Version.TryParse(operand, out var named);
            value = new Pep440Specifier(op, named, operand, false);
            error = null;
            return true;
        }
        var wildcard = operand.EndsWith(".*", StringComparison.Ordinal);
        if (wildcard && op is not ("==" or "!="))
        {
            error = $"'{trimmed}': a .* prefix match is allowed only with == and != (PEP 440, \"Version matching\").";
            return false;
        }
        if (!Pep440Version.TryParse(wildcard ? operand[..^2] : operand, out var version))
        {
            error = $"'{trimmed}': '{operand}' is not a valid PEP 440 version.";
            return false;
        }
        if (wildcard && (version.Pre is not null || version.Post is not null || version.Dev is not null || version.Local is not null))
        {
            error = $"'{trimmed}': a .* prefix match may follow only the release segment (PEP 440, \"Version matching\").";
            return false;
        }
        if (version.Local is not null && op is not ("==" or "!="))
        {
            error = $"'{trimmed}': a local version label is allowed only with == and != (PEP 440, \"Version specifiers\").";
            return false;
        }
        if (op == "~=" && version.Release.Count < 2)
        {
            error = $"'{trimmed}': ~= needs at least two release segments (PEP 440, \"Compatible release\").";
            return false;
        }
        value = new Pep440Specifier(op, version, operand, wildcard);
        error = null;
        return true;
    }

    /// <summary>
    /// Whether <paramref name="version"/> matches. Pre-releases match only when <paramref name="prereleases"/> is true,
    /// or when it is null and the clause names a pre-release.
    /// </summary>
    public bool Contains(Pep440Version version, bool? prereleases = null)
    {
        ArgumentNullException.ThrowIfNull(version);
        if (version.IsPrerelease && !(prereleases ?? NamesPrerelease))
        {
            return false;
        }
        return Matches(version);
    }

    /// <summary>
    /// Whether the text <paramref name="version"/> matches; text that is not a valid version matches only a ===
    /// clause with the same text (ignoring case).
    /// </summary>
    public bool Contains(string version, bool? prereleases = null)
    {
        ArgumentNullException.ThrowIfNull(version);
        if (!Pep440Version.TryParse(version, out var parsed))
        {
            return MatchesArbitrary(version);
        }
        if (parsed.IsPrerelease && !(prereleases ?? NamesPrerelease))
        {
            return false;
        }
        return Operator == "===" ? MatchesArbitrary(version) : Matches(parsed);
    }

    /// <summary>The clause in normalised form (the operand of === as written).</summary>
    public override string ToString() => _text;

    /// <summary>Whether a text that is not a version matches: only === with the same text, ignoring case.</summary>
    internal bool MatchesArbitrary(string text) =>
        Operator == "===" && string.Equals(text.Trim(), Arbitrary, StringComparison.OrdinalIgnoreCase);

    /// <summary>The operator's comparison alone, without the pre-release rule.</summary>
    internal bool Matches(Pep440Version candidate)
    {
        if (Operator == "===")
        {
            return MatchesArbitrary(candidate.ToString());
        }
        var version = Version!;
        return Operator switch
        {
            "==" => Equal(candidate, version),
            "!=" => !Equal(candidate, version),
            // ~=V.N means >=V.N, ==V.* (PEP 440, "Compatible release"); suffixes of V.N do not shorten the prefix.
            "~=" => candidate.PublicVersion >= version && PrefixMatch(candidate, version, version.Release.Count - 1),
            "<=" => candidate.PublicVersion <= version,
            ">=" => candidate.PublicVersion >= version,
            "<" => LessThan(candidate, version),
            _ => GreaterThan(candidate, version),
        };
    }

    private bool Equal(Pep440Version candidate, Pep440Version version) =>
        IsWildcard
            ? PrefixMatch(candidate, version, version.Release.Count)
            // Without a local label in the clause, the candidate's local label is ignored (PEP 440, "Version matching").
            : (version.Local is null ? candidate.PublicVersion : candidate) == version;

    // The candidate's release, padded with zeros, must begin with the first `length` numbers of the clause's release,
    // in the same epoch; the pre-release, post-release and dev parts of the candidate do not matter.
    private static bool PrefixMatch(Pep440Version candidate, Pep440Version version, int length) =>
        candidate.Epoch == version.Epoch && candidate.ReleaseStartsWith(version.Release.Take(length).ToArray());

    // <V excludes the pre-releases of V unless V is one (PEP 440, "Exclusive ordered comparison"): everything from
    // V.dev0 up is out, as pypa/packaging bounds it (_ranges.py, standard_ranges).
    private static bool LessThan(Pep440Version candidate, Pep440Version version) =>
        candidate < (version.IsPrerelease ? version : version.FirstDevRelease);

    // >V excludes V's local versions, and its post-releases unless V is a post-release or a development release
    // (PEP 440, "Exclusive ordered comparison"; the same bounds as pypa/packaging's _ranges.py, standard_ranges).
    private static bool GreaterThan(Pep440Version candidate, Pep440Version version) =>
        candidate > version
        && candidate.PublicVersion != version
        && !(version.Post is null && version.Dev is null && candidate.IsPostRelease && candidate.WithoutPostRelease == version);
}
