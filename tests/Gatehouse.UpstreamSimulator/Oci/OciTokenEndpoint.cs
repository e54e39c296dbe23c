using System.Globalization;
using System.Text;

namespace Gatehouse.UpstreamSimulator.Oci;

/// <summary>
/// <c>GET /token?service=&amp;scope=repository:&lt;name&gt;:pull</c>, as auth.docker.io answers it
/// (https://distribution.github.io/distribution/spec/auth/token/): anonymous or with Basic credentials, one or more
/// scopes; only <c>pull</c> is granted. Refusals use Docker's auth server's <c>{"details"}</c> body.
/// </summary>
internal static class OciTokenEndpoint
{
    public static IResult Issue(HttpContext context, OciState state)
    {
        var query = context.Request.Query;
        if (query["service"].ToString() is { Length: > 0 } service && service != OciRegistryEndpoints.Service)
        {
            return Refuse(StatusCodes.Status400BadRequest, $"unknown service '{service}'");
        }

        var scopes = query["scope"].SelectMany(s => (s ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        var repositories = new HashSet<string>(StringComparer.Ordinal);
        foreach (var scope in scopes)
        {
            // repository:<name>:<actions>; the name may hold a registry host with a port, so split at the first and last colon.
            var first = scope.IndexOf(':', StringComparison.Ordinal);
            var last = scope.LastIndexOf(':');
            if (first <= 0 || last <= first + 1)
            {
                return Refuse(StatusCodes.Status400BadRequest, $"invalid scope '{scope}'");
            }
            if (scope[..first] == "repository" && scope[(last + 1)..].Split(',').Contains("pull"))
            {
                repositories.Add(scope[(first + 1)..last]);
            }
        }

        var credentials = BasicCredentials(context.Request);
        if (credentials is null ? !state.Tokens.AnonymousAllowed : state.Tokens.RequiredCredentials is { } required && required != credentials)
        {
            return Refuse(StatusCodes.Status401Unauthorized, "incorrect username or password");
        }

        state.CountTokenRequest(scopes, credentials is not null);
        var (token, grant) = state.Tokens.Issue(repositories, credentials?.User);
        return Results.Json(new
        {
            token,
            access_token = token,
            expires_in = (int)(grant.ExpiresAt - grant.IssuedAt).TotalSeconds,
            issued_at = grant.IssuedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
        });
    }

    /// <summary>User and password of a Basic header, or null when there is none (or it does not decode).</summary>
    private static (string User, string Password)? BasicCredentials(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? null : (decoded[..colon], decoded[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static IResult Refuse(int status, string details) => Results.Json(new { details }, statusCode: status);
}
