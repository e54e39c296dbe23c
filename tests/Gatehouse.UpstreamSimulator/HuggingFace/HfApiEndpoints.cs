using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.UpstreamSimulator.HuggingFace;

/// <summary>
/// The Hub's JSON API for models and datasets, as huggingface_hub's <c>hf_api.py</c> calls it:
/// <c>GET /api/{models|datasets}/{ns}/{name}[/revision/{rev}]</c>, <c>GET …/tree/{rev}[/{path}]</c> (paginated
/// with an absolute <c>Link: &lt;…&gt;; rel="next"</c>) and <c>POST …/paths-info/{rev}</c> (form or JSON body).
/// Routed on the raw path so <c>refs%2Fpr%2F1</c> works. LFS entries carry <c>xetHash</c> on purpose.
/// </summary>
internal static class HfApiEndpoints
{
    public static void Map(IEndpointRouteBuilder app, HfState state)
    {
        app.MapMethods("/api/models/{**rest}", ["GET", "POST"], (HttpContext context) => HandleAsync(context, state));
        app.MapMethods("/api/datasets/{**rest}", ["GET", "POST"], (HttpContext context) => HandleAsync(context, state));
    }

    private static async Task HandleAsync(HttpContext context, HfState state)
    {
        HfRequest.RecordAuthorization(context, state);
        var segments = HfRequest.Segments(context); // api, kind, ns, name, …
        if (segments.Count < 4)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var kind = segments[1];
        var repo = state.FindRepo(kind, segments[2] + "/" + segments[3]);
        var isPost = HttpMethods.IsPost(context.Request.Method);
        var action = segments.Count > 4 ? segments[4] : null;
        if (repo is null)
        {
            await HfRequest.RepoNotFoundAsync(context);
            return;
        }

        var index = 5;
        switch (action)
        {
            case null when !isPost:
                state.CountApi("info");
                await InfoAsync(context, state, repo, "main");
                return;
            case "revision" when !isPost && segments.Count > 5:
                state.CountApi("info");
                await InfoAsync(context, state, repo, HfRequest.TakeRevision(segments, ref index)!);
                return;
            case "tree" when !isPost && segments.Count > 5:
                state.CountApi("tree");
                var treeRev = HfRequest.TakeRevision(segments, ref index)!;
                await TreeAsync(context, state, repo, treeRev, string.Join('/', segments.Skip(index)));
                return;
            case "paths-info" when isPost && segments.Count > 5:
                state.CountApi("paths-info");
                await PathsInfoAsync(context, state, repo, HfRequest.TakeRevision(segments, ref index)!);
                return;
            default:
                // Not simulated (xet-read-token, commits, refs, discussions, …).
                await HfRequest.ErrorAsync(context, StatusCodes.Status404NotFound, "NotSimulated", "Not simulated by the Gatehouse upstream simulator", commit: null);
                return;
        }
    }

    private static async Task InfoAsync(HttpContext context, HfState state, HfRepo repo, string revision)
    {
        var commit = state.Resolve(repo, revision);
        if (commit is null)
        {
            await HfRequest.RevisionNotFoundAsync(context, revision);
            return;
        }

        var blobs = HfRequest.IsTrue(context.Request.Query["blobs"]);
        var siblings = new JsonArray();
        foreach (var file in commit.Files)
        {
            var sibling = new JsonObject { ["rfilename"] = file.Path };
            if (blobs)
            {
                sibling["blobId"] = file.Oid;
                sibling["size"] = file.Size;
                if (file.Lfs is { } lfs)
                {
                    sibling["lfs"] = new JsonObject { ["sha256"] = lfs.Oid, ["size"] = lfs.Size, ["pointerSize"] = lfs.PointerSize };
                }
            }

            siblings.Add(sibling);
        }

        var body = new JsonObject
        {
            ["_id"] = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(repo.Key)))[..24],
            ["id"] = repo.Id,
        };
        if (repo.Type == "model")
        {
            body["modelId"] = repo.Id;
        }

        body["author"] = repo.Id.Split('/')[0];
        body["sha"] = commit.Id;
        body["lastModified"] = commit.Date;
        body["createdAt"] = repo.CreatedAt;
        body["private"] = false;
        body["gated"] = false;
        body["disabled"] = false;
        body["downloads"] = 0;
        body["likes"] = 0;
        body["tags"] = new JsonArray(repo.Tags.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());
        body["cardData"] = repo.CardData.DeepClone();
        body["siblings"] = siblings;
        await HfRequest.JsonAsync(context, body);
    }

    private static async Task TreeAsync(HttpContext context, HfState state, HfRepo repo, string revision, string path)
    {
        var commit = state.Resolve(repo, revision);
        if (commit is null)
        {
            await HfRequest.RevisionNotFoundAsync(context, revision);
            return;
        }

        path = path.Trim('/');
        var query = context.Request.Query;
        var recursive = HfRequest.IsTrue(query["recursive"]);
        var expand = HfRequest.IsTrue(query["expand"]);
        var prefix = path.Length == 0 ? string.Empty : path + "/";
        var under = commit.Files.Where(f => f.Path.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        if (under.Count == 0)
        {
            await HfRequest.EntryNotFoundAsync(context, path, commit.Id);
            return;
        }

        var entries = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var file in under)
        {
            var rest = file.Path[prefix.Length..];
            var parts = rest.Split('/');
            // Directories between the listed folder and the file.
            for (var depth = 1; depth < parts.Length && (recursive || depth == 1); depth++)
            {
                var dir = prefix + string.Join('/', parts.Take(depth));
                entries.TryAdd(dir, DirectoryEntry(commit, dir, expand ? repo : null));
            }

            if (recursive || parts.Length == 1)
            {
                entries[file.Path] = FileEntry(repo, commit, file, expand);
            }
        }

        var all = entries.Values.ToList();
        var offset = ParseCursor(query["cursor"]);
        var pageSize = state.PageSize;
        var page = all.Skip(offset).Take(pageSize).ToList();
        if (offset + page.Count < all.Count)
        {
            var next = new StringBuilder(HfRequest.Origin(context)).Append(HfRequest.RawPath(context)).Append('?');
            foreach (var (key, values) in query.Where(q => q.Key != "cursor"))
            {
                foreach (var value in values)
                {
                    next.Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value ?? string.Empty)).Append('&');
                }
            }

            next.Append("cursor=").Append(Uri.EscapeDataString(MakeCursor(offset + page.Count)));
            context.Response.Headers.Link = $"<{next}>; rel=\"next\"";
        }

        await HfRequest.JsonAsync(context, new JsonArray(page.Select(e => (JsonNode?)e).ToArray()));
    }

    private static async Task PathsInfoAsync(HttpContext context, HfState state, HfRepo repo, string revision)
    {
        var commit = state.Resolve(repo, revision);
        if (commit is null)
        {
            await HfRequest.RevisionNotFoundAsync(context, revision);
            return;
        }

        var paths = new List<string>();
        var expand = false;
        var request = context.Request;
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(context.RequestAborted);
            paths.AddRange(form["paths"].Where(p => p is not null)!);
            expand = HfRequest.IsTrue(form["expand"]);
        }
        else if (request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true)
        {
            JsonNode? body;
            try
            {
                body = await JsonNode.ParseAsync(request.Body, cancellationToken: context.RequestAborted);
            }
            catch (JsonException)
            {
                body = null;
            }

            if (body is JsonObject o)
            {
                switch (o["paths"])
                {
                    case JsonArray a:
                        paths.AddRange(a.Select(p => p?.GetValue<string>()).OfType<string>());
                        break;
                    case JsonValue v when v.TryGetValue<string>(out var single):
                        paths.Add(single);
                        break;
                }

                expand = o["expand"] is JsonValue e && (e.TryGetValue<bool>(out var b) ? b : HfRequest.IsTrue(e.ToString()));
            }
        }

        if (paths.Count == 0)
        {
            await HfRequest.ErrorAsync(context, StatusCodes.Status400BadRequest, "BadRequest", "paths is required (form field or JSON array)", commit: null);
            return;
        }

        // Paths that do not exist are left out, as the Hub does; folders get a directory entry.
        var result = new JsonArray();
        foreach (var path in paths.Select(p => p.Trim('/')).Distinct(StringComparer.Ordinal))
        {
            if (commit.Find(path) is { } file)
            {
                result.Add(FileEntry(repo, commit, file, expand));
            }
            else if (path.Length > 0 && commit.Files.Any(f => f.Path.StartsWith(path + "/", StringComparison.Ordinal)))
            {
                result.Add(DirectoryEntry(commit, path, expand ? repo : null));
            }
        }

        await HfRequest.JsonAsync(context, result);
    }

    internal static JsonObject FileEntry(HfRepo repo, HfCommit commit, HfFile file, bool expand)
    {
        var entry = new JsonObject { ["type"] = "file", ["oid"] = file.Oid, ["size"] = file.Size, ["path"] = file.Path };
        if (file.Lfs is { } lfs)
        {
            entry["lfs"] = new JsonObject { ["oid"] = lfs.Oid, ["size"] = lfs.Size, ["pointerSize"] = lfs.PointerSize };
        }

        if (file.XetHash is { } xet)
        {
            entry["xetHash"] = xet;
        }

        if (expand)
        {
            entry["lastCommit"] = LastCommit(repo, commit, file.Path);
        }

        return entry;
    }

    private static JsonObject DirectoryEntry(HfCommit commit, string dir, HfRepo? expandFor)
    {
        var entry = new JsonObject
        {
            ["type"] = "directory",
            ["oid"] = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes($"tree {commit.Id} {dir}"))),
            ["size"] = 0,
            ["path"] = dir,
        };
        if (expandFor is not null)
        {
            entry["lastCommit"] = LastCommit(expandFor, commit, dir);
        }

        return entry;
    }

    /// <summary>The oldest commit (manifest order is history order) from which the path is unchanged up to <paramref name="at"/>.</summary>
    private static JsonObject LastCommit(HfRepo repo, HfCommit at, string path)
    {
        string Fingerprint(HfCommit c) => string.Join(',', c.Files
            .Where(f => f.Path == path || f.Path.StartsWith(path + "/", StringComparison.Ordinal))
            .Select(f => f.Path + ":" + f.Sha1));

        var position = repo.Commits.ToList().FindIndex(c => c.Id == at.Id);
        var current = Fingerprint(at);
        var last = at;
        for (var i = position - 1; i >= 0 && Fingerprint(repo.Commits[i]) == current; i--)
        {
            last = repo.Commits[i];
        }

        return new JsonObject { ["id"] = last.Id, ["title"] = last.Title, ["date"] = last.Date };
    }

    private static string MakeCursor(int offset) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes("offset:" + offset.ToString(CultureInfo.InvariantCulture)));

    private static int ParseCursor(string? cursor)
    {
        if (string.IsNullOrEmpty(cursor))
        {
            return 0;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(cursor));
            return text.StartsWith("offset:", StringComparison.Ordinal)
                && int.TryParse(text.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
        }
        catch (FormatException)
        {
            return 0;
        }
    }
}
