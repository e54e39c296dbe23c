using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.TestHelpers;
using Xunit.Abstractions;

namespace Gatehouse.Scanning.Tests.Corpus;

/// <summary>One row of tests/fixtures/models/manifest.json (written by scripts/fixtures/make_model_fixtures.py).</summary>
public sealed record CorpusEntry(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("case")] string Case,
    [property: JsonPropertyName("expected")] string Expected,
    [property: JsonPropertyName("why")] string Why)
{
    public ScanLevel ExpectedLevel => Expected switch
    {
        "SAFE" => ScanLevel.Safe,
        "SUSPICIOUS" => ScanLevel.Suspicious,
        "INVALID" => ScanLevel.Invalid,
        "DANGEROUS" => ScanLevel.Dangerous,
        _ => throw new InvalidDataException($"manifest.json: unknown verdict '{Expected}' for {File}"),
    };
}

/// <summary>Finds and reads the model-scanner corpus.</summary>
public static class CorpusManifest
{
    private static readonly Lazy<IReadOnlyList<CorpusEntry>> EntriesLazy = new(Load);

    /// <summary>tests/fixtures/models: the corpus files and their manifest.json.</summary>
    public static string CorpusRoot => Path.Combine(RepositoryPaths.Fixtures, "models");

    public static IReadOnlyList<CorpusEntry> Entries => EntriesLazy.Value;

    public static string FullPath(CorpusEntry entry) => Path.Combine(CorpusRoot, entry.File.Replace('/', Path.DirectorySeparatorChar));

    private static IReadOnlyList<CorpusEntry> Load()
    {
        var path = Path.Combine(CorpusRoot, "manifest.json");
        var entries = JsonSerializer.Deserialize<List<CorpusEntry>>(System.IO.File.ReadAllBytes(path))
            ?? throw new InvalidDataException($"{path} is empty");
        return entries;
    }
}

/// <summary>
/// A manifest row as theory data. Serializable, so every file is its own test case in the runner, and its ToString is
/// the display name: "8.2-15 dotted-stack-global.pkl → DANGEROUS".
/// </summary>
public sealed class CorpusCase : IXunitSerializable
{
    public CorpusCase()
    {
    }

    public CorpusCase(CorpusEntry entry) => Entry = entry;

    public CorpusEntry Entry { get; private set; } = null!;

    public void Serialize(IXunitSerializationInfo info) => info.AddValue("file", Entry.File);

    public void Deserialize(IXunitSerializationInfo info)
    {
        var file = info.GetValue<string>("file");
        Entry = CorpusManifest.Entries.Single(e => e.File == file);
    }

    public override string ToString() => $"{Entry.Case} {Title(Entry.File)} → {Entry.Expected}";

    /// <summary>
    /// "8.2/15-dotted-stack-global.pkl" → "dotted-stack-global.pkl": the section folder and the case-number prefix go,
    /// nested folders stay ("38/facebook/opt-125m/pytorch_model.bin"), and so do real/ and h5/ (committed originals).
    /// </summary>
    private static string Title(string file)
    {
        foreach (var section in (string[])["8.1/", "8.2/", "benign/", "other/"])
        {
            if (!file.StartsWith(section, StringComparison.Ordinal))
            {
                continue;
            }
            var rest = file[section.Length..];
            var dash = rest.IndexOf('-');
            var slash = rest.IndexOf('/');
            var prefix = dash > 0 && (slash < 0 || dash < slash) ? rest[..dash].TrimStart('b') : "";
            return prefix.Length > 0 && prefix.All(char.IsAsciiDigit) ? rest[(dash + 1)..] : rest;
        }
        return file;
    }
}
