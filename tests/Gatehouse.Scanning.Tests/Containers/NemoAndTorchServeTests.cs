using System.Formats.Tar;
using System.Text;
using static Gatehouse.Scanning.Tests.Containers.TestContent;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// NeMo's .nemo (a tar of model_config.yaml and model_weights.ckpt, restored with Hydra's instantiate) and TorchServe's
/// .mar (a zip with MAR-INF/MANIFEST.json, a serialized model and optionally a Python handler); corpus case 13.
/// </summary>
public sealed class NemoAndTorchServeTests
{
    private static byte[] Tar(params (string Name, byte[] Data)[] members)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, data) in members)
            {
                writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            }
        }
        return output.ToArray();
    }

    private static byte[] Nemo(string config) =>
        Tar(("./model_config.yaml", Encoding.UTF8.GetBytes(config)), ("./model_weights.ckpt", TestZip.Build(TestZip.TorchArchive(BenignDictProtocol2))));

    [Theory]
    [InlineData("encoder: {_target_: os.system, command: id}")]
    [InlineData("base: &b\n  _target_: subprocess.Popen\nencoder: *b")]
    [InlineData("layers:\n  - name: a\n    _target_: builtins.eval")]
    [InlineData("target: \"os.system\"")]
    public async Task A_target_the_loader_imports_and_calls_is_judged_whatever_the_yaml_style(string config)
    {
        var report = await ScanAsync(Nemo(config), "model.nemo");

        Assert.Equal("nemo", report.Format);
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "nemo.target" && f.Path == "./model_config.yaml");
    }

    [Fact]
    public async Task NeMo_own_targets_are_safe()
    {
        var report = await ScanAsync(Nemo("target: nemo.collections.asr.models.EncDecCTCModel\nencoder:\n  _target_: nemo.collections.asr.modules.ConvASREncoder\n"), "model.nemo");

        Assert.Equal(("nemo", ScanLevel.Safe), (report.Format, report.Verdict));
    }

    [Fact]
    public async Task A_dunder_path_under_nemo_is_not_taken_for_nemo_code()
    {
        var report = await ScanAsync(Nemo("encoder:\n  _target_: nemo.__builtins__.eval\n"), "model.nemo");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
    }

    [Fact]
    public async Task A_config_that_is_not_yaml_is_invalid_and_one_nested_without_end_is_refused_before_parsing()
    {
        var broken = await ScanAsync(Nemo("target: [unclosed\n  - : :\n"), "model.nemo");
        var deep = await ScanAsync(Nemo(new string('[', 100_000)), "model.nemo");

        Assert.Equal(ScanLevel.Invalid, broken.Verdict);
        Assert.Contains(broken.Findings, f => f.Rule == "nemo.bad-config");
        Assert.Equal(ScanLevel.Suspicious, deep.Verdict);
        Assert.Contains(deep.Findings, f => f.Rule == "container.size-limit");
    }

    private static readonly byte[] Manifest = """{"model": {"modelName": "m", "serializedFile": "model.pt", "handler": "image_classifier"}}"""u8.ToArray();

    [Fact]
    public async Task A_mar_with_a_built_in_handler_and_a_clean_model_is_safe()
    {
        var report = await ScanAsync(TestZip.Standard(("MAR-INF/MANIFEST.json", Manifest), ("model.pt", TestZip.Build(TestZip.TorchArchive(BenignDictProtocol2)))), "m.mar");

        Assert.Equal(("torchserve-mar", ScanLevel.Safe), (report.Format, report.Verdict));
    }

    [Fact]
    public async Task A_mar_whose_model_runs_a_command_is_dangerous_and_its_python_is_suspicious()
    {
        var report = await ScanAsync(TestZip.Standard(
            ("MAR-INF/MANIFEST.json", Manifest),
            ("model.pt", TestZip.Build(TestZip.TorchArchive(OsSystemProtocol2))),
            ("handler.py", "import os\nos.system('id')\n"u8.ToArray()),
            ("requirements.txt", "evil-package==1.0\n"u8.ToArray())), "m.mar");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Path == "model.pt!archive/data.pkl" && f.Global == "os.system");
        Assert.Contains(report.Findings, f => f.Rule == "torchserve.code" && f.Path == "handler.py");
        Assert.Contains(report.Findings, f => f.Rule == "torchserve.code" && f.Path == "requirements.txt");
    }

    [Fact]
    public async Task Python_files_in_a_zip_that_is_no_mar_are_not_torchserve_code()
    {
        var report = await ScanAsync(TestZip.Standard(("pkg/__init__.py", "x = 1\n"u8.ToArray())), "pkg.zip");

        Assert.DoesNotContain(report.Findings, f => f.Rule == "torchserve.code");
    }
}
