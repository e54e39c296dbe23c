using System.Globalization;
using Azure;
using Gatehouse.Audit;
using Gatehouse.Bom;
using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.HuggingFace;
using Gatehouse.HuggingFace.Prefetch;
using Gatehouse.Policy;
using Gatehouse.PyPI;
using Gatehouse.Rescans;
using Gatehouse.Tokens;
using Gatehouse.Vulnerabilities;
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
    AdminRescanEndpoint rescan)
{
    private readonly string _realm = options.Value.Auth.Realm;
    private readonly int _retryAfter = options.Value.Scan.RetryAfterSeconds;

    public Task PypiSimple(HttpContext context, string? path) =>
        RunAsync(context, TokenScope.Read, () => simple.HandleAsync(context, path));

    public Task PypiFiles(HttpContext context, DurableTaskClient durable, string? path) =>
        RunAsync(context, TokenScope.Read, () => files.HandleAsync(context, durable, path));

    public Task PypiIntegrity(HttpContext context, string? path) =>
        RunAsync(context, TokenScope.Read, () => provenance.HandleAsync(context, path));

    public Task PypiJson(HttpContext context, string project, string? rest) =>
        RunAsync(context, TokenScope.Read, () => json.HandleAsync(context, project, rest));

    /// <summary>The Hugging Face Hub API under <c>/hf</c>; clients send the entitlement token as <c>Authorization: Bearer</c>.</summary>
    public Task HuggingFace(HttpContext context, DurableTaskClient durable, string? path) =>
        RunAsync(context, TokenScope.Read, () => huggingFace.HandleAsync(context, durable), huggingFace: true);

    public Task AdminTokens(HttpContext context, string? id) =>
        RunAsync(context, TokenScope.Admin, () => admin.HandleAsync(context, id));

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
        RunAsync(context, TokenScope.Read, () => osvApi.HandleAsync(context, path));
    /// <summary>The CycloneDX bill of materials of a PyPI project or Hugging Face repository, with every file's verdict. Admin tokens only.</summary>
    public Task AdminBom(HttpContext context, string remote, string? name) =>
        RunAsync(context, TokenScope.Admin, () => bom.HandleAsync(context, remote, name));

    /// <summary>Starts a rescan of cached verdicts (POST) or reports its progress (GET). Admin tokens only.</summary>
    public Task AdminRescan(HttpContext context, DurableTaskClient durable, string? id) =>
        RunAsync(context, TokenScope.Admin, () => rescan.HandleAsync(context, durable, id));

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
    private async Task RunAsync(HttpContext context, TokenScope needed, Func<Task> handle, bool huggingFace = false)
    {
        try
        {
            if (await AuthorizeAsync(context, needed, huggingFace))
            {
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
    /// 401 with a Basic challenge (so pip and keyring prompt) when no live token with the scope is presented. Under
    /// <c>/hf</c> the refusal also takes the Hub's error shape (JSON <c>error</c>, <c>X-Error-Message</c>), which is
    /// what Hugging Face clients show their users.
    /// </summary>
    private async Task<bool> AuthorizeAsync(HttpContext context, TokenScope needed, bool huggingFace = false)
    {
        var candidates = RequestCredentials.Candidates(context.Request);
        if (candidates.Count == 0)
        {
            await RefuseAsync(context, StatusCodes.Status401Unauthorized, "Gatehouse needs an entitlement token (Basic auth or Bearer)", huggingFace);
            return false;
        }
        foreach (var candidate in candidates)
        {
            if (await tokens.ValidateAsync(candidate, context.RequestAborted) is { } token)
            {
                if (token.Scope >= needed)
                {
                    Caller.Set(context, new Caller(token.Id, token.Name, context.Connection.RemoteIpAddress?.ToString()));
                    return true;
                }
                await RefuseAsync(context, StatusCodes.Status403Forbidden, "This token may not manage Gatehouse; an admin token is needed", huggingFace);
                return false;
            }
        }
        await RefuseAsync(context, StatusCodes.Status401Unauthorized, "The entitlement token is unknown or revoked", huggingFace);
        return false;
    }

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
