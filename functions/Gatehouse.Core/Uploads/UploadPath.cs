using Gatehouse.Pipeline;
using Gatehouse.PyPI;

namespace Gatehouse.Uploads;

/// <summary>What an uploaded file is by where it was written: a model file, a Python distribution, or anything else.</summary>
public enum UploadArea
{
    /// <summary><c>models/&lt;org&gt;/&lt;name&gt;/&lt;file…&gt;</c>: a team's model, judged like a Hugging Face file.</summary>
    Model,

    /// <summary><c>pypi/&lt;project&gt;/&lt;file&gt;</c>: an internal distribution, judged like a PyPI file.</summary>
    Package,

    /// <summary>Any other path: judged on its bytes, promising nothing by its name.</summary>
    Other,
}

/// <summary>
/// A blob name in the <c>uploads</c> container read as the layout users follow: <c>models/&lt;org&gt;/&lt;name&gt;/&lt;file…&gt;</c>
/// (the repository is the first three segments, the rest is the file's path in it) and <c>pypi/&lt;project&gt;/&lt;file&gt;</c>
/// (a wheel or sdist of one project). Any other name is accepted too: its folder is its subject. The reference key is
/// <c>uploads:&lt;subject&gt;</c> / the file's path in it, escaped as table keys need.
/// </summary>
public sealed record UploadPath(string Name, UploadArea Area, string Subject, string RelativePath)
{
    /// <summary>The longest blob name Azure Storage accepts (1,024 characters, "Naming and referencing containers, blobs, and metadata").</summary>
    public const int MaxLength = 1024;

    /// <summary>The file's own name (the last segment).</summary>
    public string FileName => Name[(Name.LastIndexOf('/') + 1)..];

    /// <summary>Where the file's reference is recorded.</summary>
    public ReferenceKey Key => new("uploads:" + ReferenceKey.Escape(Subject), ReferenceKey.Escape(RelativePath));

    /// <summary>
    /// Reads a blob name (or the path of <c>/uploads/{path}</c>); null for one that is empty, too long, has empty,
    /// <c>.</c> or <c>..</c> segments, or control characters, so one file has one name.
    /// </summary>
    public static UploadPath? Parse(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength || name.Any(char.IsControl) || name.Contains('\\'))
        {
            return null;
        }
        var segments = name.Split('/');
        if (segments.Any(s => s is "" or "." or ".."))
        {
            return null;
        }
        if (segments.Length >= 4 && segments[0] == "models")
        {
            return new UploadPath(name, UploadArea.Model, string.Join('/', segments[..3]), string.Join('/', segments[3..]));
        }
        if (segments.Length == 3 && segments[0] == "pypi" && ProjectName.IsValid(segments[1]))
        {
            return new UploadPath(name, UploadArea.Package, "pypi/" + ProjectName.Normalize(segments[1]), segments[2]);
        }
        var slash = name.LastIndexOf('/');
        return new UploadPath(name, UploadArea.Other, slash < 0 ? "" : name[..slash], name[(slash + 1)..]);
    }
}
