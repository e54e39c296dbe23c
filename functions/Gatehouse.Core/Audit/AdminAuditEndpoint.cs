using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Audit;

/// <summary>
/// <c>/admin/audit</c>: the audit trail, read only. <c>GET /admin/audit?artifact=…&amp;token=…&amp;from=…&amp;to=…&amp;action=…&amp;limit=…&amp;continuation=…</c>
/// pages through records newest first; <c>GET /admin/audit/affected?artifact=…</c> says who downloaded an artifact and
/// when. There is no way to change or delete a record through Gatehouse; retention is the storage account's business.
/// </summary>
public sealed class AdminAuditEndpoint(AuditReader reader, TimeProvider time, IArtifactDecisions? decisions = null)
{
    /// <summary>The operation of the affected-consumer report.</summary>
    public const string AffectedOperation = "affected";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public async Task HandleAsync(HttpContext context, string? operation)
    {
        var ct = context.RequestAborted;
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed,
                "The audit trail is append-only and read with GET /admin/audit or GET /admin/audit/affected?artifact=...");
            return;
        }
        context.Response.Headers.CacheControl = "no-store";
        if (operation is null)
        {
            if (AuditQuery.Parse(context.Request.Query, time.GetUtcNow(), out var problem) is not { } query)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, problem);
                return;
            }
            AuditPage page;
            try
            {
                page = await reader.QueryAsync(query, ct);
            }
            catch (FormatException e)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, e.Message);
                return;
            }
            await context.Response.WriteAsJsonAsync(new { page.Records, page.Continuation }, Json, ct);
            return;
        }
        if (operation == AffectedOperation)
        {
            if (context.Request.Query.Keys.FirstOrDefault(k => k != "artifact") is { } unknown)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"Unknown parameter '{unknown}'; the report takes artifact only");
                return;
            }
            if (AuditIndex.ParseFilter(context.Request.Query["artifact"].ToString(), out var problem) is not { } filter)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, problem);
                return;
            }
            var report = await AffectedReport.BuildAsync(filter, await reader.DownloadsAsync(filter, ct), decisions, ct);
            await context.Response.WriteAsJsonAsync(report, Json, ct);
            return;
        }
        await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No audit operation '{operation}'; use GET /admin/audit or GET /admin/audit/affected");
    }
}
