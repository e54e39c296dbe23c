using System.IO.Compression;
using Gatehouse.Policy;
using Gatehouse.Scanning;
using Gatehouse.Scans;

namespace Gatehouse.Core.Tests.Scans;

public sealed class ModelContentFindingsTests
{
    private static readonly ScanRequest Wheel = new(new string('a', 64), "pypi", "demo 1.0", "demo-1.0-py3-none-any.whl", 100);

    [Fact]
    public async Task A_wheel_carrying_a_malicious_pickle_is_blocked_by_the_model_content_check()
    {
        // cos\nsystem\n(S'id'\ntR. — os.system('id') at protocol 0, shipped as package data.
        var report = await ScanWheelAsync(("demo/__init__.py", "x = 1\n"u8.ToArray()), ("demo/model.pkl", "cos\nsystem\n(S'id'\ntR."u8.ToArray()));
        var findings = ModelContentFindings.From(report, "pypi");

        var verdict = ScanPolicy.Evaluate(Wheel, [Clean(nameof(ArchiveSafetyActivity)), Clean(nameof(InstallTimeCodeActivity)), new(nameof(ModelContentActivity), findings)]);

        Assert.Equal(Decision.Blocked, verdict.Decision);
        Assert.Contains("os.system", verdict.Reason);
    }

    [Fact]
    public async Task Package_data_the_scanner_cannot_prove_inert_is_noted_for_pypi_but_quarantined_for_model_repositories()
    {
        var report = await ScanWheelAsync(("demo/__init__.py", "x = 1\n"u8.ToArray()), ("demo/blob.bin", [0x00, 0x01, 0xFE, 0xFF, 0x10]));
        Assert.Equal(ScanLevel.Suspicious, report.Verdict);

        Assert.All(ModelContentFindings.From(report, "pypi"), f => Assert.Equal(Severity.Info, f.Severity));
        Assert.Contains(ModelContentFindings.From(report, "hf"), f => f.Severity == Severity.Suspicious && f.Rule == "container.unrecognised");
    }

    [Fact]
    public async Task A_clean_wheel_gives_no_findings_above_info()
    {
        var report = await ScanWheelAsync(("demo/__init__.py", "x = 1\n"u8.ToArray()), ("demo-1.0.dist-info/METADATA", "Name: demo\n"u8.ToArray()));
        Assert.DoesNotContain(ModelContentFindings.From(report, "pypi"), f => f.Severity > Severity.Info);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    private static CheckResult Clean(string check) => new(check, []);

    private static Task<FileReport> ScanWheelAsync(params (string Name, byte[] Data)[] members)
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
        return new ModelScanner().ScanAsync(memory, Wheel.FileName, CancellationToken.None);
    }
}
