using System.Globalization;
using System.Text;

namespace Gatehouse.Pipeline;

/// <summary>Where a reference is stored: its remote's partition (a project, a repository) and its row (a file, a commit and path).</summary>
public sealed record ReferenceKey(string Partition, string Row)
{
    /// <summary>
    /// Escapes what Azure Table keys forbid (<c>/ \ # ?</c> and control characters, "Understanding the Table service data
    /// model") as <c>%XX</c>, and <c>%</c> itself, so the mapping is reversible and distinct inputs give distinct keys.
    /// </summary>
    public static string Escape(string value)
    {
        var sb = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (c is '%' or '/' or '\\' or '#' or '?' || char.IsControl(c))
            {
                sb.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}

/// <summary>
/// One file a remote names, pointing at one content: the context in which the content is judged. Recorded before any
/// byte is served; a file is served only under a reference Gatehouse recorded.
/// </summary>
/// <param name="Remote">The remote the file came through.</param>
/// <param name="Key">The remote's key for the file.</param>
/// <param name="Subject">How people name where it came from: "gh-demo 1.0.0", "org/model@commit".</param>
/// <param name="FileName">The file's name as its remote names it (the last path segment).</param>
/// <param name="Sha256">The content's lower-case hex sha256, as the upstream promised it.</param>
/// <param name="Size">The size the upstream promised, or 0 when it did not say.</param>
/// <param name="UpstreamUrl">Where the remote fetches it.</param>
/// <param name="UploadTime">When the upstream says it was published (or first fetched), ISO 8601; null when unknown.</param>
/// <param name="ClientEtag">The etag the remote's clients key the file by, where it is not the sha256 (Hugging Face: a git sha1).</param>
public sealed record ArtifactReference(
    RemoteKind Remote, ReferenceKey Key, string Subject, string FileName, string Sha256, long Size, string UpstreamUrl, string? UploadTime,
    string? ClientEtag = null);
