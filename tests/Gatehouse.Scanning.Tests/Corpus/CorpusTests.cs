using System.Text;

namespace Gatehouse.Scanning.Tests.Corpus;

/// <summary>
/// The model-scanner regression corpus (tests/fixtures/models/README.md): every file in tests/fixtures/models/manifest.json
/// must get exactly its expected verdict. Regenerate the files with scripts/fixtures/make_model_fixtures.py.
/// </summary>
public sealed class CorpusTests
{
    /// <summary>
    /// Every numbered case: container tricks 8.1-1 to 8.1-14, opcode tricks 8.2-15 to 8.2-38, benign files B1 to B12.
    /// </summary>
    private static readonly string[] SectionEightCases =
    [
        .. Enumerable.Range(1, 14).Select(i => $"8.1-{i}"),
        .. Enumerable.Range(15, 24).Select(i => $"8.2-{i}"),
        .. Enumerable.Range(1, 12).Select(i => $"B{i}"),
    ];

    /// <summary>
    /// Cases outside that numbering that the corpus also covers: "10" = other formats with no case of their own (ONNX);
    /// "11" = inert content (random, empty, text, truncated, wrong magic, unopenable Keras weights) that its loader
    /// rejects before importing anything; "12" = standard-library value types allowed by callable; "13" = NeMo and
    /// TorchServe containers; "14" = TensorFlow SavedModel graphs and Keras metadata.
    /// </summary>
    private static readonly string[] ExtraCases = ["10", "11", "12", "13", "14"];

    public static TheoryData<CorpusCase> Cases()
    {
        var data = new TheoryData<CorpusCase>();
        foreach (var entry in CorpusManifest.Entries)
        {
            data.Add(new CorpusCase(entry));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Model_file_gets_its_expected_verdict(CorpusCase corpusCase)
    {
        var entry = corpusCase.Entry;
        FileReport report;
        await using (var stream = File.OpenRead(CorpusManifest.FullPath(entry)))
        {
            report = await new ModelScanner().ScanAsync(stream, entry.File, CancellationToken.None);
        }

        if (report.Verdict != entry.ExpectedLevel)
        {
            Assert.Fail(Describe(entry, report));
        }
    }

    [Fact]
    public void The_manifest_lists_every_case_of_section_8_exactly()
    {
        var listed = CorpusManifest.Entries.Select(e => e.Case).ToHashSet(StringComparer.Ordinal);
        var missing = SectionEightCases.Where(c => !listed.Contains(c)).ToList();
        var unknown = listed.Where(c => !SectionEightCases.Contains(c) && !ExtraCases.Contains(c)).Order().ToList();

        Assert.True(missing.Count == 0, $"manifest.json has no file for case(s): {string.Join(", ", missing)}");
        Assert.True(unknown.Count == 0, $"manifest.json names unknown case id(s): {string.Join(", ", unknown)}");
        Assert.Equal(50, SectionEightCases.Length);
    }

    [Fact]
    public void Every_file_in_the_manifest_exists_once_with_a_known_verdict()
    {
        var duplicates = CorpusManifest.Entries.GroupBy(e => e.File).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, $"listed more than once in manifest.json: {string.Join(", ", duplicates)}");

        var absent = CorpusManifest.Entries.Where(e => !File.Exists(CorpusManifest.FullPath(e))).Select(e => e.File).ToList();
        Assert.True(absent.Count == 0,
            $"listed in manifest.json but missing (run scripts/fixtures/make_model_fixtures.py): {string.Join(", ", absent)}");

        foreach (var entry in CorpusManifest.Entries)
        {
            _ = entry.ExpectedLevel; // throws on a verdict name that is not SAFE/SUSPICIOUS/INVALID/DANGEROUS
            Assert.False(string.IsNullOrWhiteSpace(entry.Why), $"{entry.File} has no 'why'");
        }
    }

    [Fact]
    public void The_in_memory_large_dict_is_byte_identical_to_the_committed_B2_fixture()
    {
        // Proves the generator below writes exactly what CPython's pickle.dumps(..., protocol=4) writes, so the
        // 200,000-entry dict it makes for the next test is the benchmark's dict, not an approximation.
        var committed = File.ReadAllBytes(Path.Combine(CorpusManifest.CorpusRoot, "benign", "b02-dict-20000.pkl"));
        Assert.Equal(committed, LargeDictPickle(20_000));
    }

    [Fact]
    public async Task Large_dict_of_200000_entries_generated_in_memory_is_safe()
    {
        // B2 at benchmark size (~5.4 MB, ~1.4 M opcodes): not committed, generated here.
        var bytes = LargeDictPickle(200_000);
        using var stream = new MemoryStream(bytes, writable: false);
        var report = await new ModelScanner().ScanAsync(stream, "benign/b02-dict-200000.pkl", CancellationToken.None);
        if (report.Verdict != ScanLevel.Safe)
        {
            Assert.Fail(Describe(new CorpusEntry("benign/b02-dict-200000.pkl (in memory)", "B2", "SAFE",
                "pickle.dumps({f'k{i}': (i, float(i), 'v') for i in range(200000)}, protocol=4)"), report));
        }
    }

    private static string Describe(CorpusEntry entry, FileReport report)
    {
        var text = new StringBuilder();
        text.AppendLine($"{entry.Case} {entry.File}: expected {entry.ExpectedLevel}, got {report.Verdict} (format {report.Format})");
        text.AppendLine($"  why: {entry.Why}");
        if (report.Findings.Count == 0)
        {
            text.AppendLine("  no findings");
        }
        foreach (var f in report.Findings)
        {
            text.Append($"  [{f.Level}] {f.Rule}: {f.Message}");
            if (f.Path is not null)
            {
                text.Append($" path={f.Path}");
            }

            if (f.Offset is not null)
            {
                text.Append($" offset={f.Offset}");
            }

            if (f.Global is not null)
            {
                text.Append($" global={f.Global}");
            }

            if (f.CallSite is not null)
            {
                text.Append($" call={f.CallSite}");
            }

            text.AppendLine();
        }
        return text.ToString();
    }

    /// <summary>pickle.dumps({f"k{i}": (i, float(i), "v") for i in range(n)}, protocol=4), byte for byte (tests/Shared).</summary>
    internal static byte[] LargeDictPickle(int n) => Gatehouse.Tests.Shared.LargeDictPickle.Create(n).Bytes;
}
