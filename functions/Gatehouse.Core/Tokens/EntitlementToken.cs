namespace Gatehouse.Tokens;

/// <summary>
/// What a token may do. A token may hold several scopes; <see cref="Read"/> is the scope tokens created before scopes
/// were split had (PyPI and Hugging Face downloads), and <see cref="Admin"/> implies every other scope (as an administrator may
/// also upload). <see cref="Read"/> does not include <see cref="OciRead"/>: rows of tokens of before store the flags'
/// name ("Read") and are read back through it, so widening it would silently let every such token pull images.
/// </summary>
[Flags]
public enum TokenScope
{
    /// <summary>Nothing: what a request that needs no token asks for.</summary>
    None = 0,
    /// <summary><c>pypi:read</c>: the PyPI remote (<c>/pypi/*</c>).</summary>
    PypiRead = 1,
    /// <summary><c>hf:read</c>: the Hugging Face remote (<c>/hf/*</c>).</summary>
    HfRead = 2,
    /// <summary>Every read scope: <c>pypi:read</c> and <c>hf:read</c> (stored as <c>Read</c> by tokens of before).</summary>
    Read = PypiRead | HfRead,
    /// <summary><c>uploads:write</c>: putting files into the uploads source.</summary>
    UploadsWrite = 4,
    /// <summary><c>admin</c>: manage tokens, policy, prefetch, the OSV mirror, bills of materials; implies every read.</summary>
    Admin = 8,
    /// <summary><c>oci:read</c>: pulling container images (<c>/v2/*</c>).</summary>
    OciRead = 16,
}

/// <summary>The spelling of each scope on the command line, in the admin API and in the table.</summary>
public static class TokenScopes
{
    public const string PypiRead = "pypi:read";
    public const string HfRead = "hf:read";
    public const string UploadsWrite = "uploads:write";
    public const string Admin = "admin";
    public const string OciRead = "oci:read";

    /// <summary>The scopes as the CLI's help and every error about an unknown scope list them.</summary>
    public const string Listing = $"{PypiRead}, {HfRead}, {OciRead}, {UploadsWrite}, {Admin}, or read (pypi:read and hf:read, as tokens of before)";

    /// <summary>Every scope by its name; <c>read</c> stands for both read scopes, as tokens of before were created.</summary>
    public static readonly IReadOnlyDictionary<string, TokenScope> ByName = new Dictionary<string, TokenScope>(StringComparer.OrdinalIgnoreCase)
    {
        [PypiRead] = TokenScope.PypiRead,
        [HfRead] = TokenScope.HfRead,
        [UploadsWrite] = TokenScope.UploadsWrite,
        [Admin] = TokenScope.Admin,
        [OciRead] = TokenScope.OciRead,
        ["read"] = TokenScope.Read,
    };

    /// <summary>The name of a single scope.</summary>
    public static string Name(TokenScope scope) => scope switch
    {
        TokenScope.PypiRead => PypiRead,
        TokenScope.HfRead => HfRead,
        TokenScope.UploadsWrite => UploadsWrite,
        TokenScope.Admin => Admin,
        TokenScope.OciRead => OciRead,
        _ => throw new ArgumentOutOfRangeException(nameof(scope), scope, "not a single scope"),
    };

    /// <summary>The single scopes a set of flags holds, in a stable order.</summary>
    public static IEnumerable<TokenScope> Split(TokenScope scopes) =>
        new[] { TokenScope.PypiRead, TokenScope.HfRead, TokenScope.OciRead, TokenScope.UploadsWrite, TokenScope.Admin }.Where(s => scopes.HasFlag(s));
}

/// <summary>
/// The limits a token carries besides its scopes (Cloudsmith's entitlement-token restrictions are the model): when it
/// expires, how many files it may download, how many bytes per rolling day, and from which client addresses.
/// </summary>
public sealed record TokenLimits(DateTimeOffset? ExpiresAt = null, long? MaxDownloads = null, long? MaxBytesPerDay = null, IReadOnlyList<string>? AllowedIps = null)
{
    /// <summary>No limits at all.</summary>
    public static readonly TokenLimits None = new();

    /// <summary>The CIDR ranges a client must come from; empty means any address.</summary>
    public IReadOnlyList<string> AllowedIps { get; init; } = AllowedIps ?? [];
}

/// <summary>What a token has been used for, as counted by every instance.</summary>
public sealed record TokenUsage(long Downloads, long Bytes, long BytesLastDay, DateTimeOffset? LastUsedAt)
{
    /// <summary>A token never used.</summary>
    public static readonly TokenUsage Unused = new(0, 0, 0, null);
}

/// <summary>A stored entitlement token, as listed: never the secret, never the hash.</summary>
public sealed record EntitlementToken(string Id, string Name, TokenScope Scope, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    /// <summary>The scopes with the projects or repos each is limited to.</summary>
    public IReadOnlyList<TokenGrant> Grants { get; init; } = TokenGrant.Unrestricted(Scope);

    public TokenLimits Limits { get; init; } = TokenLimits.None;

    public TokenUsage Usage { get; init; } = TokenUsage.Unused;

    /// <summary>When the secret was last rotated, and until when the secret before it is still accepted.</summary>
    public DateTimeOffset? RotatedAt { get; init; }

    public DateTimeOffset? PreviousSecretValidUntil { get; init; }
}

/// <summary>A freshly created or rotated token: the only time its secret exists outside the caller.</summary>
public sealed record CreatedToken(EntitlementToken Token, string Secret);

/// <summary>A presented token that checked out: who it is (never the secret) and what it may do.</summary>
public sealed record ValidatedToken(string Id, string Name, TokenScope Scope)
{
    public IReadOnlyList<TokenGrant> Grants { get; init; } = TokenGrant.Unrestricted(Scope);
}
