using System.Formats.Tar;
using System.IO.Compression;
using K4os.Compression.LZ4.Streams;
using SharpCompress.Common;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.LZMA;
using SharpCompress.Writers.SevenZip;
using static Gatehouse.Scanning.Tests.Containers.TestContent;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// 7z, tar and single-stream compressors: opened, routed by content, bounded. Corpus cases 8.1-1 (a PyTorch archive
/// packed as 7z, ReversingLabs' nullifAI) and 8.1-10 (compressed joblib).
/// </summary>
public sealed class ArchiveReaderTests
{
    [Fact]
    public async Task Case1_a_7z_archive_named_like_a_checkpoint_is_opened_and_its_data_pkl_scanned()
    {
        var report = await ScanAsync(SevenZip(("archive/data.pkl", OsSystemProtocol2), ("archive/version", "3\n"u8.ToArray())), "pytorch_model.bin");

        Assert.Equal("7z", report.Format);
        Assert.Contains(report.Findings, f => f.Level == ScanLevel.Dangerous && f.Path == "archive/data.pkl");
    }

    [Fact]
    public async Task A_7z_archive_that_cannot_be_opened_is_suspicious_never_skipped()
    {
        byte[] broken = [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C, 0, 4, .. new byte[40]];

        var report = await ScanAsync(broken, "pytorch_model.bin");

        Assert.Equal(ScanLevel.Suspicious, report.Verdict);
        Assert.Equal("container.non-standard", Assert.Single(report.Findings).Rule);
    }

    [Fact]
    public async Task A_gzipped_tar_is_opened_through_both_layers()
    {
        var tar = Tar(("bundle/model.pkl", OsSystemProtocol0), ("bundle/README.md", "# model"u8.ToArray()));

        var report = await ScanAsync(Compress(tar, s => new GZipStream(s, CompressionLevel.Optimal)), "bundle.tar.gz");

        Assert.Equal("gzip", report.Format);
        Assert.Contains(report.Findings, f => f.Level == ScanLevel.Dangerous && f.Path == "bundle/model.pkl");
    }

    [Fact]
    public async Task Tar_names_and_links_that_leave_the_extraction_directory_are_dangerous()
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            var escape = new PaxTarEntry(TarEntryType.RegularFile, "../../home/user/.bashrc") { DataStream = new MemoryStream("x"u8.ToArray()) };
            writer.WriteEntry(escape);
            writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "model/link") { LinkName = "/etc/passwd" });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "model/sibling") { LinkName = "weights.bin" });
        }

        var report = await ScanAsync(output.ToArray(), "model.nemo");

        Assert.Equal("tar", report.Format);
        Assert.Contains(report.Findings, f => f.Rule == "archive.path-traversal" && f.Level == ScanLevel.Dangerous);
        Assert.Contains(report.Findings, f => f.Rule == "archive.link-escape" && f.Level == ScanLevel.Dangerous);
        Assert.Contains(report.Findings, f => f.Rule == "archive.link" && f.Level == ScanLevel.Suspicious);
    }

    public static TheoryData<string, Func<byte[], byte[]>> JoblibCompressors => new()
    {
        { "zlib", data => Compress(data, s => new ZLibStream(s, CompressionLevel.Optimal)) },
        { "gzip", data => Compress(data, s => new GZipStream(s, CompressionLevel.Optimal)) },
        { "bz2", data => Compress(data, s => BZip2Stream.Create(s, SharpCompress.Compressors.CompressionMode.Compress, false, leaveOpen: true)) },
        { "lz4", data => Compress(data, s => LZ4Stream.Encode(s, settings: null, leaveOpen: true)) },
        { "lzma", LzmaAlone },
        { "xz", _ => Convert.FromHexString(XzOsSystemProtocol0) },
    };

    [Theory]
    [MemberData(nameof(JoblibCompressors))]
    public async Task Case10_a_compressed_joblib_pickle_is_decompressed_by_magic_and_scanned(string compressor, Func<byte[], byte[]> compress)
    {
        var report = await ScanAsync(compress(OsSystemProtocol0), "model.joblib");

        Assert.Equal("joblib", report.Format);
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.NotEmpty(compressor);
    }

    [Fact]
    public async Task A_compressed_clean_pickle_is_safe()
    {
        var report = await ScanAsync(Compress(BenignDictProtocol2, s => new ZLibStream(s, CompressionLevel.Optimal)), "model.joblib");

        Assert.Equal("joblib", report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task A_gzip_bomb_stops_at_the_ratio_limit()
    {
        var bomb = Compress(BytesPickle(16 * 1024 * 1024), s => new GZipStream(s, CompressionLevel.SmallestSize));

        var report = await ScanAsync(bomb, "model.pkl.gz", new ScanLimits { MaxCompressionRatio = 50 });

        Assert.Contains(report.Findings, f => f.Rule == "container.compression-ratio" && f.Level == ScanLevel.Suspicious);
    }

    [Fact]
    public async Task Containers_nested_beyond_the_depth_limit_are_not_opened()
    {
        var content = TestZip.Standard(("archive/data.pkl", OsSystemProtocol2));
        for (var i = 0; i < 4; i++)
        {
            content = TestZip.Standard(($"level{i}.zip", content));
        }

        var report = await ScanAsync(content, "nested.zip", new ScanLimits { MaxNestingDepth = 3 });

        Assert.Equal(ScanLevel.Suspicious, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "container.nesting-depth");
    }

    [Fact]
    public async Task Containers_within_the_depth_limit_are_opened_all_the_way_down()
    {
        var content = TestZip.Standard(("archive/data.pkl", OsSystemProtocol2));
        for (var i = 0; i < 3; i++)
        {
            content = TestZip.Standard(($"level{i}.zip", content));
        }

        var report = await ScanAsync(content, "nested.zip");

        Assert.Contains(report.Findings, f => f.Level == ScanLevel.Dangerous && f.Path == "level2.zip!level1.zip!level0.zip!archive/data.pkl");
    }

    /// <summary><c>printf "cos\nsystem\n(S'echo gatehouse'\ntR." | xz -9 -c | xxd -p</c> (xz has no encoder in .NET).</summary>
    private const string XzOsSystemProtocol0 =
        "fd377a585a000004e6d6b446020021011c00000010cf58cc010020636f730a73797374656d0a2853276563686f2067617465686f757365270a74522e000000001815315b9b0e2d9500013921cf286b621fb6f37d010000000004595a";

    private static byte[] SevenZip(params (string Name, byte[] Data)[] members)
    {
        using var output = new MemoryStream();
        using (var writer = new SevenZipWriter(output, new SevenZipWriterOptions(CompressionType.LZMA)))
        {
            foreach (var (name, data) in members)
            {
                writer.Write(name, new MemoryStream(data), null);
            }
        }
        return output.ToArray();
    }

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

    private static byte[] Compress(byte[] data, Func<Stream, Stream> compressor)
    {
        using var output = new MemoryStream();
        using (var stream = compressor(output))
        {
            stream.Write(data);
        }
        return output.ToArray();
    }

    /// <summary>Python's <c>lzma.compress(format=FORMAT_ALONE)</c>: 5 property bytes, the size (-1: until the end marker), the stream.</summary>
    private static byte[] LzmaAlone(byte[] data)
    {
        using var compressed = new MemoryStream();
        byte[] properties;
        using (var lzma = LzmaStream.Create(new LzmaEncoderProperties(eos: true), false, compressed))
        {
            lzma.Write(data);
            properties = lzma.Properties;
        }
        return [.. properties, .. BitConverter.GetBytes(-1L), .. compressed.ToArray()];
    }

    private static byte[] BytesPickle(int size) => [0x80, 0x04, 0x8E, .. BitConverter.GetBytes((ulong)size), .. new byte[size], (byte)'.'];
}
