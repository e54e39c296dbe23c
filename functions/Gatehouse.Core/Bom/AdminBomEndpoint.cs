using System.Text.Json;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Bom;

/// <summary>
/// <c>GET /admin/bom/{remote}/{name}</c>: the CycloneDX 1.6 bill of materials (JSON) of what a PyPI project
/// (<c>pypi/&lt;project&gt;</c>) or a Hugging Face repository (<c>hf/&lt;org/name&gt;</c>, <c>hf/datasets/&lt;org/name&gt;</c>)
/// pulled through Gatehouse, with every file's verdict; 404 when nothing of it was recorded.
/// </summary>
public sealed class AdminBomEndpoint(BomBuilder builder)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public async Task HandleAsync(HttpContext context, string? remote, string? name)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "Use GET /admin/bom/pypi/<project> or GET /admin/bom/hf/<org/name>");
            return;
        }
        if (BomSubject.TryParse(remote, name, out var problem) is not { } subject)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, problem);
            return;
        }
        var bom = await builder.BuildAsync(subject, context.RequestAborted);
        if (bom is null)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"Gatehouse has recorded no file of {subject.Remote} {subject.Display}");
            return;
        }
        context.Response.ContentType = BomBuilder.MediaType;
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(bom.ToJsonString(Indented) + "\n", context.RequestAborted);
    }
}
