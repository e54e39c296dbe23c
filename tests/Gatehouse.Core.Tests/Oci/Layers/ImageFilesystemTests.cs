using Gatehouse.Oci.Layers;
using static Gatehouse.Core.Tests.Oci.Layers.TestLayers;

namespace Gatehouse.Core.Tests.Oci.Layers;

public sealed class ImageFilesystemTests
{
    [Fact]
    public async Task A_bad_file_whited_out_by_a_later_layer_is_not_in_the_image()
    {
        var image = ImageFilesystem.Merge(
        [
            await LayerAsync("sha256:1", Entry.File("models/evil.pkl", MaliciousPickle), Entry.File("models/ok.pkl", TextPickle)),
            await LayerAsync("sha256:2", Entry.File("models/.wh.evil.pkl", "")),
        ]);

        Assert.NotEmpty(image.Findings);
        Assert.All(image.Findings, f => Assert.Equal(("sha256:1", "models/ok.pkl"), (f.LayerDigest, f.Path)));
    }

    [Fact]
    public async Task A_whited_out_parent_directory_takes_everything_below_it()
    {
        var image = ImageFilesystem.Merge(
        [
            await LayerAsync("sha256:1", Entry.File("opt/models/deep/evil.pkl", MaliciousPickle)),
            await LayerAsync("sha256:2", Entry.File("opt/.wh.models", "")),
        ]);

        Assert.Empty(image.Findings);
    }

    [Fact]
    public async Task An_opaque_directory_hides_lower_layers_but_keeps_its_own_layers_files()
    {
        var image = ImageFilesystem.Merge(
        [
            await LayerAsync("sha256:1", Entry.File("models/old.pkl", MaliciousPickle), Entry.File("other/kept.pkl", MaliciousPickle)),
            await LayerAsync("sha256:2", Entry.Directory("models/"), Entry.File("models/.wh..wh..opq", ""), Entry.File("models/new.pkl", TextPickle)),
        ]);

        Assert.Equal([("sha256:1", "other/kept.pkl"), ("sha256:2", "models/new.pkl")], image.Findings.Select(f => (f.LayerDigest, f.Path)).Distinct());
    }

    [Fact]
    public async Task A_whiteout_does_not_hide_a_file_of_its_own_layer()
    {
        var image = ImageFilesystem.Merge([await LayerAsync("sha256:1", Entry.File("m/.wh.x.pkl", ""), Entry.File("m/x.pkl", MaliciousPickle))]);

        Assert.NotEmpty(image.Findings);
    }

    [Fact]
    public async Task A_file_replaced_by_a_directory_and_a_directory_replaced_by_a_file_are_gone()
    {
        var image = ImageFilesystem.Merge(
        [
            await LayerAsync("sha256:1", Entry.File("srv/model", MaliciousPickle), Entry.File("srv/dir/evil.pkl", MaliciousPickle), Entry.File("srv/other.pkl", TextPickle)),
            await LayerAsync("sha256:2", Entry.Directory("srv/model/"), Entry.File("srv/model/readme", "x"), Entry.File("srv/dir", "now a file")),
        ]);

        Assert.Equal(["srv/other.pkl"], image.Findings.Select(f => f.Path).Distinct());
    }

    [Fact]
    public async Task A_directory_entry_over_a_directory_keeps_what_is_below_it()
    {
        var image = ImageFilesystem.Merge(
        [
            await LayerAsync("sha256:1", Entry.Directory("srv/"), Entry.File("srv/evil.pkl", MaliciousPickle)),
            await LayerAsync("sha256:2", Entry.Directory("srv/"), Entry.File("srv/new.txt", "x")),
        ]);

        Assert.Equal(["srv/evil.pkl"], image.Findings.Select(f => f.Path).Distinct());
    }

    [Fact]
    public async Task A_file_overwritten_by_a_benign_one_is_judged_by_the_top_copy()
    {
        var image = ImageFilesystem.Merge(
        [
            await LayerAsync("sha256:1", Entry.File("models/m.pkl", MaliciousPickle)),
            await LayerAsync("sha256:2", Entry.File("models/m.pkl", Safetensors())),
        ]);

        Assert.Empty(image.Findings);
    }

    [Fact]
    public async Task Only_the_top_most_dpkg_status_and_os_release_count_and_uninstalled_python_packages_are_gone()
    {
        const string site = "usr/lib/python3/dist-packages";
        var image = ImageFilesystem.Merge(
        [
            await LayerAsync("sha256:base",
                Entry.File("usr/lib/os-release", "ID=debian\nVERSION_ID=\"11\"\n"),
                Entry.File("var/lib/dpkg/status", Status(("openssl", "1.1.1n-0+deb11u4"), ("curl", "7.74.0-1.3"))),
                Entry.File($"{site}/requests-2.19.0.dist-info/METADATA", "Name: requests\nVersion: 2.19.0\n"),
                Entry.File($"{site}/idna-2.7.dist-info/METADATA", "Name: idna\nVersion: 2.7\n")),
            await LayerAsync("sha256:upgrade",
                Entry.File("usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
                Entry.File("var/lib/dpkg/status", Status(("openssl", "3.0.11-1~deb12u2"))),
                Entry.File($"{site}/.wh.requests-2.19.0.dist-info", ""),
                Entry.File($"{site}/requests-2.31.0.dist-info/METADATA", "Name: requests\nVersion: 2.31.0\n")),
        ]);

        Assert.Equal(new OsReleaseRecord("usr/lib/os-release", "debian", "12"), image.Os);
        Assert.Equal(
            [
                new ImagePackage(PackageKind.Python, "idna", "2.7", null, "sha256:base", $"{site}/idna-2.7.dist-info/METADATA"),
                new ImagePackage(PackageKind.Debian, "openssl", "3.0.11-1~deb12u2", "openssl", "sha256:upgrade", "var/lib/dpkg/status"),
                new ImagePackage(PackageKind.Python, "requests", "2.31.0", null, "sha256:upgrade", $"{site}/requests-2.31.0.dist-info/METADATA"),
            ],
            image.Packages);
    }

    [Fact]
    public async Task Etc_os_release_wins_over_usr_lib_os_release()
    {
        var image = ImageFilesystem.Merge(
        [
            await LayerAsync("sha256:1", Entry.File("etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n")),
            await LayerAsync("sha256:2", Entry.File("usr/lib/os-release", "ID=debian\nVERSION_ID=12\n")),
        ]);

        Assert.Equal(new OsReleaseRecord("etc/os-release", "alpine", "3.19.1"), image.Os);
    }

    private static string Status(params (string Name, string Version)[] packages) =>
        string.Join("\n\n", packages.Select(p => $"Package: {p.Name}\nStatus: install ok installed\nVersion: {p.Version}")) + "\n";
}
