using System.Text.Json;
using Gatehouse.Audit;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tokens;

/// <summary><c>/admin/tokens</c>: create (POST {name, scope}), list (GET), revoke (DELETE /admin/tokens/{id}).</summary>
public sealed class AdminTokensEndpoint(EntitlementTokenService tokens, IAuditLog audit)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    public async Task HandleAsync(HttpContext context, string? id)
    {
        var ct = context.RequestAborted;
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) && id is null)
        {
            await context.Response.WriteAsJsonAsync(await tokens.ListAsync(ct), Json, ct);
        }
        else if (HttpMethods.IsPost(method) && id is null)
        {
            CreateTokenRequest? body;
            try
            {
                body = await context.Request.ReadFromJsonAsync<CreateTokenRequest>(Json, ct);
            }
            catch (JsonException e)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "Body must be JSON {\"name\": \"…\", \"scope\": \"read|admin\"}", e.Message);
                return;
            }
            if (body is null || string.IsNullOrWhiteSpace(body.Name) || body.Name.Length > 100)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "A token needs a name of 1 to 100 characters");
                return;
            }
            var created = await tokens.CreateAsync(body.Name, body.Scope, ct);
            await audit.WriteAsync("token.create", created.Token.Id, $"{created.Token.Name} ({created.Token.Scope})", ct);
            context.Response.StatusCode = StatusCodes.Status201Created;
            await context.Response.WriteAsJsonAsync(new { created.Token.Id, created.Token.Name, created.Token.Scope, created.Token.CreatedAt, Token = created.Secret }, Json, ct);
        }
        else if (HttpMethods.IsDelete(method) && id is not null)
        {
            if (!await tokens.RevokeAsync(id, ct))
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No token {id}");
                return;
            }
            await audit.WriteAsync("token.revoke", id, "revoked", ct);
            context.Response.StatusCode = StatusCodes.Status204NoContent;
        }
        else
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "Use GET or POST /admin/tokens, or DELETE /admin/tokens/{id}");
        }
    }

    private sealed record CreateTokenRequest(string Name, TokenScope Scope = TokenScope.Read);
}
