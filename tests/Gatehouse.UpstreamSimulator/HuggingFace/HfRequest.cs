using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;

namespace Gatehouse.UpstreamSimulator.HuggingFace;

/// <summary>
/// Helpers shared by the HF endpoints: raw-path parsing (the revision may arrive as one encoded segment,
/// <c>refs%2Fpr%2F1</c>, or raw, <c>refs/pr/1</c>) and the Hub's error shape (<c>X-Error-Code</c>,
/// <c>X-Error-Message</c> and a JSON <c>error</c>, as huggingface_hub's <c>utils/_http.py</c> reads them).
/// </summary>
internal static class HfRequest
{
    /// <summary>The request path exactly as sent (no decoding of <c>%2F</c>), without the query.</summary>
    public static string RawPath(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "/";
        var q = raw.IndexOf('?', StringComparison.Ordinal);
        return q >= 0 ? raw[..q] : raw;
    }

    /// <summary>Path segments after the raw path is split on '/', each then percent-decoded.</summary>
    public static List<string> Segments(HttpContext context) =>
        RawPath(context).Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToList();

    /// <summary>Takes a revision starting at <paramref name="index"/>; a raw <c>refs/pr/N</c> (or refs/heads|tags/X) spans 3 segments.</summary>
    public static string? TakeRevision(List<string> segments, ref int index)
    {
        if (index >= segments.Count)
        {
            return null;
        }

        var first = segments[index];
        if (first == "refs" && index + 2 < segments.Count && segments[index + 1] is "pr" or "heads" or "tags" or "convert")
        {
            var rev = string.Join('/', segments.Skip(index).Take(3));
            index += 3;
            return rev;
        }

        index++;
        return first;
    }

    public static string Origin(HttpContext context) => $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}";

    public static void RecordAuthorization(HttpContext context, HfState state) =>
        state.RecordAuthorization(RawPath(context), context.Request.Headers.Authorization.Count > 0 ? context.Request.Headers.Authorization.ToString() : null);

    /// <summary>Unknown repo: 401 without credentials, 404 with them, both <c>X-Error-Code: RepoNotFound</c>.</summary>
    public static Task RepoNotFoundAsync(HttpContext context) =>
        ErrorAsync(
            context,
            context.Request.Headers.Authorization.Count > 0 ? StatusCodes.Status404NotFound : StatusCodes.Status401Unauthorized,
            "RepoNotFound",
            "Repository not found",
            commit: null);

    public static Task RevisionNotFoundAsync(HttpContext context, string revision) =>
        ErrorAsync(context, StatusCodes.Status404NotFound, "RevisionNotFound", $"Invalid rev id: {revision}", commit: null);

    public static Task EntryNotFoundAsync(HttpContext context, string path, string commit) =>
        ErrorAsync(context, StatusCodes.Status404NotFound, "EntryNotFound", $"Entry not found: {path}", commit);

    public static async Task ErrorAsync(HttpContext context, int status, string code, string message, string? commit)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.Headers["X-Error-Code"] = code;
        response.Headers["X-Error-Message"] = message;
        if (commit is not null)
        {
            response.Headers["X-Repo-Commit"] = commit;
        }

        response.ContentType = "application/json; charset=utf-8";
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.WriteAsync(new JsonObject { ["error"] = message }.ToJsonString(), context.RequestAborted);
        }
    }

    public static Task JsonAsync(HttpContext context, JsonNode body)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    public static bool IsTrue(string? value) =>
        value is not null && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));
}
