using Microsoft.AspNetCore.Http;

namespace Gatehouse.Admin;

/// <summary><c>GET /admin/openapi.json</c>: the admin API's OpenAPI 3.0 document, for API clients and reviewers of the API.</summary>
public sealed class AdminOpenApiEndpoint
{
    public async Task HandleAsync(HttpContext context)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            await Http.HttpResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "Use GET /admin/openapi.json");
            return;
        }
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(AdminApiDocument.JsonText, context.RequestAborted);
    }
}
