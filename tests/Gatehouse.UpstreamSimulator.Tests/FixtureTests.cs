using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace Gatehouse.UpstreamSimulator.Tests;

/// <summary>The committed fixtures are real, installable distributions (made by scripts/fixtures/make_pypi_fixtures.py).</summary>
public class FixtureTests
{
    private static JsonElement[] ManifestFiles()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(SimulatorTestHost.FixturesPath, "index.json")));
        return manifest.RootElement.GetProperty("files").EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    [Fact]
    public void Manifest_lists_exactly_the_distribution_files_in_the_folder()
    {
        var listed = ManifestFiles().Select(f => f.GetProperty("filename").GetString()).Order(StringComparer.Ordinal);
        var onDisk = Directory.GetFiles(SimulatorTestHost.FixturesPath)
            .Select(Path.GetFileName)
            .Where(name => name!.EndsWith(".whl", StringComparison.Ordinal) || name.EndsWith(".tar.gz", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

        Assert.Equal(onDisk, listed);
    }

    [Fact]
    public void Every_file_has_its_own_upload_time_with_microseconds()
    {
        var times = ManifestFiles().Select(f => f.GetProperty("upload_time").GetString()!).ToArray();

        Assert.All(times, t => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", t));
        Assert.Equal(times.Length, times.Distinct().Count());
    }

    [Fact]
    public void Every_fixture_wheel_has_metadata_2_1_and_a_record_that_matches_its_contents()
    {
        foreach (var wheel in Directory.GetFiles(SimulatorTestHost.FixturesPath, "*.whl"))
        {
            using var zip = ZipFile.OpenRead(wheel);
            var distInfo = zip.Entries.Select(e => e.FullName.Split('/')[0]).Distinct().Single(n => n.EndsWith(".dist-info", StringComparison.Ordinal));
            SyntheticWheelTests.AssertRecordMatchesContents(zip, distInfo);
            var metadata = Encoding.UTF8.GetString(SyntheticWheelTests.ReadEntry(zip, $"{distInfo}/METADATA"));
            Assert.StartsWith("Metadata-Version: 2.1\n", metadata);
            Assert.Contains("Tag: py3-none-any", Encoding.UTF8.GetString(SyntheticWheelTests.ReadEntry(zip, $"{distInfo}/WHEEL")));
        }
    }

    [Fact]
    public void Evil_wheel_carries_an_executable_pth_file_at_its_root()
    {
        using var zip = ZipFile.OpenRead(Path.Combine(SimulatorTestHost.FixturesPath, "gh_evil-1.0.0-py3-none-any.whl"));

        var pth = Encoding.UTF8.GetString(SyntheticWheelTests.ReadEntry(zip, "gh_evil_init.pth"));

        Assert.StartsWith("import ", pth); // site.py executes .pth lines that start with "import"
        Assert.Contains("os.system", pth);
    }

    [Fact]
    public void Yanked_fixture_records_its_reason_and_python_requirement()
    {
        var files = ManifestFiles().Where(f => f.GetProperty("project").GetString() == "gh-yanked").ToDictionary(f => f.GetProperty("version").GetString()!);

        Assert.Equal("broken build", files["1.0.0"].GetProperty("yanked").GetString());
        Assert.False(files["2.0.0"].GetProperty("yanked").GetBoolean());
        Assert.All(files.Values, f => Assert.Equal(">=3.8,<4", f.GetProperty("requires_python").GetString()));
    }
}
