using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Audit;

/// <summary>
/// <c>/admin/audit</c>: the audit trail, read only. <c>GET /admin/audit?artifact=…&amp;token=…&amp;from=…&amp;to=…&amp;action=…&amp;limit=…&amp;continuation=…</c>
/// pages through records newest first; <c>GET /admin/audit/affected?artifact=…</c> says who downloaded an artifact and
/// when. <c>format=csv</c> (or <c>Accept: text/csv</c>) exports every record the query selects as CSV (<see cref="AuditCsv"/>).
/// There is no way to change or delete a record through Gatehouse; retention is the storage account's business.
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
            if (ExportFormat(context.Request, out var parameters, out var formatProblem) is not { } format)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, formatProblem);
                return;
            }
            if (AuditQuery.Parse(parameters, time.GetUtcNow(), out var problem) is not { } query)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, problem);
                return;
            }
            if (format == CsvFormat)
            {
                await WriteCsvAsync(context, query, parameters.ContainsKey("limit"));
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

    /// <summary>The <c>format</c> of the CSV export (also chosen by <c>Accept: text/csv</c>).</summary>
    public const string CsvFormat = "csv";

    private const string JsonFormat = "json";

    /// <summary>
    /// The format asked for (<c>format=csv|json</c>, else <c>Accept: text/csv</c> preferred to JSON) and the query's other
    /// parameters; null with the problem for a format it does not know.
    /// </summary>
    private static string? ExportFormat(HttpRequest request, out IQueryCollection parameters, out string problem)
    {
        problem = "";
        parameters = request.Query;
        if (!request.Query.TryGetValue("format", out var asked))
        {
            return AcceptsCsv(request) ? CsvFormat : JsonFormat;
        }
        parameters = new QueryCollection(request.Query.Where(p => p.Key != "format").ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));
        if (asked.Count != 1 || asked.ToString() is not (CsvFormat or JsonFormat))
        {
            problem = "'format' is csv or json (given once)";
            return null;
        }
        return asked.ToString();
    }

    /// <summary>Whether the client lists <c>text/csv</c> at a quality above JSON's (a browser's <c>*/*</c> is not a wish for CSV).</summary>
    private static bool AcceptsCsv(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        double Quality(string mediaType) => accept.Where(a => a.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase)).Select(a => a.Quality ?? 1).DefaultIfEmpty(0).Max();
        var csv = Quality("text/csv");
        return csv > 0 && csv > Quality("application/json");
    }

    /// <summary>
    /// Every record the query selects as CSV, written a page at a time as it is read, so a large export never sits in
    /// memory whole. The <c>limit</c>, when given, caps the rows; without it the export runs to the end of the range.
    /// </summary>
    private async Task WriteCsvAsync(HttpContext context, AuditQuery query, bool limited)
    {
        var ct = context.RequestAborted;
        var remaining = limited ? query.Limit : long.MaxValue;
        AuditPage page;
        try
        {
            page = await reader.QueryAsync(query with { Limit = (int)Math.Min(remaining, AuditQuery.MaxLimit) }, ct);
        }
        catch (FormatException e)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, e.Message);
            return;
        }
        context.Response.ContentType = AuditCsv.ContentType;
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{AuditCsv.FileName}\"";
        await using var writer = new StreamWriter(context.Response.Body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 16 * 1024, leaveOpen: true);
        await writer.WriteAsync(AuditCsv.Header);
        while (true)
        {
            foreach (var record in page.Records.Take((int)Math.Min(remaining, int.MaxValue)))
            {
                await writer.WriteAsync(AuditCsv.Row(record));
            }
            remaining -= page.Records.Count;
            await writer.FlushAsync(ct);
            if (page.Continuation is null || remaining <= 0)
            {
                return;
            }
            page = await reader.QueryAsync(query with { Limit = (int)Math.Min(remaining, AuditQuery.MaxLimit), Continuation = page.Continuation }, ct);
        }
    }
}
