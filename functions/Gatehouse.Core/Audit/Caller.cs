using Microsoft.AspNetCore.Http;

namespace Gatehouse.Audit;

/// <summary>
/// Who made a request, as the audit records it: the entitlement token's id and name (never its secret) and the client's
/// IP address. Set once the request's token is checked; null for work no request started (a timer, a rescan).
/// </summary>
public sealed record Caller(string? TokenId, string? TokenName, string? ClientIp)
{
    private static readonly object Key = new();
    private static readonly AsyncLocal<Caller?> AmbientCaller = new();

    /// <summary>The caller of the request, once its token was checked.</summary>
    public static Caller? Of(HttpContext context) => context.Items.TryGetValue(Key, out var caller) ? caller as Caller : null;

    /// <summary>Records the caller of the request, for the audit and the limits.</summary>
    public static void Set(HttpContext context, Caller caller) => context.Items[Key] = caller;

    /// <summary>
    /// The caller of the request whose work is running, for code that has no <see cref="HttpContext"/> at hand (the
    /// audit of a decision). Set where the request's handling starts, so it flows into everything that handling awaits;
    /// null outside a request. (<c>IHttpContextAccessor</c> is not set in the Functions isolated worker.)
    /// </summary>
    public static Caller? Ambient
    {
        get => AmbientCaller.Value;
        set => AmbientCaller.Value = value;
    }
}
