using System.Text.RegularExpressions;

namespace Gatehouse.UpstreamSimulator.Catalog;

/// <summary>PyPI project-name rules: the valid-name check and PEP 503 normalization.</summary>
public static partial class PackageName
{
    /// <summary>Lowercase, with runs of <c>-</c>, <c>_</c> and <c>.</c> collapsed to one <c>-</c>.</summary>
    public static string Normalize(string name) => Separators().Replace(name, "-").ToLowerInvariant();

    /// <summary>The spelling used in wheel and sdist filenames (separators become <c>_</c>).</summary>
    public static string ToDistributionStem(string name) => Separators().Replace(name, "_").ToLowerInvariant();

    /// <summary>True for names the packaging spec allows (\z, not $, so a trailing newline is rejected).</summary>
    public static bool IsValid(string name) => ValidName().IsMatch(name);

    [GeneratedRegex("[-_.]+")]
    private static partial Regex Separators();

    [GeneratedRegex(@"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\z", RegexOptions.IgnoreCase)]
    private static partial Regex ValidName();
}
