using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Gatehouse.Audit;
using Gatehouse.Http;
using Gatehouse.Scans;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;

namespace Gatehouse.Quarantine;

/// <summary>The JSON shape of the reviewers' answers: web casing, enums by name.</summary>
internal static class ReviewJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public static JsonNode? Node<T>(T value) => JsonSerializer.SerializeToNode(value, Options);
}

/// <summary>
/// <c>/admin/quarantine</c>: <c>GET</c> lists refused references (<c>?remote=&amp;rule=&amp;severity=&amp;since=&amp;sort=&amp;limit=</c>),
/// <c>GET /{sha256}</c> shows everything known of one content, and <c>POST /{sha256}/release|block|rescan|lift</c>
/// act on it with a JSON body (<c>reason</c>; <c>expires</c> for a release). Admin tokens only; the approver is the token's name.
/// </summary>
public sealed class AdminQuarantineEndpoint(QuarantineReview review, TimeProvider time)
{
    /// <summary>The actions of <c>POST /admin/quarantine/{sha256}/{operation}</c>.</summary>
    public static readonly IReadOnlyList<string> Operations = ["release", "block", "rescan", "lift"];

    private const string Usage = "Use GET /admin/quarantine, GET /admin/quarantine/<sha256> or POST /admin/quarantine/<sha256>/release|block|rescan|lift";

    public async Task HandleAsync(HttpContext context, DurableTaskClient durable, string? sha256, string? operation)
    {
        var ct = context.RequestAborted;
        context.Response.Headers.CacheControl = "no-store";
        if (sha256 is not null && !IsSha256(sha256))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"'{sha256}' is not a sha256 (64 lower-case hex digits)");
            return;
        }
        if (HttpMethods.IsGet(context.Request.Method) && operation is null)
        {
            await (sha256 is null ? ListAsync(context) : ShowAsync(context, sha256));
            return;
        }
        if (!HttpMethods.IsPost(context.Request.Method) || sha256 is null || operation is null || !Operations.Contains(operation))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, Usage);
            return;
        }
        var body = await ReadBodyAsync(context);
        if (body is null)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "The body must be a JSON object, e.g. {\"reason\": \"…\", \"expires\": \"2026-12-31T00:00:00Z\"}");
            return;
        }
        var reason = Member(body, "reason")?.Trim();
        var caller = Caller.Of(context);
        switch (operation)
        {
            case "release":
                if (ReleaseProblem(reason, Member(body, "expires"), out var expires) is { } problem)
                {
                    await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, problem);
                    return;
                }
                await context.Response.WriteAsJsonAsync(await review.ReleaseAsync(sha256, reason!, expires, caller, ct), ReviewJson.Options, ct);
                return;
            case "block":
                if (string.IsNullOrEmpty(reason))
                {
                    await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "A block needs a reason");
                    return;
                }
                await context.Response.WriteAsJsonAsync(await review.BlockAsync(sha256, reason, caller, ct), ReviewJson.Options, ct);
                return;
            case "lift":
                if (await review.LiftAsync(sha256, reason, caller, ct) is not { } lifted)
                {
                    await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No release or block stands on {sha256}");
                    return;
                }
                await context.Response.WriteAsJsonAsync(lifted, ReviewJson.Options, ct);
                return;
            default:
                if (!await review.RescanAsync(sha256, caller, durable, ct))
                {
                    await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No recorded file names {sha256}: there is nothing to scan it as");
                    return;
                }
                context.Response.StatusCode = StatusCodes.Status202Accepted;
                await context.Response.WriteAsJsonAsync(new { Action = "rescan", Sha256 = sha256, Started = true }, ReviewJson.Options, ct);
                return;
        }
    }

    /// <summary>Why a release request cannot stand (no reason, no expiry, one in the past or too far ahead), or null.</summary>
    internal string? ReleaseProblem(string? reason, string? expiresText, out DateTimeOffset expires)
    {
        expires = default;
        if (string.IsNullOrEmpty(reason))
        {
            return "A release needs a reason";
        }
        if (!DateTimeOffset.TryParse(expiresText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out expires))
        {
            return "A release needs an expiry: \"expires\" as an ISO 8601 date or time, e.g. 2026-12-31 or 2026-12-31T18:00:00Z";
        }
        var now = time.GetUtcNow();
        if (expires <= now)
        {
            return $"The expiry {expires:O} has passed";
        }
        return expires > now + QuarantineReview.MaxRelease
            ? $"A release may run at most {QuarantineReview.MaxRelease.TotalDays:0} days; renew it when it lapses"
            : null;
    }

    /// <summary>The list's query, or why it cannot be read.</summary>
    internal static QuarantineQuery? ParseQuery(IQueryCollection query, out string? problem)
    {
        problem = null;
        Severity? severity = null;
        if (Text(query, "severity") is { } s)
        {
            if (!Enum.TryParse<Severity>(s, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
            {
                problem = $"severity must be one of {string.Join(", ", Enum.GetNames<Severity>())}, not '{s}'";
                return null;
            }
            severity = parsed;
        }
        DateTimeOffset? since = null;
        if (Text(query, "since") is { } t)
        {
            if (!DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
            {
                problem = $"since must be an ISO 8601 date or time, not '{t}'";
                return null;
            }
            since = parsed;
        }
        var sort = Text(query, "sort") ?? "decided";
        if (!QuarantineQuery.Sorts.Contains(sort))
        {
            problem = $"sort must be one of {string.Join(", ", QuarantineQuery.Sorts)}, not '{sort}'";
            return null;
        }
        var limit = QuarantineQuery.DefaultLimit;
        if (Text(query, "limit") is { } l && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > QuarantineQuery.MaxLimit))
        {
            problem = $"limit must be a whole number from 1 to {QuarantineQuery.MaxLimit}, not '{l}'";
            return null;
        }
        return new QuarantineQuery(Text(query, "remote"), Text(query, "rule"), severity, since, sort, limit);
    }

    private async Task ListAsync(HttpContext context)
    {
        if (ParseQuery(context.Request.Query, out var problem) is not { } query)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, problem!);
            return;
        }
        var items = await review.ListAsync(query, context.RequestAborted);
        await context.Response.WriteAsJsonAsync(new { Count = items.Count, Items = items }, ReviewJson.Options, context.RequestAborted);
    }

    private async Task ShowAsync(HttpContext context, string sha256)
    {
        if (await review.ShowAsync(sha256, context.RequestAborted) is not { } shown)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"Gatehouse knows nothing of {sha256}");
            return;
        }
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(shown.ToJsonString(ReviewJson.Options), context.RequestAborted);
    }

    private static async Task<JsonObject?> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength is 0 or null && !context.Request.Headers.TransferEncoding.Any())
        {
            return [];
        }
        try
        {
            return await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Member(JsonObject body, string name) => body[name] is { } node && node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;

    private static string? Text(IQueryCollection query, string name) => query[name].FirstOrDefault() is { Length: > 0 } value ? value : null;

    private static bool IsSha256(string value) => value.Length == 64 && value.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');
}
