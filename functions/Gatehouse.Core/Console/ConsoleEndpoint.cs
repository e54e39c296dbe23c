using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Audit;
using Gatehouse.Http;
using Gatehouse.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.WebConsole;

/// <summary>
/// <c>/console</c>: the web console's files (<see cref="ConsoleAssets"/>), and its sign-in at <c>/console/session</c>.
/// <c>POST</c> trades an admin token, sent once in a JSON body, for an HttpOnly, SameSite=Strict session cookie and a
/// CSRF token that the page keeps in memory; <c>GET</c> tells a page whether it is signed in (and its CSRF token);
/// <c>DELETE</c> signs out. The cookie then authenticates the admin API (<see cref="GatehouseHttp"/>), and every
/// state-changing request must carry the CSRF token in <see cref="ConsoleSessions.CsrfHeader"/>.
/// </summary>
public sealed class ConsoleEndpoint(ConsoleAssets assets, ConsoleSessions sessions, EntitlementTokenService tokens, TokenCredentials credentials,
    IAuditLog audit, ILogger<ConsoleEndpoint> log)
{
    /// <summary>The path under <c>/console</c> of the sign-in resource.</summary>
    public const string SessionPath = "session";

    /// <summary>
    /// What a console response may load: its own scripts, styles and data, nothing inline and nothing from elsewhere,
    /// and no page may frame it.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    private const int MaxSignInBytes = 8 * 1024;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task HandleAsync(HttpContext context, string? path)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        if ((path ?? "").Trim('/') == SessionPath)
        {
            headers.CacheControl = "no-store";
            var method = context.Request.Method;
            await (HttpMethods.IsPost(method) ? SignInAsync(context)
                : HttpMethods.IsGet(method) ? CurrentAsync(context)
                : HttpMethods.IsDelete(method) ? SignOutAsync(context)
                : ErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "Use POST /console/session to sign in, GET to read the session, DELETE to sign out"));
            return;
        }
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            await ErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "The console's pages and files are read with GET");
            return;
        }
        if (assets.Find(path) is not { } asset)
        {
            await ErrorAsync(context, StatusCodes.Status404NotFound, $"The console has no file '{path}'");
            return;
        }
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        if (context.Request.Headers.IfNoneMatch.ToString().Split(',').Any(t => t.Trim() == asset.ETag))
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }
        context.Response.ContentType = asset.ContentType;
        context.Response.ContentLength = asset.Content.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(asset.Content, context.RequestAborted);
        }
    }

    private async Task SignInAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type) || !type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            // A form post from another site cannot send JSON without a CORS preflight, which Gatehouse never grants.
            await ErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, "Sign in with a JSON body: {\"token\": \"ght_…\"}");
            return;
        }
        var client = ClientAddress.Text(context.Connection.RemoteIpAddress);
        if (credentials.MustWait(context))
        {
            await ErrorAsync(context, StatusCodes.Status429TooManyRequests, TokenCredentials.TooManyFailures);
            return;
        }
        var presented = await ReadTokenAsync(context);
        if (presented is null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "The body must be a JSON object with the admin token: {\"token\": \"ght_…\"}");
            return;
        }
        var check = await credentials.CheckAsync(context, [presented]);
        if (check.Token is not { } token)
        {
            log.LogWarning("Console sign-in from {Client} refused: {Reason}", client, check.Refusal);
            await ErrorAsync(context, check.Status, check.Refusal!);
            return;
        }
        if (!TokenAccess.Admin.AllowedBy(token.Grants))
        {
            log.LogWarning("Console sign-in from {Client} refused: token {TokenId} has no admin scope", client, token.Id);
            await ErrorAsync(context, StatusCodes.Status403Forbidden,
                $"The token {token.Name} ({token.Id}) is not an admin token; the console needs the admin scope");
            return;
        }
        var expires = (await tokens.GetAsync(token.Id, ct))?.Limits.ExpiresAt;
        var (cookie, session) = await sessions.StartAsync(token.Id, token.Name, expires, ct);
        var caller = new Caller(token.Id, token.Name, client);
        await audit.WriteAsync(new AuditEntry("console.signin", token.Id, $"Console session started until {session.ExpiresAt:u}") { Caller = caller }, ct);
        log.LogInformation("Console sign-in from {Client} with token {TokenId} until {Expires}", client, token.Id, session.ExpiresAt);
        ConsoleSessions.SetCookie(context, cookie, session.ExpiresAt);
        await WriteSessionAsync(context, session);
    }

    private async Task CurrentAsync(HttpContext context)
    {
        var session = ConsoleSessions.CookieOf(context.Request) is { } cookie ? await sessions.FindAsync(cookie, context.RequestAborted) : null;
        if (session is null)
        {
            await ErrorAsync(context, StatusCodes.Status401Unauthorized, "Not signed in");
            return;
        }
        var check = await tokens.CheckByIdAsync(session.TokenId, context.Connection.RemoteIpAddress, context.RequestAborted);
        if (check.Token is null)
        {
            await ErrorAsync(context, StatusCodes.Status401Unauthorized, $"The session's token can no longer be used: {check.Refusal}");
            return;
        }
        await WriteSessionAsync(context, session);
    }

    private async Task SignOutAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        if (ConsoleSessions.CookieOf(context.Request) is not { } cookie || await sessions.FindAsync(cookie, ct) is not { } session)
        {
            ConsoleSessions.ClearCookie(context);
            await ErrorAsync(context, StatusCodes.Status401Unauthorized, "Not signed in");
            return;
        }
        if (!session.CsrfMatches(context.Request.Headers[ConsoleSessions.CsrfHeader]))
        {
            await ErrorAsync(context, StatusCodes.Status403Forbidden, CsrfRefusal);
            return;
        }
        await sessions.EndAsync(cookie, ct);
        await audit.WriteAsync(new AuditEntry("console.signout", session.TokenId, "Console session ended")
        {
            Caller = new Caller(session.TokenId, session.TokenName, ClientAddress.Text(context.Connection.RemoteIpAddress)),
        }, ct);
        ConsoleSessions.ClearCookie(context);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>The refusal of a state-changing request whose CSRF token is missing or wrong.</summary>
    public const string CsrfRefusal = "Missing or wrong CSRF token: a console request that changes something must send the session's X-CSRF-Token";

    private static async Task<string?> ReadTokenAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxSignInBytes)
        {
            return null;
        }
        var buffer = new byte[MaxSignInBytes + 1];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = await context.Request.Body.ReadAsync(buffer.AsMemory(read), context.RequestAborted)) > 0)
        {
            read += n;
        }
        if (read > MaxSignInBytes)
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(buffer.AsSpan(0, read)) is JsonObject body && body["token"] is JsonValue value && value.TryGetValue<string>(out var token)
                && token.Trim() is { Length: > 0 } trimmed ? trimmed : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Task WriteSessionAsync(HttpContext context, ConsoleSession session)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { name = session.TokenName, tokenId = session.TokenId, csrf = session.Csrf, expires = session.ExpiresAt }, Json),
            context.RequestAborted);
    }

    /// <summary>A console error: JSON <c>{"error": …}</c>, with no <c>WWW-Authenticate</c>, so a browser never prompts for a password.</summary>
    internal static Task ErrorAsync(HttpContext context, int status, string reason)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { error = reason }, Json), context.RequestAborted);
    }
}
