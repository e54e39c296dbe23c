using System.Globalization;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tokens;

/// <summary>
/// Checks the entitlement tokens a request presents (<see cref="RequestCredentials.Candidates"/>: Basic with the token as
/// user or password, as pip and <c>docker login</c> send it, or Bearer), for every route: the per-address failure limit
/// first (<see cref="AuthFailureLimiter"/>), then each candidate secret; a 401 counts as a failure of the address.
/// </summary>
public sealed class TokenCredentials(EntitlementTokenService tokens, AuthFailureLimiter failures)
{
    public const string TooManyFailures = "Too many failed authentications from this address; retry later";

    /// <summary>The entitlement token that checked out, or the status and reason to refuse with (401, 403, or 429 with Retry-After set).</summary>
    public async Task<TokenCheck> CheckAsync(HttpContext context, IReadOnlyList<string> candidates)
    {
        if (MustWait(context))
        {
            return TokenCheck.Refused(StatusCodes.Status429TooManyRequests, TooManyFailures);
        }
        var address = context.Connection.RemoteIpAddress;
        TokenCheck? refused = null;
        foreach (var candidate in candidates)
        {
            var check = await tokens.CheckAsync(candidate, address, context.RequestAborted);
            if (check.Token is not null)
            {
                return check;
            }
            // A live token that may not be used now says more than another candidate that is no token at all.
            if (refused is null || check.Status == StatusCodes.Status403Forbidden)
            {
                refused = check;
            }
        }
        refused ??= TokenCheck.Refused(StatusCodes.Status401Unauthorized, "Gatehouse needs an entitlement token");
        if (refused.Status == StatusCodes.Status401Unauthorized)
        {
            Failed(context);
        }
        return refused;
    }

    /// <summary>The entitlement token a registry token was issued for, checked again (revoked, expired, address, limits).</summary>
    public Task<TokenCheck> CheckByIdAsync(HttpContext context, string id) =>
        tokens.CheckByIdAsync(id, context.Connection.RemoteIpAddress, context.RequestAborted);

    /// <summary>Counts a presented credential that was no credential of Gatehouse's (a forged or tampered registry token).</summary>
    public void Failed(HttpContext context) => failures.Failed(ClientAddress.Text(context.Connection.RemoteIpAddress));

    /// <summary>Whether the address must wait; sets Retry-After when it must.</summary>
    public bool MustWait(HttpContext context)
    {
        if (failures.RetryAfter(ClientAddress.Text(context.Connection.RemoteIpAddress)) is not { } wait)
        {
            return false;
        }
        context.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        return true;
    }
}
