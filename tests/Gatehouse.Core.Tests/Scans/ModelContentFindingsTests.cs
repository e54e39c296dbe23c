using System.IO.Compression;
using Gatehouse.Core.Tests.Pipeline;
using Gatehouse.Pipeline;
using Gatehouse.Scanning;
using Gatehouse.Scans;

namespace Gatehouse.Core.Tests.Scans;

public sealed class ModelContentFindingsTests
{
    [Fact]
    public async Task A_wheel_carrying_a_malicious_pickle_is_blocked_by_the_model_content_check()
    {
        // cos\nsystem\n(S'id'\ntR. — os.system('id') at protocol 0, shipped as package data.
        var facts = await ContentUnderTest.FactsAsync(Wheel(("demo/__init__.py", "x = 1\n"u8.ToArray()), ("demo/model.pkl", "cos\nsystem\n(S'id'\ntR."u8.ToArray())));
        var outcome = ContentUnderTest.DecidePyPI(facts, "demo-1.0-py3-none-any.whl");

        Assert.Equal(Decision.Blocked, outcome.Decision);
        Assert.Contains("os.system", outcome.Reason);
    }

    [Fact]
    public async Task The_scanners_levels_become_severities_that_keep_what_the_loader_would_reach()
    {
        var report = await new ModelScanner().ScanAsync(Wheel(("demo/__init__.py", "x = 1\n"u8.ToArray()), ("demo/graph.pb", [0x0A, 0x02, 0x08, 0x01])), "",
            CancellationToken.None);
        Assert.Equal(ScanLevel.Suspicious, report.Verdict);
        Assert.Contains(ModelContentFindings.From(report), f => f.Severity == Severity.Suspicious && f.Rule == "container.unrecognised");
    }

    [Fact]
    public async Task A_clean_wheel_gives_no_findings_above_info()
    {
        var report = await new ModelScanner().ScanAsync(Wheel(("demo/__init__.py", "x = 1\n"u8.ToArray()), ("demo-1.0.dist-info/METADATA", "Name: demo\n"u8.ToArray())), "",
            CancellationToken.None);
        Assert.DoesNotContain(ModelContentFindings.From(report), f => f.Severity > Severity.Info);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    private static MemoryStream Wheel(params (string Name, byte[] Data)[] members)
    {
        var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, data) in members)
            {
                using var entry = zip.CreateEntry(name).Open();
                entry.Write(data);
            }
        }
        memory.Position = 0;
        return memory;
    }
}
