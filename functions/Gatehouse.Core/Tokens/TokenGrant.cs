using System.Text.RegularExpressions;

namespace Gatehouse.Tokens;

/// <summary>
/// One scope of a token, optionally limited to resources: PyPI projects for <c>pypi:read</c> (compared as PEP 503
/// normalised names, https://peps.python.org/pep-0503/#normalized-names, <c>*</c> matching any run of characters),
/// Hugging Face repos for <c>hf:read</c> (<c>org/name</c>, or <c>org/</c> for every repo of an organisation, or a
/// <c>*</c> glob; compared without regard to case, as the Hub does), image repositories for <c>oci:read</c> (as clients
/// name them, <c>ghcr.io/org/</c> for a prefix or a <c>*</c> glob; a one-segment name is Docker Hub's official image, so
/// <c>alpine</c> and <c>library/alpine</c> are one name on either side). No resources means the whole scope. Written as
/// <c>scope</c> or <c>scope=resource,resource</c>, e.g. <c>pypi:read=numpy,torch-*</c> or <c>hf:read=meta-llama/</c>.
/// </summary>
public sealed partial record TokenGrant(TokenScope Scope, IReadOnlyList<string> Resources)
{
    /// <summary>The grants of a token that holds <paramref name="scopes"/> without limits (tokens of before).</summary>
    public static IReadOnlyList<TokenGrant> Unrestricted(TokenScope scopes) => [.. TokenScopes.Split(scopes).Select(s => new TokenGrant(s, []))];

    /// <summary>
    /// Parses <c>scope</c> or <c>scope=resource,…</c>; <c>read</c> (both read scopes) and <c>admin</c> take no resources.
    /// Throws <see cref="FormatException"/> with what is wrong.
    /// </summary>
    public static IReadOnlyList<TokenGrant> Parse(string text)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var name = (equals < 0 ? text : text[..equals]).Trim();
        if (!TokenScopes.ByName.TryGetValue(name, out var scopes))
        {
            throw new FormatException($"Unknown scope '{name}': use {TokenScopes.Listing}");
        }
        var resources = equals < 0 ? [] : text[(equals + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (equals >= 0 && resources.Length == 0)
        {
            throw new FormatException($"'{text}' names no resources after '='; leave out '=' for the whole scope");
        }
        if (resources.Length > 0 && scopes is TokenScope.Admin or TokenScope.Read)
        {
            throw new FormatException($"{name} cannot be limited to resources; limit {TokenScopes.PypiRead}, {TokenScopes.HfRead} or {TokenScopes.OciRead} instead");
        }
        foreach (var resource in resources)
        {
            var valid = scopes switch
            {
                TokenScope.HfRead => RepoPattern().IsMatch(resource),
                TokenScope.OciRead => ImagePattern().IsMatch(resource) && !resource.Contains("//", StringComparison.Ordinal) && !resource.Contains("..", StringComparison.Ordinal),
                _ => NamePattern().IsMatch(resource),
            };
            if (!valid || resource.Length > 200)
            {
                throw new FormatException(scopes switch
                {
                    TokenScope.HfRead => $"'{resource}' is not a repo (org/name), an organisation (org/) or a glob of them",
                    TokenScope.OciRead => $"'{resource}' is not an image repository (alpine, ghcr.io/org/image), a prefix of them (ghcr.io/org/) or a glob of them",
                    _ => $"'{resource}' is not a project name or a glob of them (letters, digits, '.', '_', '-', '*')",
                });
            }
        }
        return [.. TokenScopes.Split(scopes).Select(s => new TokenGrant(s, resources))];
    }

    /// <summary>Parses several grant texts and merges grants of the same scope (an unlimited one wins).</summary>
    public static IReadOnlyList<TokenGrant> ParseAll(IEnumerable<string> texts) =>
        [.. texts.SelectMany(Parse).GroupBy(g => g.Scope).OrderBy(g => g.Key).Select(g => g.Any(x => x.Resources.Count == 0)
            ? new TokenGrant(g.Key, [])
            : new TokenGrant(g.Key, [.. g.SelectMany(x => x.Resources).Distinct(StringComparer.OrdinalIgnoreCase)]))];

    /// <summary>The union of the scopes of <paramref name="grants"/>.</summary>
    public static TokenScope ScopesOf(IEnumerable<TokenGrant> grants) => grants.Aggregate(TokenScope.None, (all, g) => all | g.Scope);

    /// <summary>The grant as it is written: <c>scope</c> or <c>scope=resource,…</c>.</summary>
    public override string ToString() => Resources.Count == 0 ? TokenScopes.Name(Scope) : $"{TokenScopes.Name(Scope)}={string.Join(',', Resources)}";

    /// <summary>Whether this grant covers <paramref name="resource"/> (a PyPI project or repo id; null: no particular one).</summary>
    public bool Covers(string? resource) =>
        resource is null || Resources.Count == 0 || Resources.Any(pattern => Scope switch
        {
            TokenScope.PypiRead => Glob(Names.ProjectName.Normalise(pattern), Names.ProjectName.Normalise(resource)),
            TokenScope.OciRead => Matches(pattern, resource) || Matches(OfficialImage(pattern), OfficialImage(resource)),
            _ => Matches(pattern, resource),
        });

    /// <summary>A prefix (ending in <c>/</c>) or a glob, matched without regard to case.</summary>
    private static bool Matches(string pattern, string resource) =>
        pattern.EndsWith('/') ? resource.StartsWith(pattern, StringComparison.OrdinalIgnoreCase) : Glob(pattern, resource);

    /// <summary>Docker Hub's rule that a one-segment name is an official image: <c>alpine</c> is <c>library/alpine</c>.</summary>
    private static string OfficialImage(string name) => name.Contains('/', StringComparison.Ordinal) ? name : "library/" + name;

    /// <summary>Whether <paramref name="text"/> matches <paramref name="pattern"/>, where <c>*</c> matches any run of characters; case-insensitive.</summary>
    internal static bool Glob(string pattern, string text)
    {
        int p = 0, t = 0, star = -1, resume = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = t;
            }
            else if (p < pattern.Length && char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(text[t]))
            {
                p++;
                t++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++resume;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }
        return p == pattern.Length;
    }

    [GeneratedRegex("^[A-Za-z0-9._*-]+$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9._*-]+/([A-Za-z0-9._*-]+)?$")]
    private static partial Regex RepoPattern();

    /// <summary>Path components of the distribution spec's grammar (and a registry prefix, which may carry a port), with globs.</summary>
    [GeneratedRegex("^[A-Za-z0-9._:*-]+(/[A-Za-z0-9._*-]+)*/?$")]
    private static partial Regex ImagePattern();
}

/// <summary>
/// What a request needs: one of the scopes in <see cref="AnyOf"/>, for <see cref="Resource"/> (a PyPI project or a repo
/// id, or null for a request about no particular one: the root index, the OSV API, administration).
/// </summary>
public sealed record TokenAccess(TokenScope AnyOf, string? Resource = null)
{
    /// <summary><c>admin/*</c>.</summary>
    public static readonly TokenAccess Admin = new(TokenScope.Admin);

    /// <summary>Any read scope, for no particular resource (the OSV API, reading uploads).</summary>
    public static readonly TokenAccess AnyRead = new(TokenScope.Read | TokenScope.OciRead);

    /// <summary>Putting files into the uploads source.</summary>
    public static readonly TokenAccess UploadsWrite = new(TokenScope.UploadsWrite);

    /// <summary>Whether any of <paramref name="grants"/> allows this; <c>admin</c> implies every other scope, for every resource.</summary>
    public bool AllowedBy(IEnumerable<TokenGrant> grants) => grants.Any(g => g.Scope == TokenScope.Admin || ((AnyOf & g.Scope) != 0 && g.Covers(Resource)));

    /// <summary>Why a token without it is refused, for the client.</summary>
    public string Refusal() => (AnyOf, Resource) switch
    {
        (TokenScope.Admin, _) => "This token may not manage Gatehouse; a token with the admin scope is needed",
        (TokenScope.PypiRead, { } project) => $"This token may not read the PyPI project {project} (scope {TokenScopes.PypiRead})",
        (TokenScope.PypiRead, null) => $"This token may not read PyPI (scope {TokenScopes.PypiRead})",
        (TokenScope.HfRead, { } repo) => $"This token may not read the Hugging Face repo {repo} (scope {TokenScopes.HfRead})",
        (TokenScope.HfRead, null) => $"This token may not read Hugging Face (scope {TokenScopes.HfRead})",
        (TokenScope.OciRead, { } image) => $"This token may not pull the image repository {image} (scope {TokenScopes.OciRead})",
        (TokenScope.OciRead, null) => $"This token may not pull images (scope {TokenScopes.OciRead})",
        (TokenScope.UploadsWrite, _) => $"This token may not upload (scope {TokenScopes.UploadsWrite})",
        _ => $"This token holds none of the scopes {string.Join(", ", TokenScopes.Split(AnyOf).Select(TokenScopes.Name))}",
    };
}
