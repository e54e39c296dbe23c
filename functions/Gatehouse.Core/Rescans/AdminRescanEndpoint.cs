using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Audit;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;

namespace Gatehouse.Rescans;

/// <summary>
/// <c>POST /admin/rescan</c> starts a rescan (202 with its id and <c>Location</c>; 409 with the running one's state when
/// one runs); <c>GET /admin/rescan</c> (or <c>/admin/rescan/{id}</c>) reports its progress: references examined,
/// selected, decided again and changed, by reason and by new decision.
/// </summary>
public sealed class AdminRescanEndpoint(RescanRuns runs)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public async Task HandleAsync(HttpContext context, DurableTaskClient durable, string? id)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsPost(method) && id is null)
        {
            var caller = Caller.Of(context);
            var start = await runs.StartAsync(durable, $"admin {caller?.TokenName ?? "token"}", context.RequestAborted);
            var statusUrl = $"{context.Request.PathBase}/admin/rescan/{RescanRuns.InstanceId}";
            context.Response.Headers.Location = statusUrl;
            if (!start.Started)
            {
                context.Response.StatusCode = StatusCodes.Status409Conflict;
                await context.Response.WriteAsJsonAsync(Report(start.Running!, "A rescan is running already"), Json, context.RequestAborted);
                return;
            }
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            await context.Response.WriteAsJsonAsync(new { id = RescanRuns.InstanceId, statusUrl }, Json, context.RequestAborted);
        }
        else if (HttpMethods.IsGet(method) && (id is null || id == RescanRuns.InstanceId))
        {
            var instance = await durable.GetInstanceAsync(RescanRuns.InstanceId, getInputsAndOutputs: true, context.RequestAborted);
            if (instance is null)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, "No rescan has run yet; start one with POST /admin/rescan");
                return;
            }
            context.Response.Headers.CacheControl = "no-store";
            await context.Response.WriteAsJsonAsync(Report(instance, null), Json, context.RequestAborted);
        }
        else if (HttpMethods.IsGet(method))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No rescan {id}; the rescan is {RescanRuns.InstanceId}");
        }
        else
        {
            context.Response.Headers.Allow = id is null ? "GET, POST" : "GET";
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "Use POST /admin/rescan, or GET /admin/rescan");
        }
    }

    private static RescanStatus Report(OrchestrationMetadata instance, string? message)
    {
        var running = RescanRuns.IsRunning(instance);
        var progress = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? instance.ReadOutputAs<RescanProgress>() : instance.ReadCustomStatusAs<RescanProgress>();
        return new RescanStatus(instance.InstanceId, running ? "Running" : instance.RuntimeStatus.ToString(), instance.CreatedAt, instance.LastUpdatedAt, progress,
            instance.FailureDetails?.ErrorMessage, message);
    }
}

/// <summary>What <c>GET /admin/rescan</c> answers.</summary>
/// <param name="Status">Running (also between batches), Completed, Failed or Terminated.</param>
/// <param name="Progress">The counts so far (while running) or in all (once completed).</param>
/// <param name="Error">Why the rescan failed, when it did.</param>
/// <param name="Message">Why a start was refused, when it was.</param>
public sealed record RescanStatus(string Id, string Status, DateTimeOffset CreatedAt, DateTimeOffset LastUpdatedAt, RescanProgress? Progress, string? Error,
    string? Message);
