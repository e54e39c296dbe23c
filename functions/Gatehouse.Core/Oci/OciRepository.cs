using System.Text.RegularExpressions;

namespace Gatehouse.Oci;

/// <summary>
/// A repository name as the client sent it, resolved to its registry and the name upstream. Names follow the OCI
/// distribution spec's grammar (spec.md, "Pulling manifests": path components <c>[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*</c>
/// separated by <c>/</c>); anything else, encoded or not, is refused before a URL is built from it.
/// </summary>
public sealed partial record OciRepository(OciRegistryOptions Registry, string Name, string UpstreamName)
{
    /// <summary>The longest name accepted: clients limit host, <c>/</c> and name together to 255 characters (distribution spec).</summary>
    public const int MaxNameLength = 255;

    /// <summary>
    /// Validates <paramref name="name"/> (rejecting traversal: <c>..</c>, empty segments, percent-encoding, backslashes),
    /// picks the registry whose <see cref="OciRegistryOptions.Prefix"/> is the first segment (else the one at the root),
    /// and puts a one-segment name under <c>library/</c> when that registry says so. Null with <paramref name="error"/> when invalid.
    /// </summary>
    public static OciRepository? Resolve(string name, OciOptions options, out string error)
    {
        error = "";
        if (string.IsNullOrEmpty(name))
        {
            error = "The repository name is empty";
            return null;
        }
        if (name.Length > MaxNameLength)
        {
            error = $"The repository name is longer than {MaxNameLength} characters";
            return null;
        }
        var segments = name.Split('/');
        var registries = options.Effective;
        var registry = segments.Length > 1 ? registries.FirstOrDefault(r => r.Prefix.Length > 0 && string.Equals(r.Prefix, segments[0], StringComparison.OrdinalIgnoreCase)) : null;
        var path = registry is null ? segments : segments[1..];
        registry ??= registries.First(r => r.Prefix.Length == 0);
        if (path.FirstOrDefault(s => !ComponentPattern().IsMatch(s)) is { } bad)
        {
            error = bad.Length == 0
                ? $"The repository name '{Printable(name)}' has an empty path component"
                : $"The repository name '{Printable(name)}' has the component '{Printable(bad)}', which is not lowercase letters and digits joined by '.', '_', '__' or '-'";
            return null;
        }
        var upstream = string.Join('/', path);
        return new OciRepository(registry, name, registry.OfficialImagesUnderLibrary && path.Length == 1 ? "library/" + upstream : upstream);
    }

    /// <summary>A tag as the distribution spec allows it: <c>[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}</c>.</summary>
    public static bool IsTag(string reference) => TagPattern().IsMatch(reference);

    /// <summary>A sha256 or sha512 digest in its canonical form (<c>sha256:</c> and 64 lowercase hex digits).</summary>
    public static bool IsDigest(string reference) => DigestPattern().IsMatch(reference);

    /// <summary>The name with control characters and quotes replaced, for an error message.</summary>
    private static string Printable(string text) =>
        new([.. text.Take(100).Select(c => char.IsControl(c) || c is '"' or '\'' ? '?' : c)]);

    [GeneratedRegex(@"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$")]
    private static partial Regex ComponentPattern();

    [GeneratedRegex(@"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")]
    private static partial Regex DigestPattern();
}
