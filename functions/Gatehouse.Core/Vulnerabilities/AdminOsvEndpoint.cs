using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Audit;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Vulnerabilities;

/// <summary>
/// <c>/admin/osv</c>: what the mirror holds (GET: the last import's source, tags, counts and time) and a refresh now
/// (<c>POST /admin/osv/refresh</c>: the export is fetched, conditionally, and imported before the answer).
/// </summary>
public sealed class AdminOsvEndpoint(VulnerabilityMirror mirror, OsvRefresh refresh, IAuditLog audit)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public async Task HandleAsync(HttpContext context, string? operation)
    {
        var ct = context.RequestAborted;
        if (operation is null && HttpMethods.IsGet(context.Request.Method))
        {
            var meta = await mirror.GetImportAsync(ct);
            await context.Response.WriteAsJsonAsync(new { Loaded = meta is not null, Import = meta }, Json, ct);
            return;
        }
        if (operation == "refresh" && HttpMethods.IsPost(context.Request.Method))
        {
            var result = await refresh.RunAsync(ct);
            await audit.WriteAsync("osv.refresh", result.Status.ToString(),
                result.Import is { } import ? $"{import.Records} records, {import.Projects} projects, {import.Upserted} written, {import.Deleted} deleted" : result.Message ?? "", ct);
            context.Response.StatusCode = result.Status == OsvRefreshStatus.Failed ? StatusCodes.Status502BadGateway : StatusCodes.Status200OK;
            await context.Response.WriteAsJsonAsync(result, Json, ct);
            return;
        }
        await HttpResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "Use GET /admin/osv or POST /admin/osv/refresh");
    }
}
