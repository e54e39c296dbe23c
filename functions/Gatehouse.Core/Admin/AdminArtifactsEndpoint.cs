using System.Globalization;
using System.Text.Json;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Admin;

/// <summary>
/// <c>GET /admin/artifacts?q=…&amp;remote=…&amp;limit=…</c>: the console's artifact search (<see cref="ArtifactSearch"/>),
/// newest decision first. One content's verdict history is <c>GET /admin/quarantine/{sha256}</c>.
/// </summary>
public sealed class AdminArtifactsEndpoint(ArtifactSearch search)
{
    /// <summary>The remotes a search may be limited to.</summary>
    public static readonly IReadOnlyList<string> Remotes = ["pypi", "hf", "uploads"];

    /// <summary>The longest search text: longer than any sha256, project, repository or file name Gatehouse records.</summary>
    public const int MaxQueryLength = 500;

    private static readonly HashSet<string> Parameters = new(StringComparer.Ordinal) { "q", "remote", "limit" };

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public async Task HandleAsync(HttpContext context)
    {
        var query = context.Request.Query;
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "Artifacts are searched with GET /admin/artifacts?q=...");
            return;
        }
        if (query.Keys.FirstOrDefault(k => !Parameters.Contains(k)) is { } unknown)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"Unknown parameter '{unknown}'; artifacts are searched by q, remote and limit");
            return;
        }
        if (query.Keys.FirstOrDefault(k => query[k].Count > 1) is { } repeated)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"Give '{repeated}' once");
            return;
        }
        var q = query["q"].ToString();
        if (q.Length > MaxQueryLength || q.Any(char.IsControl))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"'q' is at most {MaxQueryLength} printable characters");
            return;
        }
        var remote = query["remote"].ToString() is { Length: > 0 } r ? r : null;
        if (remote is not null && !Remotes.Contains(remote))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"'remote' is one of {string.Join(", ", Remotes)}");
            return;
        }
        var limit = ArtifactSearch.DefaultLimit;
        if (query["limit"].ToString() is { Length: > 0 } limitText
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > ArtifactSearch.MaxLimit))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"'limit' is a whole number from 1 to {ArtifactSearch.MaxLimit}");
            return;
        }
        var found = await search.SearchAsync(q, remote, limit, context.RequestAborted);
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(new
        {
            Items = found.Items.Select(i => new
            {
                i.Remote, i.Subject, i.File, i.Version, i.Sha256, i.Size, Decision = i.Decision?.ToString(), i.Rule, i.PolicyRule, i.Reason, i.DecidedAt,
            }),
            found.Truncated,
        }, Json, context.RequestAborted);
    }
}
