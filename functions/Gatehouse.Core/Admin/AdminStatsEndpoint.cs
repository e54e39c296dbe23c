using System.Text.Json;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Admin;

/// <summary>
/// <c>GET /admin/stats</c>: the console's overview (<see cref="ConsoleStats"/>): references by decision, decisions per
/// day for 30 days, the newest refusals, and this instance's cache and scan counters.
/// </summary>
public sealed class AdminStatsEndpoint(ConsoleStats stats)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public async Task HandleAsync(HttpContext context)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "The overview is read with GET /admin/stats");
            return;
        }
        if (context.Request.Query.Count > 0)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"GET /admin/stats takes no parameters ('{context.Request.Query.Keys.First()}' given)");
            return;
        }
        var (stored, live) = await stats.GetAsync(context.RequestAborted);
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(new
        {
            stored.GeneratedAt,
            stored.Artifacts,
            stored.VerdictsByDay,
            stored.LatestRefusals,
            Cache = new { live.Hits, live.Misses, live.HitRatio, live.Since },
            Scans = new { Running = live.ChecksRunning, Waiting = live.RequestsWaiting },
        }, Json, context.RequestAborted);
    }
}
