using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Audit;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Vulnerabilities;

/// <summary>
/// <c>/admin/osv</c>: what the mirror holds (GET: the primary export's last import as <c>import</c>, and each configured
/// export's under <c>exports</c>) and a refresh now (<c>POST /admin/osv/refresh</c>: every export is fetched,
/// conditionally, and imported before the answer; 502 when any failed, with each export's outcome).
/// </summary>
public sealed class AdminOsvEndpoint(VulnerabilityMirror mirror, OsvRefresh refresh, IAuditLog audit)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public async Task HandleAsync(HttpContext context, string? operation)
    {
        var ct = context.RequestAborted;
        if (operation is null && HttpMethods.IsGet(context.Request.Method))
        {
            var exports = new List<object>();
            foreach (var url in refresh.ExportUrls)
            {
                var meta = await mirror.GetImportAsync(refresh.SourceFor(url), ct);
                // An import row of an export that was since replaced does not describe this one.
                exports.Add(new { Url = url.AbsoluteUri, Primary = url == refresh.ExportUrl, Import = meta?.SourceUrl == url.AbsoluteUri ? meta : null });
            }
            var primary = await mirror.GetImportAsync(ct);
            await context.Response.WriteAsJsonAsync(new { Loaded = primary is not null, AllLoaded = await mirror.IsLoadedAsync(ct), Import = primary, Exports = exports }, Json, ct);
            return;
        }
        if (operation == "refresh" && HttpMethods.IsPost(context.Request.Method))
        {
            var result = await refresh.RunAsync(ct);
            foreach (var export in result.Exports)
            {
                await audit.WriteAsync("osv.refresh", export.Status.ToString(), $"{export.Url}: " + (export.Import is { } import
                    ? $"{import.Records} records, {import.Projects} projects, {import.Upserted} written, {import.Deleted} deleted"
                    : export.Message ?? "not modified"), ct);
            }
            context.Response.StatusCode = result.AnyFailed ? StatusCodes.Status502BadGateway : StatusCodes.Status200OK;
            await context.Response.WriteAsJsonAsync(result, Json, ct);
            return;
        }
        await HttpResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "Use GET /admin/osv or POST /admin/osv/refresh");
    }
}
