using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Audit;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Policy;

/// <summary>
/// <c>/admin/policy</c>: the policy in force (GET: the source read again, then its version, source, text, and the last
/// refused text's errors),
/// a new one applied (PUT, the YAML as the body: refused whole with every error and its line, or written to the
/// source and in force at once), and a dry run (<c>POST /admin/policy/dry-run</c>, the candidate YAML as the body:
/// what would change, applied to nothing).
/// </summary>
public sealed class AdminPolicyEndpoint(PolicyProvider policies, PolicyDryRun dryRun, IAuditLog audit, TimeProvider time)
{
    /// <summary>A policy file is small; a body beyond this is refused before it is parsed.</summary>
    public const int MaxPolicyBytes = 1024 * 1024;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() }, WriteIndented = true };

    public async Task HandleAsync(HttpContext context, string? action)
    {
        var ct = context.RequestAborted;
        var method = context.Request.Method;
        if (action is null && HttpMethods.IsGet(method))
        {
            // What the source holds now, not at the last check.
            await policies.RefreshAsync(ct);
            var status = policies.Status;
            await context.Response.WriteAsJsonAsync(new
            {
                Version = status.Document?.Version,
                Name = status.Document?.Name,
                status.Source,
                status.LoadedAt,
                Rules = status.Document?.Rules.Select(r => new { r.Id, Action = r.Action.ToString().ToLowerInvariant(), r.Line }),
                Exceptions = status.Document?.Exceptions.Select(e => new { e.Id, e.Expires, e.Owner, e.Reason, Expired = e.Expires <= time.GetUtcNow() }),
                LastError = status.LastFailure is { } failure
                    ? new { failure.Version, failure.Source, failure.At, Errors = failure.Errors.Select(e => new { e.Line, e.Column, e.Message }) }
                    : null,
                Text = status.Document?.Text,
            }, Json, ct);
            return;
        }
        if ((action is null && HttpMethods.IsPut(method)) || (action == "dry-run" && HttpMethods.IsPost(method)))
        {
            if (await ReadPolicyAsync(context) is not { } text)
            {
                return;
            }
            if (!PolicyParser.TryParse(text, out var candidate, out var errors))
            {
                await WriteInvalidAsync(context, errors);
                return;
            }
            if (action == "dry-run")
            {
                var current = await policies.CurrentPolicyAsync(ct);
                var report = await dryRun.RunAsync(current, new DeclarativePolicy(candidate, time), ct);
                await context.Response.WriteAsJsonAsync(report, Json, ct);
                return;
            }
            var previous = policies.Status.Document?.Version;
            var applied = await policies.ApplyAsync(text, ct);
            await audit.WriteAsync("policy.apply", applied.Version, $"{applied.Name}: {applied.Rules.Count} rules, {applied.Exceptions.Count} exceptions (was {previous ?? "none"})", ct);
            await context.Response.WriteAsJsonAsync(new { applied.Version, applied.Name, Previous = previous, Source = policies.Source }, Json, ct);
            return;
        }
        await HttpResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed,
            "Use GET /admin/policy, PUT /admin/policy (the policy YAML as the body) or POST /admin/policy/dry-run (a candidate policy YAML)");
    }

    private static async Task<string?> ReadPolicyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxPolicyBytes)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge, $"A policy is at most {MaxPolicyBytes} bytes");
            return null;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxPolicyBytes)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge, $"A policy is at most {MaxPolicyBytes} bytes");
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "The body must be a policy (YAML)");
            return null;
        }
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (DecoderFallbackException)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "A policy must be UTF-8 text");
            return null;
        }
    }

    private static async Task WriteInvalidAsync(HttpContext context, IReadOnlyList<PolicyError> errors)
    {
        context.Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        await context.Response.WriteAsJsonAsync(new
        {
            Error = "The policy is not valid; nothing was changed",
            Errors = errors.Select(e => new { e.Line, e.Column, e.Message }),
        }, Json, context.RequestAborted);
    }
}
