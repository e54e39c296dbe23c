using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Gatehouse.Audit;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tokens;

/// <summary>
/// <c>/admin/tokens</c>: list with usage (GET), one (GET {id}), create (POST), rotate (POST {id}/rotate), change scopes
/// or limits (PATCH {id}), revoke (DELETE {id}). A secret is in the answer to create and rotate only.
/// </summary>
public sealed class AdminTokensEndpoint(EntitlementTokenService tokens)
{
    /// <summary>How token answers are written and read (the CLI reads them with the same options).</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private const string Usage = "Use GET or POST /admin/tokens, GET, PATCH or DELETE /admin/tokens/{id}, or POST /admin/tokens/{id}/rotate";

    public async Task HandleAsync(HttpContext context, string? id, string? operation)
    {
        var ct = context.RequestAborted;
        var method = context.Request.Method;
        var by = Actor(context);
        try
        {
            switch (id, operation)
            {
                case (null, null) when HttpMethods.IsGet(method):
                    await context.Response.WriteAsJsonAsync((await tokens.ListAsync(ct)).OrderBy(t => t.CreatedAt).Select(TokenView.Of), Json, ct);
                    return;
                case (null, null) when HttpMethods.IsPost(method):
                    var body = await ReadBodyAsync(context) ?? [];
                    var name = body["name"]?.GetValue<string>();
                    if (string.IsNullOrWhiteSpace(name) || name.Length > 100)
                    {
                        throw new FormatException("A token needs a name of 1 to 100 characters");
                    }
                    var created = await tokens.CreateAsync(name, Grants(body) ?? TokenGrant.Unrestricted(TokenScope.Read), Limits(body, TokenLimits.None), by, ct);
                    context.Response.StatusCode = StatusCodes.Status201Created;
                    await context.Response.WriteAsJsonAsync(TokenView.Of(created.Token) with { Token = created.Secret }, Json, ct);
                    return;
                case ({ } tokenId, null) when HttpMethods.IsGet(method):
                    await AnswerAsync(context, tokenId, await tokens.GetAsync(tokenId, ct));
                    return;
                case ({ } tokenId, null) when HttpMethods.IsPatch(method):
                    var changes = await ReadBodyAsync(context) ?? [];
                    var current = await tokens.GetAsync(tokenId, ct);
                    var updated = current is null ? null : await tokens.UpdateAsync(tokenId, Limits(changes, current.Limits), Grants(changes), by, ct);
                    await AnswerAsync(context, tokenId, updated);
                    return;
                case ({ } tokenId, "rotate") when HttpMethods.IsPost(method):
                    var hours = (await ReadBodyAsync(context))?["graceHours"]?.GetValue<double>();
                    var rotated = await tokens.RotateAsync(tokenId, hours is { } h ? TimeSpan.FromHours(h) : null, by, ct);
                    if (rotated is null)
                    {
                        await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No live token {tokenId}");
                        return;
                    }
                    await context.Response.WriteAsJsonAsync(TokenView.Of(rotated.Token) with { Token = rotated.Secret }, Json, ct);
                    return;
                case ({ } tokenId, null) when HttpMethods.IsDelete(method):
                    if (!await tokens.RevokeAsync(tokenId, by, ct))
                    {
                        await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No token {tokenId}");
                        return;
                    }
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                    return;
                default:
                    await HttpResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, Usage);
                    return;
            }
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, e.Message);
        }
    }

    /// <summary>Who changed a token, for the audit: the admin token and the client address.</summary>
    private static string Actor(HttpContext context) =>
        Caller.Of(context) is { } caller ? $"token {caller.TokenId} ({caller.TokenName}) from {caller.ClientIp ?? "an unknown address"}" : "an unknown caller";

    private static async Task AnswerAsync(HttpContext context, string id, EntitlementToken? token)
    {
        if (token is null)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No token {id}");
            return;
        }
        await context.Response.WriteAsJsonAsync(TokenView.Of(token), Json, context.RequestAborted);
    }

    private static async Task<JsonObject?> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength is 0 || (context.Request.ContentLength is null && !context.Request.Headers.ContainsKey("Transfer-Encoding")))
        {
            return null;
        }
        return await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject
            ?? throw new FormatException("The body must be a JSON object");
    }

    /// <summary>The grants in <c>scopes</c> (["pypi:read=numpy", "hf:read"]) or the legacy <c>scope</c> (read|admin); null when neither is given.</summary>
    private static IReadOnlyList<TokenGrant>? Grants(JsonObject body)
    {
        if (body["scopes"] is JsonArray scopes)
        {
            return TokenGrant.ParseAll(scopes.Select(s => s?.GetValue<string>() ?? throw new FormatException("scopes must be strings")));
        }
        return body["scope"]?.GetValue<string>() is { } scope ? TokenGrant.ParseAll([scope]) : null;
    }

    /// <summary>The limits in the body over <paramref name="current"/>: a limit left out stays, a limit set to null is lifted.</summary>
    private static TokenLimits Limits(JsonObject body, TokenLimits current)
    {
        var limits = current;
        if (body.TryGetPropertyValue("expiresAt", out var expiresAt))
        {
            limits = limits with { ExpiresAt = expiresAt is null ? null : DateTimeOffset.Parse(expiresAt.GetValue<string>(), CultureInfo.InvariantCulture) };
        }
        if (body.TryGetPropertyValue("maxDownloads", out var downloads))
        {
            limits = limits with { MaxDownloads = downloads?.GetValue<long>() };
        }
        if (body.TryGetPropertyValue("maxBytesPerDay", out var bytes))
        {
            limits = limits with { MaxBytesPerDay = bytes?.GetValue<long>() };
        }
        if (body.TryGetPropertyValue("allowedIps", out var ips))
        {
            limits = limits with { AllowedIps = ips is JsonArray list ? [.. list.Select(i => i?.GetValue<string>() ?? "")] : [] };
        }
        return limits;
    }
}

/// <summary>A token as the admin API and the CLI show it; <see cref="Token"/> (the secret) only after create or rotate.</summary>
public sealed record TokenView(
    string Id,
    string Name,
    TokenScope Scope,
    IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? ExpiresAt,
    long? MaxDownloads,
    long? MaxBytesPerDay,
    IReadOnlyList<string> AllowedIps,
    long Downloads,
    long Bytes,
    long BytesLastDay,
    DateTimeOffset? LastUsedAt,
    DateTimeOffset? RotatedAt,
    DateTimeOffset? PreviousSecretValidUntil,
    string? Token = null)
{
    public static TokenView Of(EntitlementToken t) => new(t.Id, t.Name, t.Scope, [.. t.Grants.Select(g => g.ToString())], t.CreatedAt, t.RevokedAt,
        t.Limits.ExpiresAt, t.Limits.MaxDownloads, t.Limits.MaxBytesPerDay, t.Limits.AllowedIps, t.Usage.Downloads, t.Usage.Bytes, t.Usage.BytesLastDay,
        t.Usage.LastUsedAt, t.RotatedAt, t.PreviousSecretValidUntil);
}
