using System.Text;
using Gatehouse.Oci.Layers;
using Gatehouse.Scans;
using Microsoft.Extensions.Time.Testing;
using static Gatehouse.Core.Tests.Oci.Layers.TestLayers;

namespace Gatehouse.Core.Tests.Oci.Layers;

public sealed class LayerInspectorTests
{
    [Theory]
    [InlineData("tar")]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task A_malicious_pickle_in_models_is_found_at_its_path_whatever_the_compression(string compression)
    {
        var tar = Tar(Entry.Directory("models/"), Entry.File("models/classifier", MaliciousPickle), Entry.File("models/readme.txt", "weights"));
        var blob = compression switch { "gzip" => Gzip(tar), "zstd" => Zstd(tar), _ => tar };

        var report = await InspectAsync(blob, "sha256:abc");

        Assert.Null(report.Error);
        Assert.Equal(compression, report.Compression);
        Assert.Equal("sha256:abc", report.Digest);
        Assert.Equal(LayerInspector.CurrentVersion, report.Version);
        Assert.Equal(["models", "models/classifier", "models/readme.txt"], report.Files);
        Assert.Equal(["models"], report.Directories!);
        Assert.NotEmpty(report.Findings);
        Assert.All(report.Findings, f => Assert.Equal("models/classifier", f.Path));
        var call = Assert.Single(report.Findings, f => f.Finding.Rule == "pickle.dangerous-call");
        Assert.Equal(Severity.Dangerous, call.Finding.Severity);
        Assert.Contains("os.system", call.Finding.Message);
    }

    [Fact]
    public async Task A_protocol_0_pickle_is_found_by_the_loader_its_name_claims()
    {
        var report = await LayerAsync("sha256:l", Entry.File("opt/app/model.pkl", TextPickle));

        Assert.Contains(report.Findings, f => f.Path == "opt/app/model.pkl" && f.Finding is { Rule: "pickle.dangerous-call", Severity: Severity.Dangerous });
    }

    [Fact]
    public async Task A_benign_safetensors_file_and_a_wheel_of_python_code_are_not_flagged()
    {
        var report = await LayerAsync("sha256:l",
            Entry.File("models/model.safetensors", Safetensors()),
            Entry.File("usr/lib/python3.12/ensurepip/_bundled/demo-1.0-py3-none-any.whl", Wheel(("demo/__init__.py", "x = 1\n"), ("demo-1.0.dist-info/METADATA", "Name: demo\n"))));

        Assert.Null(report.Error);
        Assert.Empty(report.Findings);
    }

    [Fact]
    public async Task A_python_install_with_pth_files_sitecustomize_and_native_modules_gives_no_findings()
    {
        // A container runs what it runs: install-time rules (a .pth that imports) are for packages being installed.
        var report = await LayerAsync("sha256:python",
            Entry.File("usr/local/lib/python3.12/os.py", "import abc\n"),
            Entry.File("usr/local/lib/python3.12/sitecustomize.py", "import os\nos.environ.setdefault('X', '1')\n"),
            Entry.File("usr/local/lib/python3.12/__pycache__/os.cpython-312.pyc", [0xCB, 0x0D, 0x0D, 0x0A, 0, 0, 0, 0, 0x80, 0x02]),
            Entry.File("usr/local/lib/python3.12/site-packages/distutils-precedence.pth",
                "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enable = os.environ.get(var, 'local') == 'local'; enable and __import__('_distutils_hack').add_shim(); \n"),
            Entry.File("usr/local/lib/python3.12/site-packages/easy-install.pth", "./demo-1.0-py3.12.egg\n"),
            Entry.File("usr/local/lib/python3.12/lib-dynload/_ssl.cpython-312-x86_64-linux-gnu.so", [0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0]),
            Entry.Symlink("usr/local/bin/python", "/usr/local/bin/python3.12"),
            Entry.Hardlink("usr/local/bin/python3", "usr/local/bin/python3.12"));

        Assert.Null(report.Error);
        Assert.Empty(report.Findings);
        Assert.Contains("usr/local/bin/python", report.Files);
        Assert.Contains("usr/local/bin/python3", report.Files);
    }

    [Theory]
    [InlineData("../../etc/x", "etc/x")]
    [InlineData("/abs/file", "abs/file")]
    [InlineData("./a/b", "a/b")]
    [InlineData("a/./b/../c", "a/c")]
    [InlineData("a/../../../../b", "b")]
    [InlineData("a//b/", "a/b")]
    public async Task Entry_names_are_normalised_as_a_runtime_extracts_them_under_its_rootfs(string name, string path)
    {
        var report = await LayerAsync("sha256:l", Entry.File(name, "x"));

        Assert.Equal([path], report.Files);
    }

    [Fact]
    public async Task Whiteouts_and_opaque_markers_are_told_apart_from_files()
    {
        var report = await LayerAsync("sha256:l",
            Entry.File("./a/b/.wh.c", ""),
            Entry.File("d/.wh..wh..opq", ""),
            Entry.File("d/kept", "x"),
            Entry.File(".wh.top", ""),
            Entry.File("e/.wh..wh.plnk", ""));

        Assert.Equal(["a/b/c", "top"], report.Whiteouts);
        Assert.Equal(["d"], report.OpaqueDirectories);
        Assert.Equal(["d/kept"], report.Files);
    }

    [Fact]
    public async Task Dpkg_status_gives_the_installed_packages_with_their_source_and_its_version()
    {
        const string status = """
            Package: libssl3
            Status: install ok installed
            Version: 3.0.11-1~deb12u2
            Source: openssl

            Package: oldpkg
            Status: deinstall ok config-files
            Version: 1.0-1

            Package: libc6
            Status: hold ok installed
            Architecture: amd64
            Source: glibc (2.36-9+deb12u4)
            Version: 2.36-9+deb12u4+b1
            Description: GNU C Library
             Contains the standard libraries.

            Package: zlib1g
            Status: install ok installed
            Version: 1:1.2.13.dfsg-1

            Package: half
            Status: install reinstreq half-installed
            Version: 1.0
            """;
        var report = await LayerAsync("sha256:deb", Entry.File("var/lib/dpkg/status", status));

        Assert.Equal(
            [
                new PackageRecord(PackageKind.Debian, "libssl3", "3.0.11-1~deb12u2", "openssl", "var/lib/dpkg/status"),
                new PackageRecord(PackageKind.Debian, "libc6", "2.36-9+deb12u4+b1", "glibc", "var/lib/dpkg/status", "2.36-9+deb12u4"),
                new PackageRecord(PackageKind.Debian, "zlib1g", "1:1.2.13.dfsg-1", "zlib1g", "var/lib/dpkg/status"),
            ],
            report.Packages);
    }

    [Fact]
    public async Task Apk_installed_gives_each_package_with_its_origin()
    {
        const string installed = "C:Q1abc=\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\no:openssl\n\nP:musl\nV:1.2.4_git20230717-r4\no:musl\n\nP:noversion\n";
        var report = await LayerAsync("sha256:apk", Entry.File("lib/apk/db/installed", installed));

        Assert.Equal(
            [
                new PackageRecord(PackageKind.Alpine, "libcrypto3", "3.1.4-r5", "openssl", "lib/apk/db/installed"),
                new PackageRecord(PackageKind.Alpine, "musl", "1.2.4_git20230717-r4", "musl", "lib/apk/db/installed"),
            ],
            report.Packages);
    }

    [Fact]
    public async Task Python_distributions_are_read_from_site_packages_dist_info_and_egg_info_only()
    {
        var report = await LayerAsync("sha256:py",
            Entry.File("usr/local/lib/python3.12/site-packages/requests-2.19.0.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\nSummary: HTTP\n\nVersion: 9.9 in the description\n"),
            Entry.File("usr/lib/python3/dist-packages/Jinja2-2.10.egg-info/PKG-INFO", "Metadata-Version: 1.1\r\nName: Jinja2\r\nVersion: 2.10\r\n"),
            Entry.File("src/wheels/other-1.0.dist-info/METADATA", "Name: other\nVersion: 1.0\n"));

        Assert.Equal(
            [
                new PackageRecord(PackageKind.Python, "requests", "2.19.0", null, "usr/local/lib/python3.12/site-packages/requests-2.19.0.dist-info/METADATA"),
                new PackageRecord(PackageKind.Python, "Jinja2", "2.10", null, "usr/lib/python3/dist-packages/Jinja2-2.10.egg-info/PKG-INFO"),
            ],
            report.Packages);
    }

    [Fact]
    public async Task Os_release_is_read_from_etc_and_usr_lib_with_quotes_removed()
    {
        var report = await LayerAsync("sha256:os",
            Entry.File("usr/lib/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"),
            Entry.Symlink("etc/os-release", "../usr/lib/os-release"));

        Assert.Equal([new OsReleaseRecord("usr/lib/os-release", "debian", "12")], report.OsReleases);
    }

    [Fact]
    public async Task A_later_entry_at_the_same_path_in_one_layer_replaces_what_the_earlier_one_held()
    {
        var report = await LayerAsync("sha256:l", Entry.File("models/m.pkl", MaliciousPickle), Entry.File("models/m.pkl", Safetensors()));

        Assert.Empty(report.Findings);
    }

    [Fact]
    public async Task A_config_blob_is_not_a_tar_and_is_reported_as_such_without_an_error()
    {
        var report = await InspectAsync("""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"""u8.ToArray());

        Assert.Equal("none", report.Compression);
        Assert.Null(report.Error);
        Assert.Empty(report.Files);
    }

    [Fact]
    public async Task An_empty_layer_of_two_zero_blocks_is_a_tar_with_no_entries()
    {
        var report = await InspectAsync(Gzip(new byte[1024]));

        Assert.Equal("gzip", report.Compression);
        Assert.Null(report.Error);
        Assert.Empty(report.Files);
    }

    [Fact]
    public async Task A_truncated_gzip_layer_sets_the_error_and_fails_closed()
    {
        var blob = Gzip(Tar(Entry.File("a", new byte[200_000]), Entry.File("b", Encoding.ASCII.GetBytes(new string('x', 100_000)))));

        var report = await InspectAsync(blob[..(blob.Length - 40)]);

        Assert.NotNull(report.Error);
        Assert.StartsWith(LayerInspector.UnreadableRule, report.Error);
    }

    [Fact]
    public async Task A_gzip_stream_that_holds_no_tar_is_no_layer()
    {
        var report = await InspectAsync(Gzip(Encoding.ASCII.GetBytes(new string('x', 2000))));

        Assert.Equal("gzip", report.Compression);
        Assert.StartsWith(LayerInspector.UnreadableRule, report.Error);
    }

    [Fact]
    public async Task A_model_member_larger_than_the_temp_budget_stops_the_walk_with_the_budget_rule()
    {
        var big = new byte[LayerInspector.InMemoryMemberBytes + 1_000_000];
        MaliciousPickle.CopyTo(big, 0);
        using var budget = new ScanBudget(tempBytes: 1024 * 1024, TimeSpan.FromMinutes(5), 256L * 1024 * 1024);

        var report = await InspectAsync(Gzip(Tar(Entry.File("models/big.bin", big), Entry.File("after", "x"))), budget: budget);

        Assert.StartsWith(ScanBudget.Rule, report.Error);
        Assert.Contains(report.Findings, f => f.Finding.Rule == ScanBudget.Rule && f.Path == "models/big.bin");
        Assert.DoesNotContain("after", report.Files);
        Assert.Equal(0, budget.TempInUse);
    }

    [Fact]
    public async Task A_budget_whose_time_ran_out_stops_the_walk_with_the_budget_rule()
    {
        var time = new FakeTimeProvider();
        using var budget = new ScanBudget(1024 * 1024, TimeSpan.FromSeconds(10), 256L * 1024 * 1024, time);
        time.Advance(TimeSpan.FromSeconds(11));

        var report = await InspectAsync(Gzip(Tar(Entry.File("a", "x"))), budget: budget);

        Assert.StartsWith(ScanBudget.Rule, report.Error);
    }

    private static byte[] Wheel(params (string Name, string Text)[] members)
    {
        using var memory = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(memory, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, text) in members)
            {
                using var entry = zip.CreateEntry(name).Open();
                entry.Write(Encoding.UTF8.GetBytes(text));
            }
        }
        return memory.ToArray();
    }
}
