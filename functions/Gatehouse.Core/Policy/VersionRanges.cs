using System.Diagnostics.CodeAnalysis;
using Gatehouse.Versions;

namespace Gatehouse.Policy;

/// <summary>
/// The release filters a policy writes: text that starts with a comparison (<c>&lt;2.0</c>, <c>&gt;=1.4,!=1.5.*</c>,
/// <c>~=2.2</c>) is a PEP 440 specifier set, which matches pre-releases too (a waiver for <c>&lt;2.0</c> covers
/// 2.0rc1); anything else names one release exactly, compared as PEP 440 versions when both are (<c>1.0</c> is
/// <c>1.0.0</c>) and case-insensitively otherwise (a Hugging Face commit).
/// </summary>
public static class VersionRanges
{
    public static bool TryCreate(string text, [NotNullWhen(true)] out VersionMatch? match, [NotNullWhen(false)] out string? problem)
    {
        var trimmed = text.Trim();
        match = null;
        if (trimmed.Length == 0)
        {
            problem = "a version filter cannot be empty";
            return false;
        }
        if ("<>=!~".Contains(trimmed[0], StringComparison.Ordinal))
        {
            if (!Pep440SpecifierSet.TryParse(trimmed, out var set, out var error))
            {
                problem = $"'{trimmed}' is not a PEP 440 specifier set: {error}";
                return false;
            }
            match = new VersionMatch(trimmed, version => set.Contains(version, prereleases: true));
            problem = null;
            return true;
        }
        var exact = Pep440Version.TryParse(trimmed, out var parsed) ? parsed : null;
        match = new VersionMatch(trimmed, version => exact is not null && Pep440Version.TryParse(version, out var candidate)
            ? exact.Equals(candidate)
            : string.Equals(version, trimmed, StringComparison.OrdinalIgnoreCase));
        problem = null;
        return true;
    }
}
