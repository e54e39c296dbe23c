using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.Versions;

namespace Gatehouse.Audit;

/// <summary>What an artifact filter names: its kind, the text as normalised, and the index partition that holds its records.</summary>
public sealed record AuditArtifactFilter(AuditArtifactKind Kind, string Display, string IndexKey);

/// <summary>The shapes of artifact a query or the affected-consumer report accepts.</summary>
public enum AuditArtifactKind
{
    /// <summary>A content by its sha256, whatever it was called.</summary>
    Sha256,

    /// <summary>A package's release, <c>project==version</c> (PyPI, uploads).</summary>
    Release,

    /// <summary>Every release of a package, <c>project</c>.</summary>
    Package,

    /// <summary>A repository at a commit, <c>repo@commit</c> (Hugging Face).</summary>
    Commit,

    /// <summary>Every commit of a repository, <c>org/name</c> or <c>hf:name</c>.</summary>
    Repository,
}

/// <summary>
/// The audit's index: Table Storage has no secondary indexes, so every record is also written under each key it can be
/// found by (its content's sha256, its package and release or its repository and commit, its caller's token and the
/// token it is about). Index partitions are named <c>kind:value</c>; day partitions are digits only, so they never meet.
/// </summary>
public static partial class AuditIndex
{
    private const string Sha256Prefix = "sha256:";
    private const string PackagePrefix = "package:";
    private const string ReleasePrefix = "release:";
    private const string RepositoryPrefix = "repo:";
    private const string CommitPrefix = "commit:";
    private const string TokenPrefix = "token:";
    private const string HuggingFacePrefix = "hf:";
    private const string PypiPrefix = "pypi:";

    /// <summary>An artifact filter is short; anything longer is not a name Gatehouse records.</summary>
    public const int MaxFilterLength = 400;

    [GeneratedRegex("^[0-9a-fA-F]{64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Hex();

    // PEP 503 "Normalized Names": runs of -, _ and . are one -, lower-cased (https://peps.python.org/pep-0503/#normalized-names).
    [GeneratedRegex("[-_.]+", RegexOptions.CultureInvariant)]
    private static partial Regex NameSeparators();

    /// <summary>The partition of a token's records: those it made and those about it.</summary>
    public static string TokenKey(string tokenId) => TokenPrefix + Escape(tokenId);

    /// <summary>Every index partition a record belongs in, without repeats.</summary>
    public static IReadOnlyList<string> Keys(AuditArtifact? artifact, string? callerTokenId, string? subjectTokenId)
    {
        var keys = new List<string>();
        if (artifact is not null)
        {
            if (artifact.Sha256 is { } sha256 && Sha256Hex().IsMatch(sha256))
            {
                keys.Add(Sha256Prefix + sha256.ToLowerInvariant());
            }
            keys.AddRange(SubjectKeys(artifact.Subject));
        }
        foreach (var token in new[] { callerTokenId, subjectTokenId })
        {
            if (!string.IsNullOrEmpty(token))
            {
                keys.Add(TokenKey(token));
            }
        }
        return [.. keys.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Reads an artifact filter: a sha256 (64 hex digits), <c>project==version</c>, <c>project</c> (or <c>pypi:project</c>),
    /// <c>repo@commit</c>, or a repository (<c>org/name</c>, <c>datasets/org/name</c>, <c>hf:name</c>). Null with the
    /// problem when it is none of these.
    /// </summary>
    public static AuditArtifactFilter? ParseFilter(string? text, out string problem)
    {
        problem = "";
        var value = text?.Trim() ?? "";
        if (value.Length is 0 or > MaxFilterLength || value.Any(char.IsControl) || value.Contains(' ', StringComparison.Ordinal))
        {
            problem = $"An artifact is a sha256, project==version, project, repo@commit or org/repo (at most {MaxFilterLength} characters, no spaces)";
            return null;
        }
        if (Sha256Hex().IsMatch(value))
        {
            var sha256 = value.ToLowerInvariant();
            return new AuditArtifactFilter(AuditArtifactKind.Sha256, sha256, Sha256Prefix + sha256);
        }
        if (value.IndexOf("==", StringComparison.Ordinal) is var equals and > 0 && equals < value.Length - 2)
        {
            var (name, version) = (PackageName(value[..equals]), Version(value[(equals + 2)..]));
            return new AuditArtifactFilter(AuditArtifactKind.Release, $"{name}=={version}", ReleasePrefix + Escape($"{name}=={version}"));
        }
        var huggingFace = value.StartsWith(HuggingFacePrefix, StringComparison.OrdinalIgnoreCase);
        var rest = huggingFace ? value[HuggingFacePrefix.Length..] : value;
        if (rest.LastIndexOf('@') is var at and > 0 && at < rest.Length - 1)
        {
            var display = Repository(rest[..at]) + "@" + rest[(at + 1)..].ToLowerInvariant();
            return new AuditArtifactFilter(AuditArtifactKind.Commit, display, CommitPrefix + Escape(display));
        }
        if (huggingFace || rest.Contains('/', StringComparison.Ordinal))
        {
            var repository = Repository(rest.Trim('/'));
            return repository.Length == 0 ? Refuse(out problem) : new AuditArtifactFilter(AuditArtifactKind.Repository, repository, RepositoryPrefix + Escape(repository));
        }
        var package = PackageName(value.StartsWith(PypiPrefix, StringComparison.OrdinalIgnoreCase) ? value[PypiPrefix.Length..] : value);
        return package.Length == 0 || package.Contains('=', StringComparison.Ordinal) || package.Contains('@', StringComparison.Ordinal)
            ? Refuse(out problem)
            : new AuditArtifactFilter(AuditArtifactKind.Package, package, PackagePrefix + Escape(package));
    }

    private static AuditArtifactFilter? Refuse(out string problem)
    {
        problem = "An artifact is a sha256, project==version, project, repo@commit or org/repo";
        return null;
    }

    /// <summary>
    /// The keys of a subject as remotes name them: <c>project version</c> (PyPI; a version of <c>?</c> was not told by the
    /// file name) gives the package and its release, <c>repo@commit</c> (Hugging Face) the repository and the commit.
    /// </summary>
    private static IEnumerable<string> SubjectKeys(string subject)
    {
        if (subject.LastIndexOf('@') is var at and > 0 && at < subject.Length - 1 && !subject.Contains(' ', StringComparison.Ordinal))
        {
            var repository = Repository(subject[..at]);
            yield return RepositoryPrefix + Escape(repository);
            yield return CommitPrefix + Escape(repository + "@" + subject[(at + 1)..].ToLowerInvariant());
            yield break;
        }
        var parts = subject.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            yield break;
        }
        var name = PackageName(parts[0]);
        yield return PackagePrefix + Escape(name);
        if (parts.Length == 2 && parts[1] != "?")
        {
            yield return ReleasePrefix + Escape($"{name}=={Version(parts[1])}");
        }
    }

    private static string PackageName(string name) => NameSeparators().Replace(name.Trim(), "-").ToLowerInvariant();

    /// <summary>A PEP 440 version in its normal form (<c>v1.0</c> is <c>1.0</c>, <c>1.0-RC1</c> is <c>1.0rc1</c>), else as written, lower-cased.</summary>
    private static string Version(string version) =>
        Pep440Version.TryParse(version.Trim(), out var parsed) ? parsed.Public + (parsed.Local is { } local ? "+" + local : "") : version.Trim().ToLowerInvariant();

    // The Hub resolves repository names without regard to case, so the index does too.
    private static string Repository(string repository) => repository.Trim().ToLowerInvariant();

    /// <summary>
    /// Escapes what Azure Table keys forbid (<c>/ \ # ?</c> and control characters, per "Understanding the Table service
    /// data model", learn.microsoft.com/rest/api/storageservices) as <c>%XX</c>, and <c>%</c> itself, so distinct values stay distinct.
    /// </summary>
    internal static string Escape(string value)
    {
        var escaped = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (c is '/' or '\\' or '#' or '?' or '%' || char.IsControl(c))
            {
                escaped.Append(CultureInfo.InvariantCulture, $"%{(int)c:X2}");
            }
            else
            {
                escaped.Append(c);
            }
        }
        return escaped.ToString();
    }
}
