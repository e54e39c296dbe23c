using Gatehouse.HuggingFace;
using Gatehouse.PyPI;

namespace Gatehouse.Bom;

/// <summary>
/// What a bill of materials is asked for: a PyPI project, or a Hugging Face model or dataset repository, and the
/// <c>references</c> partition that holds every file Gatehouse recorded for it.
/// </summary>
/// <param name="Remote"><c>pypi</c> or <c>hf</c>.</param>
/// <param name="Name">The PEP 503 normalised project, or the repository id (<c>org/name</c>).</param>
/// <param name="RepoType"><c>models</c> or <c>datasets</c> for Hugging Face; null for PyPI.</param>
public sealed record BomSubject(string Remote, string Name, string? RepoType)
{
    public const string PypiRemote = "pypi";
    public const string HfRemote = "hf";
    private const string DatasetsPrefix = "datasets/";
    private const string ModelsPrefix = "models/";

    /// <summary>The partition of the <c>references</c> table with this subject's files.</summary>
    public string Partition => RepoType is null ? PyPIRemote.Partition(Name) : HfFileDigests.ReferencePartition(RepoType, Name);

    public bool IsDataset => RepoType == "datasets";

    /// <summary>How people name it: the project, <c>org/name</c>, or <c>datasets/org/name</c>.</summary>
    public string Display => IsDataset ? DatasetsPrefix + Name : Name;

    /// <summary>
    /// Reads <c>pypi &lt;project&gt;</c> or <c>hf &lt;org/name | datasets/org/name&gt;</c> (a Hub id has one or two
    /// segments, e.g. <c>gpt2</c> or <c>openai-community/gpt2</c>); null with the problem otherwise.
    /// </summary>
    public static BomSubject? TryParse(string? remote, string? name, out string problem)
    {
        problem = "";
        var trimmed = name?.Trim('/') ?? "";
        if (remote == PypiRemote)
        {
            if (ProjectName.IsValid(trimmed))
            {
                return new BomSubject(PypiRemote, ProjectName.Normalize(trimmed), null);
            }
            problem = $"'{name}' is not a PyPI project name";
            return null;
        }
        if (remote == HfRemote)
        {
            var (repoType, repoId) = trimmed.StartsWith(DatasetsPrefix, StringComparison.Ordinal) ? ("datasets", trimmed[DatasetsPrefix.Length..])
                : trimmed.StartsWith(ModelsPrefix, StringComparison.Ordinal) ? ("models", trimmed[ModelsPrefix.Length..])
                : ("models", trimmed);
            var segments = repoId.Split('/');
            if (segments.Length is 1 or 2 && segments.All(s => s.Length > 0 && s != "." && s != ".." && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            {
                return new BomSubject(HfRemote, repoId, repoType);
            }
            problem = $"'{name}' is not a Hugging Face repository id (org/name, or datasets/org/name)";
            return null;
        }
        problem = $"'{remote}' is not a remote: use pypi or hf";
        return null;
    }
}
