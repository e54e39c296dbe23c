namespace Gatehouse.Tokens;

/// <summary>What a token may do.</summary>
public enum TokenScope
{
    /// <summary>Download through the proxy.</summary>
    Read = 0,
    /// <summary>Manage tokens and verdicts, and download.</summary>
    Admin = 1,
}

/// <summary>A stored entitlement token, as listed: never the secret, never the hash.</summary>
public sealed record EntitlementToken(string Id, string Name, TokenScope Scope, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>A freshly created token: the only time its secret exists outside the caller.</summary>
public sealed record CreatedToken(EntitlementToken Token, string Secret);

/// <summary>A presented token that checked out: who it is (never the secret) and what it may do.</summary>
public sealed record ValidatedToken(string Id, string Name, TokenScope Scope);
