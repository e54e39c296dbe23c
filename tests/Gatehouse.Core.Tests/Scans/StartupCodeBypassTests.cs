using System.IO.Compression;
using Gatehouse.Core.Tests.Pipeline;
using Gatehouse.Pipeline;
using Gatehouse.Scans.Archives;
using static Gatehouse.Core.Tests.Scans.Archives.TestArchives;

namespace Gatehouse.Core.Tests.Scans;

/// <summary>
/// Wheels whose start-up code hides behind a member name that still lands in site-packages. Each case was installed with
/// pip 24.2 on Python 3.13 (Linux), and all but the native one also with pip 23.2.1 on Python 3.11; every time its code ran
/// at the next interpreter start.
/// </summary>
public class StartupCodeBypassTests
{
    private const string WheelName = "demo-1.0-py3-none-any.whl";

    private static async Task<PolicyOutcome> ScanAsync(Stream wheel) =>
        ContentUnderTest.DecidePyPI(await ContentUnderTest.FactsAsync(wheel), WheelName);

    [Fact]
    public async Task A_plain_root_pth_with_an_import_line_is_blocked()
    {
        var verdict = await ScanAsync(Wheel(("demo.pth", "import os; os.system('id')\n")));
        Assert.Equal(Decision.Blocked, verdict.Decision);
        Assert.Equal(InstallTimeCode.Rules.PthExec, verdict.Rule);
    }

    [Theory]
    // pip installs a root member at os.path.normpath(name): "./x.pth" becomes site-packages/x.pth.
    [InlineData("./demo.pth", "import os; os.system('id')\n")]
    [InlineData("./sitecustomize.py", "import os; os.system('id')\n")]
    // On POSIX a backslash is an ordinary character: "demo\x.pth" is one file in site-packages, and site.py reads it.
    [InlineData("demo\\evil.pth", "import os; os.system('id')\n")]
    // Python's zipfile cuts a member name at its first NUL: "evil.pth\0.txt" is installed as evil.pth.
    [InlineData("evil.pth\0.txt", "import os; os.system('id')\n")]
    // site.py runs "import sitecustomize", and a package of that name imports as well as a module.
    [InlineData("sitecustomize/__init__.py", "import os; os.system('id')\n")]
    public async Task Start_up_code_under_a_member_name_that_still_lands_in_site_packages_is_blocked(string member, string content)
    {
        var wheel = Zip(zip =>
        {
            foreach (var (path, text) in CleanWheelMembers)
            {
                zip.AddFile(path, Utf8(text));
            }
            zip.AddFile(member, Utf8(content));
        });
        Assert.Equal(member, ReadBackName(wheel, member));
        var verdict = await ScanAsync(wheel);
        Assert.Equal(Decision.Blocked, verdict.Decision);
    }

    [Fact]
    public async Task A_native_sitecustomize_at_the_wheel_root_is_blocked_even_when_top_level_txt_claims_it()
    {
        // "import sitecustomize" loads an extension module as readily as a .py file; top_level.txt is the uploader's word.
        var wheel = Wheel(
            ("demo-1.0.dist-info/top_level.txt", "demo\nsitecustomize\n"),
            ("sitecustomize.cpython-312-x86_64-linux-gnu.so", "\u007fELF"));
        var verdict = await ScanAsync(wheel);
        Assert.Equal(Decision.Blocked, verdict.Decision);
    }

    // Guards the fixture: the hostile name must be stored exactly as written.
    private static string ReadBackName(MemoryStream wheel, string member)
    {
        using var zip = new ZipArchive(wheel, ZipArchiveMode.Read, leaveOpen: true);
        var name = zip.Entries.Single(e => e.FullName == member).FullName;
        wheel.Position = 0;
        return name;
    }
}
