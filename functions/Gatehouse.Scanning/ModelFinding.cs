namespace Gatehouse.Scanning;

/// <summary>One explained observation, with enough to find it again in the file.</summary>
/// <param name="Rule">Stable rule id, e.g. "pickle.dangerous-global", "zip.bad-crc".</param>
/// <param name="Level">How bad it is.</param>
/// <param name="Message">One sentence a developer understands.</param>
/// <param name="Path">Where inside the file: a member path such as "archive/data.pkl" (null for the file itself).</param>
/// <param name="Offset">Byte offset within that member or file, when there is one.</param>
/// <param name="Global">The resolved global after name mapping, e.g. "os.system", when one is involved.</param>
/// <param name="CallSite">The opcode that uses it, e.g. "REDUCE", "BUILD", "NEWOBJ", when one is involved.</param>
public sealed record ModelFinding(string Rule, ScanLevel Level, string Message, string? Path = null, long? Offset = null, string? Global = null, string? CallSite = null);

/// <summary>The verdict for one file.</summary>
/// <param name="Path">The file as the caller named it.</param>
/// <param name="Format">What the content turned out to be ("pytorch-zip", "pickle", "safetensors", "npy", …), told by content.</param>
/// <param name="Verdict">The worst level among the findings; Safe when there are none.</param>
/// <param name="Findings">Everything found.</param>
/// <param name="Size">File size in bytes.</param>
public sealed record FileReport(string Path, string Format, ScanLevel Verdict, IReadOnlyList<ModelFinding> Findings, long Size)
{
    public static FileReport From(string path, string format, IReadOnlyList<ModelFinding> findings, long size) =>
        new(path, format, findings.Count == 0 ? ScanLevel.Safe : findings.Max(f => f.Level), findings, size);

    /// <summary>
    /// Safe because the loader rejects the file before importing or calling anything: the format is
    /// <see cref="InertContent.Format"/>, or a finding of rule <see cref="InertContent.Rule"/> is about the file itself
    /// (not one of its members).
    /// </summary>
    public bool IsInert => Verdict == ScanLevel.Safe && (Format == InertContent.Format || Findings.Any(f => f.Rule == InertContent.Rule && f.Path is null));
}
