using System.Text.RegularExpressions;

namespace Gatehouse.HuggingFace;

/// <summary>
/// What a request under <c>/hf/</c> asks for: the Hub routes that download clients call (huggingface_hub
/// <c>file_download.py</c>, <c>hf_api.py</c>).
/// </summary>
public enum HfAction
{
    /// <summary><c>GET /api/{type}/{repo}[/revision/{rev}]</c>.</summary>
    Info,
    /// <summary><c>GET /api/{type}/{repo}/tree/{rev}[/{path}]</c>.</summary>
    Tree,
    /// <summary><c>POST /api/{type}/{repo}/paths-info/{rev}</c>.</summary>
    PathsInfo,
    /// <summary><c>/{repo}/resolve/…</c>, <c>/datasets/{repo}/resolve/…</c>: file downloads (not served yet).</summary>
    Resolve,
    /// <summary>Anything about a Space.</summary>
    Spaces,
    /// <summary>Any other Hub route (xet-read-token, commits, whoami, search, kernels, …).</summary>
    NotServed,
}

/// <summary>A parsed and validated <c>/hf/</c> request. <see cref="RepoType"/> is <c>models</c> or <c>datasets</c>.</summary>
public sealed record HfRoute(HfAction Action, string RepoType, string RepoId, string? Revision, string Path);

/// <summary>The parse result: a route, or the reason the request is refused with 400 before any upstream call.</summary>
public sealed record HfParseResult(HfRoute? Route, string? Error)
{
    public static HfParseResult Ok(HfRoute route) => new(route, null);
    public static HfParseResult Bad(string error) => new(null, error);
    public static HfParseResult Other(HfAction action) => new(new HfRoute(action, "", "", null, ""), null);
}

/// <summary>
/// Parses the raw request path after <c>/hf/</c>. Works on the raw target so a revision sent as one encoded segment
/// (<c>refs%2Fpr%2F1</c>) and a raw one (<c>refs/pr/1</c>) both work; each segment is percent-decoded once, then
/// validated. Nothing here touches the network.
/// </summary>
public static partial class HfRequestPath
{
    public const int MaxRevisionLength = 256;
    private const int MaxPathLength = 4096;

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}\z", RegexOptions.CultureInvariant)]
    private static partial Regex RepoIdPattern();

    /// <summary>Parses <paramref name="rawPath"/>, the raw path (no query) with the leading <c>/hf/</c> removed.</summary>
    public static HfParseResult Parse(string rawPath)
    {
        var raw = rawPath.Split('/');
        var segments = new List<string>(raw.Length);
        foreach (var segment in raw)
        {
            string decoded;
            try
            {
                decoded = Uri.UnescapeDataString(segment);
            }
            catch (UriFormatException)
            {
                return HfParseResult.Bad("The request path is not valid percent-encoding");
            }
            if (decoded.Contains('\0'))
            {
                return HfParseResult.Bad("The request path contains a NUL character");
            }
            segments.Add(decoded);
        }
        // "/hf//name/resolve/…" is a resolve URL with an empty namespace: a bad repository id, not an unknown API.
        if (segments.Count == 0 || (segments[0].Length == 0 && !(segments.Count > 2 && segments[2] == "resolve")))
        {
            return HfParseResult.Other(HfAction.NotServed);
        }
        return segments[0] == "api" ? ParseApi(segments) : ParseFile(segments);
    }

    private static HfParseResult ParseApi(List<string> segments)
    {
        if (segments.Count < 2)
        {
            return HfParseResult.Other(HfAction.NotServed);
        }
        var type = segments[1];
        if (type == "spaces")
        {
            return HfParseResult.Other(HfAction.Spaces);
        }
        if (type is not ("models" or "datasets") || segments.Count < 4)
        {
            return HfParseResult.Other(HfAction.NotServed);
        }
        var repoId = segments[2] + "/" + segments[3];
        if (!IsValidRepoId(repoId))
        {
            return HfParseResult.Bad($"'{Printable(repoId)}' is not a valid Hugging Face repository id");
        }
        var action = segments.Count > 4 ? segments[4] : "";
        switch (action)
        {
            case "" when segments.Count <= 5:
                return HfParseResult.Ok(new HfRoute(HfAction.Info, type, repoId, null, ""));
            case "revision" when segments.Count > 5:
                return WithRevision(HfAction.Info, type, repoId, string.Join('/', segments.Skip(5)), "");
            case "paths-info" when segments.Count > 5:
                return WithRevision(HfAction.PathsInfo, type, repoId, string.Join('/', segments.Skip(5)), "");
            case "tree" when segments.Count > 5:
                var index = 5;
                var revision = TakeRevision(segments, ref index);
                var path = string.Join('/', segments.Skip(index)).TrimEnd('/');
                return WithRevision(HfAction.Tree, type, repoId, revision, path);
            default:
                return HfParseResult.Other(HfAction.NotServed);
        }
    }

    private static HfParseResult ParseFile(List<string> segments)
    {
        if (segments[0] == "spaces")
        {
            return HfParseResult.Other(HfAction.Spaces);
        }
        var offset = segments[0] == "datasets" ? 1 : 0;
        if (segments.Count < offset + 3 || segments[offset + 2] != "resolve")
        {
            return HfParseResult.Other(HfAction.NotServed);
        }
        var repoId = segments[offset] + "/" + segments[offset + 1];
        if (!IsValidRepoId(repoId))
        {
            return HfParseResult.Bad($"'{Printable(repoId)}' is not a valid Hugging Face repository id");
        }
        var index = offset + 3;
        if (index >= segments.Count)
        {
            return HfParseResult.Bad("A resolve URL needs a revision and a file path");
        }
        var revision = TakeRevision(segments, ref index);
        var path = string.Join('/', segments.Skip(index));
        if (path.Length == 0)
        {
            return HfParseResult.Bad("A resolve URL needs a file path");
        }
        return WithRevision(HfAction.Resolve, offset == 1 ? "datasets" : "models", repoId, revision, path);
    }

    private static HfParseResult WithRevision(HfAction action, string type, string repoId, string revision, string path)
    {
        if (!IsValidRevision(revision))
        {
            return HfParseResult.Bad($"'{Printable(revision)}' is not a valid revision");
        }
        if (path.Length > 0 && !IsValidPath(path))
        {
            return HfParseResult.Bad($"'{Printable(path)}' is not a valid repository path");
        }
        return HfParseResult.Ok(new HfRoute(action, type, repoId, revision, path));
    }

    /// <summary>A raw <c>refs/pr/N</c> (or <c>refs/heads|tags|convert/X</c>) spans three segments; otherwise one.</summary>
    private static string TakeRevision(List<string> segments, ref int index)
    {
        var first = segments[index];
        if (first == "refs" && index + 2 < segments.Count && segments[index + 1] is "pr" or "heads" or "tags" or "convert")
        {
            var revision = string.Join('/', segments.Skip(index).Take(3));
            index += 3;
            return revision;
        }
        index++;
        return first;
    }

    /// <summary><c>ns/name</c>: the Hub's character set, each part ≤ 96 chars, no <c>--</c> (cache folder separator), no <c>..</c>.</summary>
    public static bool IsValidRepoId(string repoId) =>
        RepoIdPattern().IsMatch(repoId) && !repoId.Contains("--", StringComparison.Ordinal) && !repoId.Contains("..", StringComparison.Ordinal);

    /// <summary>
    /// A branch, tag, <c>refs/pr/N</c> or commit, by git's ref-name rules (<c>git check-ref-format</c>): ≤ 256 chars;
    /// no <c>..</c>, <c>@{</c>, space, <c>~ ^ : ? * [ \</c> or control character; no empty component or one starting
    /// with <c>.</c> or ending with <c>.lock</c>; not ending with <c>.</c>; not <c>@</c>.
    /// </summary>
    public static bool IsValidRevision(string revision) =>
        revision.Length is > 0 and <= MaxRevisionLength
        && revision != "@"
        && !revision.Contains("..", StringComparison.Ordinal) && !revision.Contains("@{", StringComparison.Ordinal)
        && !revision.EndsWith('.')
        && !revision.Any(c => c is ' ' or '~' or '^' or ':' or '?' or '*' or '[' or '\\' || char.IsControl(c))
        && revision.Split('/').All(part => part.Length > 0 && !part.StartsWith('.') && !part.EndsWith(".lock", StringComparison.Ordinal));

    /// <summary>A relative file or folder path in a repository: no <c>..</c> or <c>.</c> segment, no leading slash, no backslash or control character, also once more decoded.</summary>
    public static bool IsValidPath(string path)
    {
        if (path.Length is 0 or > MaxPathLength || path.StartsWith('/'))
        {
            return false;
        }
        if (!IsCleanPath(path))
        {
            return false;
        }
        if (!path.Contains('%'))
        {
            return true;
        }
        // A second decoding must not reveal traversal either (%252e%252e → %2e%2e → ..).
        if (path.Contains("%2e%2e", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        try
        {
            var again = Uri.UnescapeDataString(path);
            return !again.StartsWith('/') && IsCleanPath(again);
        }
        catch (UriFormatException)
        {
            return false;
        }
    }

    private static bool IsCleanPath(string path)
    {
        if (path.Any(c => c == '\\' || char.IsControl(c)))
        {
            return false;
        }
        foreach (var segment in path.Split('/'))
        {
            if (segment is "." or ".." || segment.Length == 0)
            {
                return false;
            }
        }
        return true;
    }

    private static string Printable(string value)
    {
        var cut = value.Length > 120 ? value[..120] + "…" : value;
        return new string(cut.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }
}
