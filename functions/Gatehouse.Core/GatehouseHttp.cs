using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.HuggingFace;
using Gatehouse.HuggingFace.Prefetch;
using Gatehouse.PyPI;
using Gatehouse.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;

namespace Gatehouse;

/// <summary>Entry points for every HTTP route; both hosts call these and nothing else. Each checks the entitlement first.</summary>
public sealed class GatehouseHttp(
    EntitlementTokenService tokens,
    SimpleIndexEndpoint simple,
    FilesEndpoint files,
    JsonApiEndpoint json,
    ProvenanceEndpoint provenance,
    AdminTokensEndpoint admin,
    HuggingFaceEndpoint huggingFace,
    PrefetchEndpoint prefetch,
    IOptions<GatehouseOptions> options)
{
    private readonly string _realm = options.Value.Auth.Realm;

    public async Task PypiSimple(HttpContext context, DurableTaskClient durable, string? path)
    {
        if (await AuthorizeAsync(context, TokenScope.Read))
        {
            await simple.HandleAsync(context, path);
        }
    }

    public async Task PypiFiles(HttpContext context, DurableTaskClient durable, string? path)
    {
        if (await AuthorizeAsync(context, TokenScope.Read))
        {
            await files.HandleAsync(context, durable, path);
        }
    }

    public async Task PypiIntegrity(HttpContext context, DurableTaskClient durable, string? path)
    {
        if (await AuthorizeAsync(context, TokenScope.Read))
        {
            await provenance.HandleAsync(context, path);
        }
    }

    public async Task PypiJson(HttpContext context, DurableTaskClient durable, string project, string? rest)
    {
        if (await AuthorizeAsync(context, TokenScope.Read))
        {
            await json.HandleAsync(context, project, rest);
        }
    }

    /// <summary>The Hugging Face Hub API under <c>/hf</c>; clients send the entitlement token as <c>Authorization: Bearer</c>.</summary>
    public async Task HuggingFace(HttpContext context, DurableTaskClient durable, string? path)
    {
        if (await AuthorizeAsync(context, TokenScope.Read, huggingFace: true))
        {
            await huggingFace.HandleAsync(context, durable);
        }
    }

    public async Task AdminTokens(HttpContext context, string? id)
    {
        if (await AuthorizeAsync(context, TokenScope.Admin))
        {
            await admin.HandleAsync(context, id);
        }
    }

    /// <summary>Whole-repository prefetch: start one (POST) or read its progress and verdicts (GET {id}). Admin tokens only.</summary>
    public async Task AdminPrefetch(HttpContext context, DurableTaskClient durable, string source, string? id)
    {
        if (await AuthorizeAsync(context, TokenScope.Admin))
        {
            await prefetch.HandleAsync(context, durable, source, id);
        }
    }

    public Task Health(HttpContext context)
    {
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync("ok\n", context.RequestAborted);
    }

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
            if (await tokens.ValidateAsync(candidate, context.RequestAborted) is { } scope)
            {
                if (scope >= needed)
                {
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
