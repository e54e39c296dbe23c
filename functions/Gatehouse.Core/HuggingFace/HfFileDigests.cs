using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.HuggingFace;

/// <summary>
/// Pure helpers for the <c>resolve</c> path: reading the Hub's digests from its headers (<c>ETag</c> is a regular
/// file's git blob sha1, <c>X-Linked-Etag</c> an LFS file's sha256; huggingface_hub <c>file_download.py</c>), the git
/// blob sha1 of a small file, and the Table keys of a (repo, commit, path) reference.
/// </summary>
public static class HfFileDigests
{
    /// <summary>The value of an ETag-like header without <c>W/</c> and quotes, lower-cased; null when empty.</summary>
    public static string? Unquote(string? etag)
    {
        if (string.IsNullOrWhiteSpace(etag))
        {
            return null;
        }
        var value = etag.Trim();
        if (value.StartsWith("W/", StringComparison.Ordinal))
        {
            value = value[2..];
        }
        value = value.Trim('"').ToLowerInvariant();
        return value.Length == 0 ? null : value;
    }

    /// <summary>A sha256 from <c>X-Linked-Etag</c>, or null when it is not 64 hex digits.</summary>
    public static string? Sha256(string? etag) => Unquote(etag) is { Length: 64 } v && IsHex(v) ? v : null;

    /// <summary>A git sha1 from <c>ETag</c> (or a commit id), or null when it is not 40 hex digits.</summary>
    public static string? Sha1(string? etag) => Unquote(etag) is { Length: 40 } v && IsHex(v) ? v : null;

    /// <summary>The revision names a commit (40 hex digits), not a branch or tag: what it names never changes.</summary>
    public static bool IsCommit(string? revision) => revision is not null && Sha1(revision) == revision;

    /// <summary>git's object id of a file: <c>sha1("blob {size}\0" + bytes)</c>, lower-case hex.</summary>
    public static string GitBlobSha1(ReadOnlySpan<byte> content)
    {
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(Encoding.ASCII.GetBytes($"blob {content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)}\0"));
        sha1.AppendData(content);
        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }

    /// <summary>The reference partition of a repo: <c>hf:{repo}</c> for models, <c>hf:datasets/{repo}</c> for datasets, escaped.</summary>
    public static string ReferencePartition(string repoType, string repoId) =>
        "hf:" + EscapeKey(repoType == "datasets" ? "datasets/" + repoId : repoId);

    /// <summary>How scans and the audit name a repository at a commit: <c>{repo}@{commit}</c>, <c>datasets/{repo}@{commit}</c>.</summary>
    public static string Subject(string repoType, string repoId, string commit) =>
        (repoType == "datasets" ? "datasets/" : "") + repoId + "@" + commit;

    /// <summary>The reference row of a commit-pinned path: <c>{commit}/{path}</c>, escaped.</summary>
    public static string ReferenceRowKey(string commit, string path) => EscapeKey(commit + "/" + path);

    /// <summary>Escapes what Azure Table keys forbid, reversibly (<see cref="Pipeline.ReferenceKey.Escape"/>).</summary>
    public static string EscapeKey(string value) => Pipeline.ReferenceKey.Escape(value);

    /// <summary>The upstream resolve path for a file, each part percent-encoded (folder slashes kept).</summary>
    public static string ResolvePath(string repoType, string repoId, string revision, string path) =>
        (repoType == "datasets" ? "datasets/" : "") + repoId + "/resolve/" + Uri.EscapeDataString(revision) + "/"
        + string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    private static bool IsHex(string value) => value.All(char.IsAsciiHexDigit);
}
