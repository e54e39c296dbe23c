using System.Globalization;
using System.Text.Json;
using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Oci.Auth;

/// <summary>
/// <c>GET /oci/token?service=…&amp;scope=repository:&lt;name&gt;:pull</c>: the token endpoint of the Docker registry token
/// spec (token.md). The client authenticates with Basic (any user name, an entitlement token as the password, as
/// <c>docker login</c> and <c>podman login</c> send it) and gets a signed token whose access holds the requested scopes
/// the entitlement token covers, pull only. A scope it cannot grant is left out, not an error (the spec's rule): the
/// registry then refuses the request and says why.
/// </summary>
public sealed class OciTokenEndpoint(TokenCredentials credentials, OciTokens issuer, IOptions<GatehouseOptions> options, ILogger<OciTokenEndpoint> log)
{
    private readonly OciOptions _oci = options.Value.Oci;
    private readonly string _realm = options.Value.Auth.Realm;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method))
        {
            context.Response.Headers.Allow = "GET";
            await OciErrors.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, OciErrors.Unsupported, "The token endpoint answers GET with Basic authentication");
            return;
        }
        if (request.Query["service"].ToString() is { Length: > 0 } service && service != _oci.Service)
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status400BadRequest, OciErrors.Unsupported, $"This token endpoint issues tokens for the service '{_oci.Service}' only");
            return;
        }
        var candidates = RequestCredentials.Candidates(request);
        var check = candidates.Count == 0
            ? TokenCheck.Refused(StatusCodes.Status401Unauthorized, "Gatehouse needs an entitlement token: log in with any user name and the token as the password")
            : await credentials.CheckAsync(context, candidates);
        if (check.Token is not { } token)
        {
            if (check.Status == StatusCodes.Status401Unauthorized)
            {
                context.Response.Headers.WWWAuthenticate = $"Basic realm=\"{_realm}\"";
            }
            var code = check.Status switch { StatusCodes.Status401Unauthorized => OciErrors.Unauthorized, StatusCodes.Status429TooManyRequests => OciErrors.TooManyRequests, _ => OciErrors.Denied };
            log.LogInformation("OCI token refused to {Client}: {Status} {Reason}", ClientAddress.Text(context.Connection.RemoteIpAddress), check.Status, check.Refusal);
            await OciErrors.WriteAsync(context, check.Status, code, check.Refusal!);
            return;
        }
        Caller.Set(context, new Caller(token.Id, token.Name, ClientAddress.Text(context.Connection.RemoteIpAddress)));
        var requested = OciAccess.SplitScopes(request.Query["scope"]);
        var granted = new List<OciAccess>();
        var refused = new List<string>();
        foreach (var scope in requested)
        {
            if (Grant(scope, token) is { } access)
            {
                granted.Add(access);
            }
            else
            {
                refused.Add(scope);
            }
        }
        var issued = await issuer.IssueAsync(token.Id, granted, context.RequestAborted);
        log.LogInformation("OCI token issued to entitlement token {TokenId} for {Granted}; left out {Refused}", token.Id,
            string.Join(' ', granted.Select(a => OciAccess.PullScope(a.Name))), string.Join(' ', refused));
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(new
        {
            token = issued.Token,
            access_token = issued.Token,
            expires_in = (int)issued.Lifetime.TotalSeconds,
            issued_at = issued.IssuedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        }, JsonSerializerOptions.Web, context.RequestAborted);
    }

    /// <summary>Pull on a valid repository name the entitlement token's <c>oci:read</c> covers; null for anything else (push, delete, catalog).</summary>
    private OciAccess? Grant(string scope, ValidatedToken token)
    {
        if (OciAccess.Parse(scope) is not { Type: OciAccess.Repository } access || !access.Actions.Any(a => a is OciAccess.Pull or "*")
            || OciRepository.Resolve(access.Name, _oci, out _) is null)
        {
            return null;
        }
        return new TokenAccess(TokenScope.OciRead, access.Name).AllowedBy(token.Grants) ? OciAccess.PullOf(access.Name) : null;
    }
}
