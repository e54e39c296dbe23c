namespace Gatehouse.Bom;

/// <summary>
/// Package URLs (purl, https://github.com/package-url/purl-spec) for the files in a bill of materials, so scanners and
/// SBOM tools can match them with their own advisories.
/// </summary>
public static class PackageUrls
{
    /// <summary>
    /// <c>pkg:pypi/&lt;name&gt;[@&lt;version&gt;][?file_name=&lt;file&gt;]</c>. The purl-spec pypi type
    /// (<c>types/pypi-definition.json</c>) wants the name lower-cased with <c>_</c> as <c>-</c>, which a PEP 503
    /// normalised name already is, and names one distribution file with the <c>file_name</c> qualifier.
    /// </summary>
    public static string Pypi(string normalizedName, string? version, string? fileName = null) =>
        "pkg:pypi/" + Encode(normalizedName.ToLowerInvariant().Replace('_', '-'))
        + (version is { Length: > 0 } ? "@" + Encode(version) : "")
        + (fileName is { Length: > 0 } ? "?file_name=" + Encode(fileName) : "");

    /// <summary>
    /// <c>pkg:huggingface/&lt;namespace&gt;/&lt;name&gt;[@&lt;commit&gt;][#&lt;path&gt;]</c>: the purl-spec huggingface type
    /// (<c>types/huggingface-definition.json</c>, models) takes the owner as namespace, the repository as name (both
    /// case-sensitive) and the commit hash, lower-cased, as version; a file in the repository is the purl's subpath.
    /// A repository without an owner (<c>gpt2</c>) has none to give, so it gets no purl (null).
    /// </summary>
    public static string? HuggingFace(string repoId, string? commit, string? path = null)
    {
        var slash = repoId.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return null;
        }
        return "pkg:huggingface/" + Encode(repoId[..slash]) + "/" + Encode(repoId[(slash + 1)..])
            + (commit is { Length: > 0 } ? "@" + commit.ToLowerInvariant() : "")
            + (path is { Length: > 0 } ? "#" + string.Join('/', path.Split('/').Where(s => s.Length > 0 && s != "." && s != "..").Select(Encode)) : "");
    }

    /// <summary>Percent-encodes a purl component: everything but RFC 3986 unreserved characters (so <c>+</c> becomes <c>%2B</c>).</summary>
    private static string Encode(string value) => Uri.EscapeDataString(value);
}
