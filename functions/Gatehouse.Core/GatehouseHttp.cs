using System.Globalization;
using Azure;
using Gatehouse.Audit;
using Gatehouse.Admin;
using Gatehouse.Bom;
using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.HuggingFace;
using Gatehouse.HuggingFace.Prefetch;
using Gatehouse.Policy;
using Gatehouse.PyPI;
using Gatehouse.Quarantine;
using Gatehouse.Rescans;
using Gatehouse.Tokens;
using Gatehouse.Uploads;
using Gatehouse.Vulnerabilities;
using Gatehouse.WebConsole;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse;

/// <summary>
/// Entry points for every HTTP route; both hosts call these and nothing else. Each checks the entitlement first, and
/// a storage account that cannot be reached is a 503 to come back, not a 500.
/// </summary>
public sealed class GatehouseHttp(
    EntitlementTokenService tokens,
    SimpleIndexEndpoint simple,
    FilesEndpoint files,
    JsonApiEndpoint json,
    ProvenanceEndpoint provenance,
    AdminTokensEndpoint admin,
    HuggingFaceEndpoint huggingFace,
    PrefetchEndpoint prefetch,
    AdminPolicyEndpoint policy,
    AdminOsvEndpoint osv,
    OsvApiEndpoint osvApi,
    IOptions<GatehouseOptions> options,
    ILogger<GatehouseHttp> log,
    AdminBomEndpoint bom,
    AdminAuditEndpoint audit,
    AdminQuarantineEndpoint quarantine,
    AdminOpenApiEndpoint openApi,
    TokenCredentials credentials,
    UploadsEndpoint uploads,
    AdminRescanEndpoint rescan,
    ConsoleEndpoint console,
    ConsoleSessions sessions,
    AdminStatsEndpoint stats,
    AdminArtifactsEndpoint artifacts,
    Oci.OciEndpoint oci,
    Oci.Auth.OciTokenEndpoint ociToken)
{
    private readonly string _realm = options.Value.Auth.Realm;
    private readonly int _retryAfter = options.Value.Scan.RetryAfterSeconds;

    public Task PypiSimple(HttpContext context, string? path) =>
        RunAsync(context, PyPIAccess(path), () => simple.HandleAsync(context, path));

    public Task PypiFiles(HttpContext context, DurableTaskClient durable, string? path) =>
        RunAsync(context, PyPIAccess(path), () => files.HandleAsync(context, durable, path));

    public Task PypiIntegrity(HttpContext context, string? path) =>
        RunAsync(context, PyPIAccess(path), () => provenance.HandleAsync(context, path));

    public Task PypiJson(HttpContext context, string project, string? rest) =>
        RunAsync(context, new TokenAccess(TokenScope.PypiRead, project), () => json.HandleAsync(context, project, rest));

    /// <summary>The Hugging Face Hub API under <c>/hf</c>; clients send the entitlement token as <c>Authorization: Bearer</c>.</summary>
    public Task HuggingFace(HttpContext context, DurableTaskClient durable, string? path) =>
        RunAsync(context, HuggingFaceAccess(context), () => huggingFace.HandleAsync(context, durable), huggingFace: true);

    /// <summary>Token administration: list, create, rotate ({id}/rotate), change limits, revoke. Admin tokens only.</summary>
    public Task AdminTokens(HttpContext context, string? id, string? operation = null) =>
        RunAsync(context, TokenScope.Admin, () => admin.HandleAsync(context, id, operation));

    /// <summary>Whole-repository prefetch: start one (POST) or read its progress and verdicts (GET {id}). Admin tokens only.</summary>
    public Task AdminPrefetch(HttpContext context, DurableTaskClient durable, string source, string? id) =>
        RunAsync(context, TokenScope.Admin, () => prefetch.HandleAsync(context, durable, source, id));

    /// <summary>The policy in force (GET), a new one applied (PUT), or a candidate tried (POST dry-run). Admin tokens only.</summary>
    public Task AdminPolicy(HttpContext context, string? action) =>
        RunAsync(context, TokenScope.Admin, () => policy.HandleAsync(context, action));

    /// <summary>The OSV mirror's state (GET) or a refresh from the export now (POST refresh). Admin tokens only.</summary>
    public Task AdminOsv(HttpContext context, string? operation) =>
        RunAsync(context, TokenScope.Admin, () => osv.HandleAsync(context, operation));

    /// <summary>The OSV-compatible API (query, querybatch, vulns/{id}) over the mirror and Gatehouse's refusals; read tokens.</summary>
    public Task OsvApi(HttpContext context, string? path) =>
        RunAsync(context, TokenAccess.AnyRead, () => osvApi.HandleAsync(context, path));
    /// <summary>The CycloneDX bill of materials of a PyPI project or Hugging Face repository, with every file's verdict. Admin tokens only.</summary>
    public Task AdminBom(HttpContext context, string remote, string? name) =>
        RunAsync(context, TokenScope.Admin, () => bom.HandleAsync(context, remote, name));

    /// <summary>Runs <paramref name="next"/> (a host's own admin endpoint, such as its metrics) for an admin token only.</summary>
    public Task AdminOnlyAsync(HttpContext context, Func<Task> next) => RunAsync(context, TokenScope.Admin, next);

    /// <summary>The audit trail (GET, by artifact, token, time and action) and who downloaded an artifact (GET affected). Admin tokens only.</summary>
    public Task AdminAudit(HttpContext context, string? operation) =>
        RunAsync(context, TokenScope.Admin, () => audit.HandleAsync(context, operation));

    /// <summary>Refused artifacts listed (GET), one shown (GET {sha256}), or released, blocked, re-scanned or lifted (POST {sha256}/{operation}). Admin tokens only.</summary>
    public Task AdminQuarantine(HttpContext context, DurableTaskClient durable, string? sha256, string? operation) =>
        RunAsync(context, TokenScope.Admin, () => quarantine.HandleAsync(context, durable, sha256, operation));

    /// <summary>The admin API's OpenAPI document. Admin tokens only.</summary>
    public Task AdminOpenApi(HttpContext context) =>
        RunAsync(context, TokenScope.Admin, () => openApi.HandleAsync(context));

    /// <summary>A team's uploaded file, served once scanned and allowed (read tokens), or written by PUT (uploads:write).</summary>
    public Task Uploads(HttpContext context, DurableTaskClient durable, string? path) =>
        RunAsync(context, HttpMethods.IsPut(context.Request.Method) ? TokenAccess.UploadsWrite : TokenAccess.AnyRead, () => uploads.HandleAsync(context, durable, path));

    /// <summary>Starts a rescan of cached verdicts (POST) or reports its progress (GET). Admin tokens only.</summary>
    public Task AdminRescan(HttpContext context, DurableTaskClient durable, string? id) =>
        RunAsync(context, TokenScope.Admin, () => rescan.HandleAsync(context, durable, id));

    /// <summary>
    /// The web console: its files and pages to anyone (they hold no data), and its sign-in, which checks the admin token
    /// itself. What the console shows comes from the admin API, through the session cookie it signs in to.
    /// </summary>
    public Task Console(HttpContext context, string? path) =>
        StorageGuardedAsync(context, () => console.HandleAsync(context, path), ConsoleEndpoint.ErrorAsync);

    /// <summary>
    /// The OCI distribution API under <c>/v2/</c> (pull only): it checks its own credentials, a Gatehouse registry token
    /// or an entitlement token as Basic, and answers refusals in the spec's JSON with the token challenge.
    /// </summary>
    public Task Oci(HttpContext context, DurableTaskClient durable, string? path) =>
        StorageGuardedAsync(context, () => oci.HandleAsync(context, durable, path),
            (c, status, message) => Gatehouse.Oci.OciErrors.WriteAsync(c, status, Gatehouse.Oci.OciErrors.Unknown, message));

    /// <summary><c>GET /v2/</c>: the API root that clients probe for the auth challenge (and <c>docker login</c> checks credentials at).</summary>
    public Task OciRoot(HttpContext context) =>
        StorageGuardedAsync(context, () => oci.RootAsync(context),
            (c, status, message) => Gatehouse.Oci.OciErrors.WriteAsync(c, status, Gatehouse.Oci.OciErrors.Unknown, message));

    /// <summary>The registry token endpoint that <c>docker login</c>, podman and skopeo trade an entitlement token at.</summary>
    public Task OciToken(HttpContext context) =>
        StorageGuardedAsync(context, () => ociToken.HandleAsync(context),
            (c, status, message) => Gatehouse.Oci.OciErrors.WriteAsync(c, status, Gatehouse.Oci.OciErrors.Unknown, message));

    /// <summary>Runs an endpoint that authorises requests itself; storage that cannot be reached is a 503 in the endpoint's own error shape.</summary>
    private async Task StorageGuardedAsync(HttpContext context, Func<Task> handle, Func<HttpContext, int, string, Task> error)
    {
        try
        {
            await handle();
        }
        catch (Exception e) when (StorageUnavailable(e) && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            log.LogError(e, "Storage unavailable while answering {Method} {Path}; answered 503", context.Request.Method, context.Request.Path);
            context.Response.Clear();
            context.Response.Headers.RetryAfter = _retryAfter.ToString(CultureInfo.InvariantCulture);
            await error(context, StatusCodes.Status503ServiceUnavailable, "Gatehouse's storage is unavailable; retry later");
        }
    }
    /// <summary>The console's overview: references by decision, decisions per day, the newest refusals, live counters. Admin tokens only.</summary>
    public Task AdminStats(HttpContext context) =>
        RunAsync(context, TokenScope.Admin, () => stats.HandleAsync(context));

    /// <summary>The console's artifact search by sha256, subject, file, version or token. Admin tokens only.</summary>
    public Task AdminArtifacts(HttpContext context) =>
        RunAsync(context, TokenScope.Admin, () => artifacts.HandleAsync(context));

    public Task Health(HttpContext context)
    {
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync("ok\n", context.RequestAborted);
    }

    /// <summary>
    /// Runs <paramref name="handle"/> for a caller whose token has the scope. When storage (the account, or the task hub
    /// on it) cannot be reached, the request is answered 503 with <c>Retry-After</c>, in the client's error shape, unless
    /// the answer had begun.
    /// </summary>
    private Task RunAsync(HttpContext context, TokenScope needed, Func<Task> handle, bool huggingFace = false) =>
        RunAsync(context, new TokenAccess(needed), handle, huggingFace);

    private async Task RunAsync(HttpContext context, TokenAccess needed, Func<Task> handle, bool huggingFace = false)
    {
        try
        {
            if (await AuthorizeAsync(context, needed, huggingFace))
            {
                // Flows into everything the handling awaits, so the audit names the caller without a context at hand.
                Caller.Ambient = Caller.Of(context);
                await handle();
            }
        }
        catch (Exception e) when (StorageUnavailable(e) && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            log.LogError(e, "Storage unavailable while answering {Method} {Path}; answered 503", context.Request.Method, context.Request.Path);
            context.Response.Clear();
            context.Response.Headers.RetryAfter = _retryAfter.ToString(CultureInfo.InvariantCulture);
            const string Reason = "Gatehouse's storage is unavailable; retry later";
            await (huggingFace
                ? HuggingFaceEndpoint.WriteJsonErrorAsync(context, StatusCodes.Status503ServiceUnavailable, null, Reason)
                : HttpResponses.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, Reason));
        }
    }

    /// <summary>
    /// An Azure Storage call that failed for want of the service (unreachable, timed out, or a 5xx after the SDK's
    /// retries) rather than for what was asked.
    /// </summary>
    internal static bool StorageUnavailable(Exception e) => e switch
    {
        RequestFailedException failed => failed.Status is 0 or >= 500,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(StorageUnavailable),
        HttpRequestException or TimeoutException => true,
        _ => false,
    };

    /// <summary>
    /// Lets the request through when a presented token checks out (<see cref="TokenCredentials.CheckAsync"/>) and
    /// holds <paramref name="needed"/>. Refusals: 401 with a Basic challenge (so pip and keyring prompt) for no token, an
    /// unknown, revoked or expired one; 403 for a live token that may not do this (scope, client address, download or
    /// bandwidth limit); 429 with <c>Retry-After</c> for an address that failed too often
    /// (<see cref="AuthFailureLimiter"/>), before any token it sends is looked up. Under <c>/hf</c> the refusal takes the
    /// Hub's error shape (JSON <c>error</c>, <c>X-Error-Message</c>), which is what Hugging Face clients show their users.
    /// </summary>
    private async Task<bool> AuthorizeAsync(HttpContext context, TokenAccess needed, bool huggingFace = false)
    {
        var candidates = RequestCredentials.Candidates(context.Request);
        if (candidates.Count == 0 && needed == TokenAccess.Admin && ConsoleSessions.CookieOf(context.Request) is { } cookie)
        {
            return await AuthorizeSessionAsync(context, cookie, needed);
        }
        if (candidates.Count == 0)
        {
            await RefuseAsync(context, StatusCodes.Status401Unauthorized, "Gatehouse needs an entitlement token (Basic auth or Bearer)", huggingFace);
            return false;
        }
        var check = await credentials.CheckAsync(context, candidates);
        if (check.Token is not { } token)
        {
            await RefuseAsync(context, check.Status, check.Refusal!, huggingFace);
            return false;
        }
        if (!needed.AllowedBy(token.Grants))
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden, needed.Refusal(), huggingFace);
            return false;
        }
        Caller.Set(context, new Caller(token.Id, token.Name, ClientAddress.Text(context.Connection.RemoteIpAddress)));
        return true;
    }

    /// <summary>
    /// Lets an admin request through on a console session cookie (<see cref="ConsoleSessions"/>): the session must be
    /// live, its token still live and admin, and a request that may change something (any method but GET and HEAD)
    /// must carry the session's CSRF token. Refusals are JSON with no challenge, so the browser does not prompt.
    /// </summary>
    private async Task<bool> AuthorizeSessionAsync(HttpContext context, string cookie, TokenAccess needed)
    {
        var ct = context.RequestAborted;
        if (await sessions.FindAsync(cookie, ct) is not { } session)
        {
            await ConsoleEndpoint.ErrorAsync(context, StatusCodes.Status401Unauthorized, "The console session is unknown or has ended; sign in again");
            return false;
        }
        var method = context.Request.Method;
        if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method) && !session.CsrfMatches(context.Request.Headers[ConsoleSessions.CsrfHeader]))
        {
            log.LogWarning("Console request {Method} {Path} of token {TokenId} refused: CSRF token missing or wrong", method, context.Request.Path, session.TokenId);
            await ConsoleEndpoint.ErrorAsync(context, StatusCodes.Status403Forbidden, ConsoleEndpoint.CsrfRefusal);
            return false;
        }
        var address = context.Connection.RemoteIpAddress;
        var check = await tokens.CheckByIdAsync(session.TokenId, address, ct);
        if (check.Token is not { } token)
        {
            await ConsoleEndpoint.ErrorAsync(context, check.Status, $"The console session's token can no longer be used: {check.Refusal}");
            return false;
        }
        if (!needed.AllowedBy(token.Grants))
        {
            await ConsoleEndpoint.ErrorAsync(context, StatusCodes.Status403Forbidden, needed.Refusal());
            return false;
        }
        var client = ClientAddress.Text(address);
        Caller.Set(context, new Caller(token.Id, token.Name, client));
        return true;
    }

    /// <summary>What a PyPI route needs: <c>pypi:read</c> for the project its path starts with (none for the root index).</summary>
    private static TokenAccess PyPIAccess(string? path) =>
        new(TokenScope.PypiRead, (path ?? "").Split('/')[0] is { Length: > 0 } project ? project : null);

    /// <summary>What a Hugging Face route needs: <c>hf:read</c> for the repo in its path (none for a path that names no repo).</summary>
    private static TokenAccess HuggingFaceAccess(HttpContext context) =>
        new(TokenScope.HfRead, HfRequestPath.Parse(HuggingFaceEndpoint.RelativeRawPath(context)).Route is { RepoId.Length: > 0 } route ? route.RepoId : null);

    private Task RefuseAsync(HttpContext context, int status, string reason, bool huggingFace)
    {
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = $"Basic realm=\"{_realm}\"";
        }
        return huggingFace
            ? HuggingFaceEndpoint.WriteJsonErrorAsync(context, status, null, reason)
            : HttpResponses.WriteErrorAsync(context, status, reason);
    }
}
