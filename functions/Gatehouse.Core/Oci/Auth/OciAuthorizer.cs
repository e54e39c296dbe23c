using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Oci.Auth;

/// <summary>
/// Decides every <c>/v2/</c> request. It accepts a registry token from <see cref="OciTokenEndpoint"/> whose access holds
/// pull on the repository (its entitlement token is checked again by id, so a revocation holds within the token cache's
/// second), or the entitlement token itself (Basic with any user name, or Bearer). Refusals take the registry's shape:
/// 401 with the Bearer challenge (distribution's token.md; RFC 6750 section 3 for <c>error</c>), 403 DENIED naming what
/// the token lacks, 429 TOOMANYREQUESTS for an address that failed too often.
/// </summary>
public sealed class OciAuthorizer(TokenCredentials credentials, OciTokens registryTokens, PublicUrls urls, IOptions<GatehouseOptions> options, ILogger<OciAuthorizer> log)
{
    /// <summary>The token endpoint's path; the challenge's realm is it under the public base URL.</summary>
    public const string TokenPath = "/oci/token";

    private readonly OciOptions _oci = options.Value.Oci;

    /// <summary>
    /// True when the request may go on, with <see cref="Caller"/> set for it; else the answer is written. A null
    /// <paramref name="repository"/> is <c>GET /v2/</c>, which any valid credential passes. <see cref="Caller.Ambient"/>
    /// is the caller's to set from <see cref="Caller.Of"/>: a value set inside this method would not flow back out.
    /// </summary>
    public async Task<bool> AuthorizeAsync(HttpContext context, OciRepository? repository, CancellationToken cancellationToken)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && IsRegistryToken(header["Bearer ".Length..].Trim()) is { } jwt)
        {
            return await AuthorizeRegistryTokenAsync(context, repository, jwt, cancellationToken);
        }
        var candidates = RequestCredentials.Candidates(context.Request);
        if (candidates.Count == 0)
        {
            await ChallengeAsync(context, repository, null, "Gatehouse needs an entitlement token: log in with any user name and the token as the password");
            return false;
        }
        var check = await credentials.CheckAsync(context, candidates);
        return check.Token is { } token
            ? await AllowAsync(context, repository, token)
            : await RefuseAsync(context, repository, check);
    }

    /// <summary>A JWT (three dot-separated parts) rather than an entitlement token; null when it is the latter.</summary>
    private static string? IsRegistryToken(string bearer) =>
        !bearer.StartsWith(EntitlementTokenService.Prefix, StringComparison.Ordinal) && bearer.Count(c => c == '.') == 2 ? bearer : null;

    private async Task<bool> AuthorizeRegistryTokenAsync(HttpContext context, OciRepository? repository, string jwt, CancellationToken cancellationToken)
    {
        if (credentials.MustWait(context))
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, OciErrors.TooManyRequests, TokenCredentials.TooManyFailures);
            return false;
        }
        var check = await registryTokens.CheckAsync(jwt, cancellationToken);
        if (check.Subject is not { } tokenId)
        {
            // An expired token of ours is the normal end of its life; anything else was not issued by Gatehouse.
            if (!check.Expired)
            {
                credentials.Failed(context);
            }
            log.LogInformation("OCI request {Method} {Path} refused: {Reason}", context.Request.Method, context.Request.Path, check.Refusal);
            await ChallengeAsync(context, repository, "invalid_token", check.Refusal!);
            return false;
        }
        var entitlement = await credentials.CheckByIdAsync(context, tokenId);
        if (entitlement.Token is not { } token)
        {
            return await RefuseAsync(context, repository, entitlement, "invalid_token");
        }
        if (repository is not null && !check.Access.Any(a => Pulls(a, repository)))
        {
            // A token for other repositories: when the entitlement covers this one, a new token will do, so challenge;
            // else the refusal below says what the entitlement token lacks.
            if (Needed(repository).AllowedBy(token.Grants))
            {
                await ChallengeAsync(context, repository, "insufficient_scope", $"The registry token does not grant pull on {repository.Name}; request one with its scope");
                return false;
            }
        }
        return await AllowAsync(context, repository, token);
    }

    /// <summary>Whether an access entry grants pull on the repository, naming it as the client does or as it resolves (alpine = library/alpine).</summary>
    private bool Pulls(OciAccess access, OciRepository repository) =>
        access.Type == OciAccess.Repository && access.Actions.Contains(OciAccess.Pull, StringComparer.Ordinal)
        && (access.Name == repository.Name || (OciRepository.Resolve(access.Name, _oci, out _) is { } named
            && named.Registry.Prefix == repository.Registry.Prefix && named.UpstreamName == repository.UpstreamName));

    private static TokenAccess Needed(OciRepository? repository) => new(TokenScope.OciRead, repository?.Name);

    /// <summary>Lets a live entitlement token through when its grants cover the repository (any token for <c>GET /v2/</c>).</summary>
    private async Task<bool> AllowAsync(HttpContext context, OciRepository? repository, ValidatedToken token)
    {
        if (repository is not null && !Needed(repository).AllowedBy(token.Grants))
        {
            var reason = Needed(repository).Refusal();
            log.LogInformation("OCI request {Method} {Path} of token {TokenId} refused: {Reason}", context.Request.Method, context.Request.Path, token.Id, reason);
            await OciErrors.WriteAsync(context, StatusCodes.Status403Forbidden, OciErrors.Denied, reason, new[] { Detail(repository) });
            return false;
        }
        Caller.Set(context, new Caller(token.Id, token.Name, ClientAddress.Text(context.Connection.RemoteIpAddress)));
        return true;
    }

    private async Task<bool> RefuseAsync(HttpContext context, OciRepository? repository, TokenCheck check, string? error = null)
    {
        log.LogInformation("OCI request {Method} {Path} refused: {Status} {Reason}", context.Request.Method, context.Request.Path, check.Status, check.Refusal);
        switch (check.Status)
        {
            case StatusCodes.Status401Unauthorized:
                await ChallengeAsync(context, repository, error, check.Refusal!);
                break;
            case StatusCodes.Status429TooManyRequests:
                await OciErrors.WriteAsync(context, check.Status, OciErrors.TooManyRequests, check.Refusal!);
                break;
            default:
                await OciErrors.WriteAsync(context, check.Status, OciErrors.Denied, check.Refusal!);
                break;
        }
        return false;
    }

    /// <summary>401 with <c>WWW-Authenticate: Bearer realm=…,service=…[,scope=…][,error=…]</c>, which sends clients to the token endpoint.</summary>
    private Task ChallengeAsync(HttpContext context, OciRepository? repository, string? error, string message)
    {
        context.Response.Headers.WWWAuthenticate = Challenge(repository, error);
        return OciErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, OciErrors.Unauthorized, message,
            repository is null ? null : new[] { Detail(repository) });
    }

    /// <summary>The Bearer challenge for a repository (or for <c>GET /v2/</c> when null).</summary>
    public string Challenge(OciRepository? repository, string? error = null)
    {
        var challenge = $"Bearer realm=\"{urls.Origin}{TokenPath}\",service=\"{_oci.Service}\"";
        if (repository is not null)
        {
            challenge += $",scope=\"{OciAccess.PullScope(repository.Name)}\"";
        }
        return error is null ? challenge : challenge + $",error=\"{error}\"";
    }

    /// <summary>The spec's detail of an auth error: what was asked for.</summary>
    private static object Detail(OciRepository repository) => new { Type = OciAccess.Repository, repository.Name, Action = OciAccess.Pull };
}
