using System.Text;
using Gatehouse.Configuration;
using Gatehouse.Fuzz;
using Gatehouse.Scanning.Tests.Containers;
using Gatehouse.Scans.Archives;

namespace Gatehouse.Scanning.Tests.Fuzz;

/// <summary>
/// Each crash the fuzzing campaign found, as its minimised input (tests/fuzz/crashes/&lt;target&gt;/) and as a hand-built
/// input that shows the fix: the reader at fault now reports the content instead of throwing.
/// </summary>
public sealed class FuzzCrashRegressionTests
{
    public static TheoryData<string, string> Crashes
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var target in FuzzTargets.All)
            {
                foreach (var input in FuzzCorpus.Inputs("crashes", target.Name))
                {
                    data.Add(target.Name, Path.GetFileName(input));
                }
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Crashes))]
    public void Every_saved_crash_input_now_gets_a_documented_outcome(string target, string input)
    {
        var failures = FuzzCorpus.Replay(target, [Path.Combine(FuzzCorpus.Root, "crashes", target, input)], TimeSpan.FromSeconds(5));

        Assert.Empty(failures);
    }

    [Fact]
    public async Task A_tar_size_field_past_64_bits_is_an_unreadable_archive_not_an_overflow()
    {
        // A base-256 size (first byte 0x80) of eleven 0xFF bytes overflows a long (System.Formats.Tar threw OverflowException).
        var tar = TarWithSizeField([0x80, .. Enumerable.Repeat((byte)0xFF, 11)]);

        var (format, findings) = await new ArchiveSafety(new ArchiveLimits()).InspectAsync(new MemoryStream(tar), CancellationToken.None);
        var unreadable = Assert.Single(findings);
        Assert.Equal(ArchiveFormat.Tar, format);
        Assert.Equal(ArchiveSafety.Rules.Unreadable, unreadable.Rule);
        Assert.Contains("out of range", unreadable.Message);
        // What InstallTimeCodeActivity catches as "the archive could not be read".
        await Assert.ThrowsAsync<InvalidDataException>(() => InstallTimeCode.InspectAsync(new MemoryStream(tar), CancellationToken.None));
    }

    [Fact]
    public async Task A_tar_member_larger_than_the_stream_can_seek_is_an_unreadable_archive_not_an_argument_error()
    {
        // 8 GiB in octal: skipping past it moved a MemoryStream beyond 2^31 - 1, and System.Formats.Tar threw
        // ArgumentOutOfRangeException; the bounded reader finds the archive ends inside the member's data.
        var tar = TarWithSizeField("77777777777\0"u8.ToArray());

        var (_, findings) = await new ArchiveSafety(new ArchiveLimits()).InspectAsync(new MemoryStream(tar), CancellationToken.None);

        Assert.Contains(findings, f => f.Rule == ArchiveSafety.Rules.Unreadable && f.Message.Contains("ends inside an entry"));
        // Install-time code skips the member by seeking: the end of the stream, not an argument error.
        var error = await Record.ExceptionAsync(() => InstallTimeCode.InspectAsync(new MemoryStream(tar), CancellationToken.None));
        Assert.IsType<EndOfStreamException>(error);
    }

    [Fact]
    public async Task A_keras_config_that_is_not_utf8_is_a_bad_config_not_a_scanner_error()
    {
        // The fuzzer's find: a byte 0xFF inside a JSON string parses, and reading the string threw InvalidOperationException.
        byte[] config = [.. """{"class_name": "Sequential", "config": {"name": "a"""u8, 0xFF, .. "\"}}"u8];

        var report = await TestContent.ScanAsync(KerasZip(config), "model.keras");

        var bad = Assert.Single(report.Findings, f => f.Rule == "keras.bad-config");
        Assert.Equal(ScanLevel.Invalid, bad.Level);
        Assert.Contains("UTF-8", bad.Message);
        Assert.DoesNotContain(report.Findings, f => f.Rule == "scan.error");
    }

    [Fact]
    public async Task A_keras_config_string_with_a_lone_surrogate_escape_is_a_bad_config_not_a_scanner_error()
    {
        // Python's json.loads reads "\ud800"; .NET cannot make a string of it, so the config is reported unjudged.
        var config = """{"class_name": "Sequential", "config": {"name": "\ud800"}}"""u8.ToArray();

        var report = await TestContent.ScanAsync(KerasZip(config), "model.keras");

        var bad = Assert.Single(report.Findings, f => f.Rule == "keras.bad-config");
        Assert.Contains("cannot decode", bad.Message);
        Assert.DoesNotContain(report.Findings, f => f.Rule == "scan.error");
    }

    private static byte[] KerasZip(byte[] config) =>
        TestZip.Standard(("metadata.json", """{"keras_version": "3.8.0"}"""u8.ToArray()), ("config.json", config));

    /// <summary>One ustar header for "a.txt" with the given 12-byte size field and a correct checksum, then the end blocks.</summary>
    private static byte[] TarWithSizeField(byte[] size)
    {
        var tar = new byte[512 * 3];
        var header = tar.AsSpan(0, 512);
        Encoding.ASCII.GetBytes("a.txt").CopyTo(header);
        Encoding.ASCII.GetBytes("0000644\0").CopyTo(header[100..]);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(header[108..]);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(header[116..]);
        size.CopyTo(header[124..]);
        Encoding.ASCII.GetBytes("00000000000\0").CopyTo(header[136..]);
        header[156] = (byte)'0';
        Encoding.ASCII.GetBytes("ustar\000").CopyTo(header[257..]);
        header.Slice(148, 8).Fill((byte)' ');
        var sum = 0;
        foreach (var b in header)
        {
            sum += b;
        }
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header[148..]);
        return tar;
    }
}
