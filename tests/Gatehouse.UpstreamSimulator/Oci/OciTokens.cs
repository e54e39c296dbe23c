using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Gatehouse.UpstreamSimulator.Oci;

/// <summary>What a token allows: pull from these repositories until it expires.</summary>
public sealed record OciGrant(IReadOnlySet<string> Repositories, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt, string? User);

/// <summary>
/// The token server of the Docker registry token-auth spec (https://distribution.github.io/distribution/spec/auth/token/),
/// as auth.docker.io plays it: opaque random tokens remembered with their scope, anonymous pulls allowed, Basic
/// credentials checked only when a test sets some.
/// </summary>
public sealed class OciTokens(TimeProvider timeProvider)
{
    public const int DefaultLifetimeSeconds = 300;

    private readonly ConcurrentDictionary<string, OciGrant> _grants = new(StringComparer.Ordinal);
    private int _lifetimeSeconds = DefaultLifetimeSeconds;

    /// <summary>Seconds a new token lives (<c>expires_in</c>).</summary>
    public int LifetimeSeconds
    {
        get => Volatile.Read(ref _lifetimeSeconds);
        set => Volatile.Write(ref _lifetimeSeconds, Math.Max(1, value));
    }

    /// <summary>When set, a token request with other Basic credentials is refused (anonymous ones still get tokens unless <see cref="AnonymousAllowed"/> is off).</summary>
    public (string User, string Password)? RequiredCredentials { get; set; }

    public bool AnonymousAllowed { get; set; } = true;

    public DateTimeOffset Now => timeProvider.GetUtcNow();

    /// <summary>A new token for the repositories (already validated) and its grant.</summary>
    public (string Token, OciGrant Grant) Issue(IReadOnlySet<string> repositories, string? user)
    {
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = Now;
        var grant = new OciGrant(repositories, now, now.AddSeconds(LifetimeSeconds), user);
        _grants[token] = grant;
        return (token, grant);
    }

    /// <summary>The live grant of a token, or null (unknown or expired).</summary>
    public OciGrant? Find(string token) =>
        _grants.TryGetValue(token, out var grant) && grant.ExpiresAt > Now ? grant : null;

    /// <summary>Forget every token and go back to anonymous pulls with the default lifetime.</summary>
    public void Reset()
    {
        _grants.Clear();
        RequiredCredentials = null;
        AnonymousAllowed = true;
        LifetimeSeconds = DefaultLifetimeSeconds;
    }
}
