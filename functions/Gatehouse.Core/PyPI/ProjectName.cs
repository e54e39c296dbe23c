using System.Text.RegularExpressions;

namespace Gatehouse.PyPI;

/// <summary>PyPI project names: validation and PEP 503 normalization.</summary>
public static partial class ProjectName
{
    // spec:name-normalization; \z, not $, so a trailing newline is refused. ASCII classes, not IgnoreCase, which
    // would let the Kelvin sign (U+212A) pass as "K".
    [GeneratedRegex(@"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])\z", RegexOptions.CultureInvariant)]
    private static partial Regex Valid();

    [GeneratedRegex(@"[-_.]+")]
    private static partial Regex Separators();

    public static bool IsValid(string? name) => name is { Length: > 0 and <= 200 } && Valid().IsMatch(name);

    public static string Normalize(string name) => Separators().Replace(name, "-").ToLowerInvariant();
}

/// <summary>Distribution file names as they appear in an index.</summary>
public static partial class DistributionFile
{
    // No path separators, no table-key specials, no control characters; the usual archive suffixes.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._+!-]{0,250}\.(whl|tar\.gz|zip|tar\.bz2|tar\.xz|tgz|egg)\z", RegexOptions.CultureInvariant)]
    private static partial Regex Valid();

    [GeneratedRegex(@"^[0-9a-f]{64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Hex();

    public static bool IsValid(string? filename) => filename is not null && Valid().IsMatch(filename);

    public static bool IsSha256(string? value) => value is not null && Sha256Hex().IsMatch(value);

    public static bool IsWheel(string filename) => filename.EndsWith(".whl", StringComparison.OrdinalIgnoreCase);

    /// <summary>The version part of a wheel or sdist file name, or null when it cannot be told.</summary>
    public static string? Version(string filename, string normalizedProject)
    {
        if (IsWheel(filename))
        {
            var parts = filename.Split('-');
            return parts.Length >= 5 ? parts[1] : null;
        }
        var stem = filename;
        foreach (var ext in new[] { ".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".egg" })
        {
            if (stem.EndsWith(ext, StringComparison.OrdinalIgnoreCase))
            {
                stem = stem[..^ext.Length];
                break;
            }
        }
        // The name part may itself contain dashes in old sdists: strip the normalized project prefix.
        for (var i = stem.IndexOf('-'); i > 0; i = stem.IndexOf('-', i + 1))
        {
            if (ProjectName.Normalize(stem[..i]) == normalizedProject)
            {
                return stem[(i + 1)..];
            }
        }
        return null;
    }
}
