using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Upstream;

namespace Gatehouse.HuggingFace;

/// <summary>
/// What a whole-repository prefetch needs from the Hub's API: the commit a revision points at
/// (<c>GET /api/{type}/{repo}/revision/{rev}</c> → <c>sha</c>) and every file at that commit
/// (<c>GET /api/{type}/{repo}/tree/{commit}?recursive=true</c>, following <c>Link rel="next"</c> on the Hub's host only).
/// </summary>
public sealed class HfRepository(HuggingFaceUpstream upstream)
{
    /// <summary>The commit <paramref name="revision"/> names, or the Hub's refusal (status, error code, message).</summary>
    public async Task<HfLookup<string>> ResolveCommitAsync(string repoType, string repoId, string revision, CancellationToken cancellationToken)
    {
        var path = $"api/{repoType}/{repoId}/revision/{Uri.EscapeDataString(revision)}";
        using var response = await upstream.SendApiAsync(HttpMethod.Get, path, null, null, cancellationToken);
        if (response.Failure is { } failure)
        {
            return HfLookup<string>.Failed(HttpStatusCode.BadGateway, null, failure.Message);
        }
        if (!response.IsSuccess)
        {
            return Refusal<string>(response, $"{repoId}@{revision}");
        }
        var (json, _) = await response.ReadJsonAsync(cancellationToken);
        return HfFileDigests.Sha1(json?["sha"]?.GetValue<string>()) is { } commit
            ? HfLookup<string>.Found(commit)
            : HfLookup<string>.Failed(HttpStatusCode.BadGateway, null, "The Hugging Face upstream did not name the commit of that revision");
    }

    /// <summary>
    /// Every file (not folder) at <paramref name="commit"/>, at most <paramref name="maxFiles"/> of them from at most
    /// <paramref name="maxPages"/> pages: an upstream that keeps answering <c>rel="next"</c> (even with empty pages) is
    /// refused once the pages run out, instead of being followed for ever.
    /// </summary>
    public async Task<HfLookup<IReadOnlyList<HfRepoFile>>> ListFilesAsync(string repoType, string repoId, string commit, int maxFiles, int maxPages,
        CancellationToken cancellationToken)
    {
        var files = new List<HfRepoFile>();
        var next = $"api/{repoType}/{repoId}/tree/{commit}?recursive=true&expand=false";
        for (var page = 0; next is not null; page++)
        {
            if (page >= maxPages)
            {
                return HfLookup<IReadOnlyList<HfRepoFile>>.Failed(HttpStatusCode.UnprocessableEntity, null,
                    $"The tree of {repoId}@{commit} did not end within {maxPages} pages ({files.Count} files so far), the prefetch limit (Gatehouse__Prefetch__MaxTreePages)");
            }
            using var response = await upstream.SendApiAsync(HttpMethod.Get, next, null, null, cancellationToken);
            if (response.Failure is { } failure)
            {
                return HfLookup<IReadOnlyList<HfRepoFile>>.Failed(HttpStatusCode.BadGateway, null, failure.Message);
            }
            if (!response.IsSuccess)
            {
                return Refusal<IReadOnlyList<HfRepoFile>>(response, $"{repoId}@{commit}");
            }
            var (json, problem) = await response.ReadJsonAsync(cancellationToken);
            if (json is not JsonArray entries)
            {
                return HfLookup<IReadOnlyList<HfRepoFile>>.Failed(HttpStatusCode.BadGateway, null, problem?.Message ?? "The Hugging Face upstream sent an unreadable tree");
            }
            foreach (var entry in entries)
            {
                if (entry?["type"]?.GetValue<string>() != "file")
                {
                    continue;
                }
                if (ParseFile(entry) is not { } file)
                {
                    return HfLookup<IReadOnlyList<HfRepoFile>>.Failed(HttpStatusCode.BadGateway, null,
                        $"The Hugging Face upstream listed a file Gatehouse cannot verify: {entry["path"]?.ToJsonString()}");
                }
                files.Add(file);
                if (files.Count > maxFiles)
                {
                    return HfLookup<IReadOnlyList<HfRepoFile>>.Failed(HttpStatusCode.UnprocessableEntity, null,
                        $"{repoId} has more than {maxFiles} files, the prefetch limit (Gatehouse__Prefetch__MaxFiles)");
                }
            }
            next = NextPage(response);
        }
        return HfLookup<IReadOnlyList<HfRepoFile>>.Found(files);
    }

    /// <summary>A tree entry with a safe path, a size, its git oid and, for LFS files, the sha256 and size the Hub stores.</summary>
    internal static HfRepoFile? ParseFile(JsonNode entry)
    {
        try
        {
            var path = entry["path"]?.GetValue<string>();
            var oid = HfFileDigests.Sha1(entry["oid"]?.GetValue<string>());
            var size = entry["size"]?.GetValue<long>() ?? -1;
            if (path is null || !HfRequestPath.IsValidPath(path) || oid is null || size < 0)
            {
                return null;
            }
            if (entry["lfs"] is JsonObject lfs)
            {
                var sha256 = HfFileDigests.Sha256(lfs["oid"]?.GetValue<string>());
                var lfsSize = lfs["size"]?.GetValue<long>() ?? -1;
                return sha256 is null || lfsSize < 0 ? null : new HfRepoFile(path, lfsSize, oid, sha256);
            }
            return new HfRepoFile(path, size, oid, null);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>The next page's path on the Hub's host, or null (other hosts are never followed).</summary>
    private string? NextPage(UpstreamResponse response)
    {
        if (response.Header("Link") is not { } values)
        {
            return null;
        }
        foreach (var link in values.Split(','))
        {
            var parts = link.Split(';');
            if (parts.Length < 2 || !parts.Skip(1).Any(p => p.Trim().Equals("rel=\"next\"", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }
            var target = parts[0].Trim().TrimStart('<').TrimEnd('>');
            var prefix = upstream.EndpointBase + "/";
            if (target.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return target[prefix.Length..];
            }
            return target.StartsWith('/') && !target.StartsWith("//", StringComparison.Ordinal) ? target[1..] : null;
        }
        return null;
    }

    private static HfLookup<T> Refusal<T>(UpstreamResponse response, string what)
    {
        var code = response.Header("X-Error-Code");
        var message = response.Header("X-Error-Message");
        var status = response.StatusCode;
        if (status == HttpStatusCode.Unauthorized)
        {
            // Gatehouse's caller is entitled; a 401 upstream means the repo is private/unknown to Gatehouse's identity.
            status = code == "RepoNotFound" ? HttpStatusCode.NotFound : HttpStatusCode.BadGateway;
            message ??= code == "RepoNotFound" ? $"Repository not found: {what}" : "The Hugging Face upstream refused Gatehouse's credentials";
        }
        return HfLookup<T>.Failed(status, code,
            message ?? $"The Hugging Face upstream answered {((int)status).ToString(CultureInfo.InvariantCulture)} for {what}");
    }
}

/// <summary>A value from the Hub, or why there is none (an HTTP status to answer with, the Hub's error code, a message).</summary>
public sealed record HfLookup<T>(T? Value, HttpStatusCode Status, string? ErrorCode, string? Error)
{
    public static HfLookup<T> Found(T value) => new(value, HttpStatusCode.OK, null, null);
    public static HfLookup<T> Failed(HttpStatusCode status, string? code, string message) => new(default, status, code, message);
}

/// <summary>One file of a repository at a commit: its git object id, and the sha256 the Hub stores for LFS files.</summary>
/// <param name="Path">Path in the repository.</param>
/// <param name="Size">Size of the file's content (the LFS object's size for LFS files).</param>
/// <param name="GitOid">The tree's <c>oid</c>: git sha1 of the bytes (regular files) or of the LFS pointer.</param>
/// <param name="LfsSha256">The LFS object's sha256, or null for a regular (small) file.</param>
public sealed record HfRepoFile(string Path, long Size, string GitOid, string? LfsSha256);
