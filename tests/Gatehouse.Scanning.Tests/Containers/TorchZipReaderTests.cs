using System.Text;
using static Gatehouse.Scanning.Tests.Containers.TestContent;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// The PyTorch zip reader: tolerant where miniz is, and every tolerance reported. Corpus cases 8.1-3 (flag bits,
/// CVE-2025-1945), 8.1-4 (local and central names differ, CVE-2025-1944), 8.1-5 (bad CRC, GHSA-mjqp-26hc-grxg),
/// 8.1-6 (a pickle under another name, CVE-2025-1889) and 8.1-14 (an encrypted member).
/// </summary>
public sealed class TorchZipReaderTests
{
    [Fact]
    public async Task A_standard_torch_archive_with_a_clean_state_dict_is_safe_and_its_text_records_are_not_pickles()
    {
        var report = await ScanAsync(TestZip.Build(TestZip.TorchArchive(BenignDictProtocol2)), "pytorch_model.bin");

        Assert.Equal("pytorch-zip", report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Theory]
    [InlineData((ushort)0x01)]
    [InlineData((ushort)0x20)]
    [InlineData((ushort)0x40)]
    public async Task Flag_bits_in_the_local_header_of_a_malicious_data_pkl_are_tolerated_like_miniz_and_reported(ushort flag)
    {
        var members = TestZip.TorchArchive(OsSystemProtocol2);
        members[0] = members[0] with { LocalFlags = flag };

        var report = await ScanAsync(TestZip.Build(members), "model.pt");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "zip.flag-bits" && f.Path == "archive/data.pkl" && f.Level == ScanLevel.Suspicious);
    }

    [Fact]
    public async Task A_plaintext_member_flagged_encrypted_in_the_central_directory_is_still_read_and_scanned()
    {
        var members = TestZip.TorchArchive(OsSystemProtocol2);
        members[0] = members[0] with { CentralFlags = 0x01, LocalFlags = 0x01 };

        var report = await ScanAsync(TestZip.Build(members), "model.pt");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "zip.flag-bits" && f.Message.Contains("central"));
    }

    [Fact]
    public async Task A_local_name_that_differs_from_the_central_one_is_reported_and_the_member_is_scanned_under_both_names()
    {
        var members = TestZip.TorchArchive(OsSystemProtocol2);
        members[0] = members[0] with { LocalName = "archive/datap.kl" };

        var report = await ScanAsync(TestZip.Build(members), "model.pt");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "zip.name-mismatch" && f.Message.Contains("archive/datap.kl"));
        Assert.Contains(report.Findings, f => f.Level == ScanLevel.Dangerous && f.Path == "archive/data.pkl");
        Assert.Contains(report.Findings, f => f.Level == ScanLevel.Dangerous && f.Path == "archive/datap.kl");
    }

    [Fact]
    public async Task A_bad_crc_on_a_malicious_data_pkl_is_reported_and_does_not_stop_the_scan()
    {
        var members = TestZip.TorchArchive(OsSystemProtocol2);
        members[0] = members[0] with { Crc = 0xDEADBEEF };

        var report = await ScanAsync(TestZip.Build(members), "model.pt");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "zip.bad-crc" && f.Path == "archive/data.pkl" && f.Level == ScanLevel.Suspicious);
    }

    [Fact]
    public async Task A_bad_crc_on_a_clean_deflated_member_is_only_suspicious()
    {
        var members = TestZip.TorchArchive(BenignDictProtocol2);
        members[0] = members[0] with { Method = 8, Crc = 0x12345678 };

        var report = await ScanAsync(TestZip.Build(members), "model.pt");

        Assert.Equal(ScanLevel.Suspicious, report.Verdict);
        Assert.Equal("zip.bad-crc", Assert.Single(report.Findings).Rule);
    }

    [Theory]
    [InlineData("archive/data.txt")]
    [InlineData("archive/extra/payload")]
    [InlineData("archive/notes.p")]
    public async Task A_protocol_0_pickle_under_a_name_that_is_not_a_pickle_name_is_still_found(string name)
    {
        var members = TestZip.TorchArchive(BenignDictProtocol2);
        members.Add(new ZipMember(name, OsSystemProtocol0));

        var report = await ScanAsync(TestZip.Build(members), "model.pt");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Level == ScanLevel.Dangerous && f.Path == name);
    }

    [Fact]
    public async Task A_pickle_in_a_generic_zip_makes_it_a_pytorch_zip_even_without_data_pkl()
    {
        var report = await ScanAsync(TestZip.Build([new ZipMember("weights/blob", OsSystemProtocol2)]), "weights.zip");

        Assert.Equal("pytorch-zip", report.Format);
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
    }

    [Fact]
    public async Task A_really_encrypted_data_pkl_cannot_be_scanned_and_is_invalid()
    {
        // Traditional PKWARE encryption: a 12-byte header precedes the ciphertext.
        var ciphertext = new byte[BenignDictProtocol2.Length + 12];
        new Random(7).NextBytes(ciphertext);
        var members = TestZip.TorchArchive(BenignDictProtocol2);
        members[0] = members[0] with { CentralFlags = 0x01, LocalFlags = 0x01, RawData = ciphertext };

        var report = await ScanAsync(TestZip.Build(members), "model.pt");

        Assert.Equal(ScanLevel.Invalid, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "zip.encrypted" && f.Path == "archive/data.pkl");
        Assert.DoesNotContain(report.Findings, f => f.Rule == "zip.flag-bits");
    }

    [Fact]
    public async Task An_aes_encrypted_member_is_invalid()
    {
        var report = await ScanAsync(TestZip.Build([new ZipMember("archive/data.pkl", new byte[40]) { Method = 99, CentralFlags = 1, LocalFlags = 1 }]), "model.pt");

        Assert.Contains(report.Findings, f => f.Rule == "zip.encrypted" && f.Level == ScanLevel.Invalid);
    }

    [Fact]
    public async Task A_compression_method_nobody_decodes_is_invalid_not_skipped()
    {
        // PPMd (98): neither miniz nor Python's zipfile reads it.
        var report = await ScanAsync(TestZip.Build([new ZipMember("archive/data.pkl", OsSystemProtocol2) { Method = 98 }]), "model.pt");

        Assert.Equal(ScanLevel.Invalid, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "zip.unsupported-method");
    }

    [Fact]
    public async Task Tensor_records_are_walked_by_length_and_never_read()
    {
        // A record under data/ is raw storage bytes; torch never unpickles it, so neither does the scanner. Large records
        // around it keep it out of the first and last 64 KiB, which are read to tell the format and find the directory.
        var members = new List<ZipMember>
        {
            new("archive/data.pkl", BenignDictProtocol2),
            new("archive/data/0", new byte[80 * 1024]),
            new("archive/data/1", OsSystemProtocol2),
            new("archive/data/2", new byte[80 * 1024]),
            new("archive/version", "3\n"u8.ToArray()),
        };
        var bytes = TestZip.Build(members);
        var recordStart = IndexOf(bytes, OsSystemProtocol2);
        using var tracking = new ReadTrackingStream(bytes);

        var report = await new ModelScanner().ScanAsync(tracking, "model.pt", CancellationToken.None);

        Assert.Equal(ScanLevel.Safe, report.Verdict);
        Assert.DoesNotContain(tracking.Reads, r => r.Start < recordStart + OsSystemProtocol2.Length && r.End > recordStart + 4);
    }

    [Fact]
    public async Task A_tensor_record_whose_local_name_says_otherwise_is_sniffed_like_any_member()
    {
        var members = TestZip.TorchArchive(BenignDictProtocol2);
        members.Add(new ZipMember("archive/data/1", OsSystemProtocol2) { LocalName = "archive/data.txt" });

        var report = await ScanAsync(TestZip.Build(members), "model.pt");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
    }

    [Fact]
    public async Task Zip64_records_are_read()
    {
        var report = await ScanAsync(TestZip.Build(TestZip.TorchArchive(OsSystemProtocol2), zip64: true), "model.pt");

        Assert.Equal("pytorch-zip", report.Format);
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
    }

    [Fact]
    public async Task A_deflated_member_that_claims_2_pow_60_bytes_is_streamed_without_allocating_the_claim()
    {
        var member = new ZipMember("archive/data.pkl", OsSystemProtocol2) { Method = 8, DeclaredSize = 1L << 60 };

        var report = await ScanAsync(TestZip.Build([member], zip64: true), "model.pt");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "zip.size-mismatch");
    }

    [Fact]
    public async Task A_zip_bomb_member_stops_at_the_compression_ratio_as_a_suspicious_finding()
    {
        // A pickle of one 32 MiB bytes object of zeros: the scanner must read through it, so it is really inflated.
        var members = TestZip.TorchArchive(BytesPickle(32 * 1024 * 1024));
        members[0] = members[0] with { Method = 8 };

        var report = await ScanAsync(TestZip.Build(members), "model.pt", new ScanLimits { MaxCompressionRatio = 100 });

        Assert.Contains(report.Findings, f => f.Rule == "container.compression-ratio" && f.Path == "archive/data.pkl" && f.Level == ScanLevel.Suspicious);
    }

    [Fact]
    public async Task The_decompression_budget_of_the_file_stops_a_large_member()
    {
        var members = TestZip.TorchArchive(BytesPickle(4 * 1024 * 1024));
        members[0] = members[0] with { Method = 8 };

        var report = await ScanAsync(TestZip.Build(members), "model.pt", new ScanLimits { MaxUncompressedBytes = 1024 * 1024 });

        Assert.Contains(report.Findings, f => f.Rule == "container.size-limit" && f.Level == ScanLevel.Suspicious);
    }

    [Fact]
    public async Task An_inert_member_is_not_inflated_past_what_tells_its_format()
    {
        // 32 MiB of zeros is neither a pickle nor any format a loader runs: a bomb that is never detonated.
        var members = new[] { new ZipMember("extra/blob", new byte[32 * 1024 * 1024]) { Method = 8 } };

        var report = await ScanAsync(TestZip.Build(members), "bundle.zip", new ScanLimits { MaxCompressionRatio = 100 });

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task Bytes_before_the_archive_are_reported_because_zipfile_and_miniz_then_read_different_offsets()
    {
        // The prefix still starts like a zip, so torch.load takes the file for one; the offsets count from after it.
        byte[] prefix = [.. "PK\x03\x04"u8, .. new byte[96]];

        var report = await ScanAsync(TestZip.Build(TestZip.TorchArchive(OsSystemProtocol2), prefix: prefix), "model.pt");

        Assert.Contains(report.Findings, f => f.Rule == "zip.offset-shift");
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
    }

    [Fact]
    public async Task Duplicate_names_and_names_that_differ_only_in_case_are_reported()
    {
        var report = await ScanAsync(TestZip.Build(
        [
            new ZipMember("archive/data.pkl", BenignDictProtocol2),
            new ZipMember("archive/data.pkl", BenignDictProtocol2),
            new ZipMember("archive/DATA.pkl", BenignDictProtocol2),
        ]), "model.pt");

        Assert.Equal(2, report.Findings.Count(f => f.Rule == "archive.duplicate-name"));
    }

    [Fact]
    public async Task Traversal_names_and_links_in_a_zip_are_suspicious()
    {
        var report = await ScanAsync(TestZip.Build(
        [
            new ZipMember("../../etc/cron.d/job", "x"u8.ToArray()),
            new ZipMember("archive/link", "../../../etc/passwd"u8.ToArray()) { Symlink = true },
        ]), "bundle.zip");

        Assert.Contains(report.Findings, f => f.Rule == "archive.path-traversal" && f.Level == ScanLevel.Suspicious);
        Assert.Contains(report.Findings, f => f.Rule == "archive.link-escape");
    }

    [Fact]
    public async Task A_torchscript_archive_has_every_pickle_record_scanned()
    {
        var members = new List<ZipMember>
        {
            new("model/data.pkl", BenignDictProtocol2),
            new("model/code/__torch__.py", "def forward(self, x):\n  return x\n"u8.ToArray()),
            new("model/constants.pkl", OsSystemProtocol2),
            new("model/version", "3\n"u8.ToArray()),
        };

        var report = await ScanAsync(TestZip.Build(members), "scripted.pt");

        Assert.Equal("torchscript", report.Format);
        Assert.Contains(report.Findings, f => f.Level == ScanLevel.Dangerous && f.Path == "model/constants.pkl");
    }

    [Fact]
    public async Task A_zip_written_by_the_standard_library_reads_the_same()
    {
        var report = await ScanAsync(TestZip.Standard(("archive/data.pkl", OsSystemProtocol2), ("archive/version", "3\n"u8.ToArray())), "model.pt");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.DoesNotContain(report.Findings, f => f.Rule.StartsWith("zip.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Members_that_share_bytes_are_reported_as_an_overlapping_zip_bomb_shape()
    {
        // Two central entries point at the same local header and data.
        var single = TestZip.Build([new ZipMember("a.bin", new byte[100]) { Method = 8 }]);
        var centralStart = single.AsSpan().IndexOf("PK\x01\x02"u8);
        var central = single[centralStart..^22];
        byte[] doubled = [.. single[..centralStart], .. central, .. central, .. single[^22..]];
        doubled[^12] = 2;
        doubled[^14] = 2;
        BitConverter.GetBytes(central.Length * 2).CopyTo(doubled, doubled.Length - 10);

        var report = await ScanAsync(doubled, "bomb.zip");

        Assert.Contains(report.Findings, f => f.Rule == "zip.overlapping-members");
    }

    [Fact]
    public async Task A_truncated_archive_is_invalid()
    {
        var bytes = TestZip.Build(TestZip.TorchArchive(BenignDictProtocol2));

        var report = await ScanAsync(bytes[..^30], "model.pt");

        Assert.Equal(ScanLevel.Invalid, report.Verdict);
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);

    /// <summary>Protocol 4: one BINBYTES8 of <paramref name="size"/> zero bytes.</summary>
    private static byte[] BytesPickle(int size) => [0x80, 0x04, 0x8E, .. BitConverter.GetBytes((ulong)size), .. new byte[size], (byte)'.'];

    /// <summary>Records every byte range read, to prove what a reader did not touch.</summary>
    private sealed class ReadTrackingStream(byte[] content) : MemoryStream(content, writable: false)
    {
        public List<(long Start, long End)> Reads { get; } = [];

        public override int Read(byte[] buffer, int offset, int count) => Track(base.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Track(base.Read(buffer));

        public override int ReadByte()
        {
            var b = base.ReadByte();
            Reads.Add((Position - 1, Position));
            return b;
        }

        private int Track(int n)
        {
            Reads.Add((Position - n, Position));
            return n;
        }
    }
}

/// <summary>The CRC-32 the zip reader checks members against.</summary>
public sealed class Crc32Tests
{
    [Fact]
    public void The_check_value_of_the_standard_test_vector_is_cbf43926()
    {
        var crc = new Gatehouse.Scanning.Containers.Crc32();
        crc.Append(Encoding.ASCII.GetBytes("123456789"));

        Assert.Equal(0xCBF43926u, crc.Value);
    }

    [Fact]
    public void Eight_bytes_at_a_time_agree_with_one_bit_at_a_time()
    {
        var data = new byte[1000];
        new Random(1).NextBytes(data);
        var crc = new Gatehouse.Scanning.Containers.Crc32();
        crc.Append(data.AsSpan(0, 333));
        crc.Append(data.AsSpan(333));

        Assert.Equal(TestZip.Crc32(data), crc.Value);
    }
}

/// <summary>
/// Zip method 93 (Zstandard), which Python 3.14's zipfile reads and writes: decoded with ZstdSharp, so a zstd member is
/// scanned like any other, and one that does not decode fails closed.
/// </summary>
public sealed class ZstdZipTests
{
    private static byte[] Zstd(byte[] data)
    {
        using var compressor = new ZstdSharp.Compressor(3);
        return compressor.Wrap(data).ToArray();
    }

    private static List<ZipMember> ZstdTorchArchive(byte[] dataPkl)
    {
        var members = TestZip.TorchArchive(dataPkl);
        members[0] = members[0] with { Method = 93, RawData = Zstd(dataPkl) };
        return members;
    }

    [Fact]
    public async Task A_torch_archive_whose_data_pkl_is_zstd_compressed_is_decoded_and_a_clean_one_is_safe()
    {
        var report = await ScanAsync(TestZip.Build(ZstdTorchArchive(BenignDictProtocol2)), "pytorch_model.bin");

        Assert.Equal("pytorch-zip", report.Format);
        Assert.True(report.Verdict == ScanLevel.Safe, string.Join("; ", report.Findings));
    }

    [Fact]
    public async Task A_zstd_compressed_malicious_data_pkl_is_dangerous()
    {
        var report = await ScanAsync(TestZip.Build(ZstdTorchArchive(OsSystemProtocol2)), "model.pt");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Path == "archive/data.pkl" && f.Global == "os.system");
    }

    [Fact]
    public async Task A_zstd_member_that_does_not_decode_fails_closed()
    {
        var members = TestZip.TorchArchive(OsSystemProtocol2);
        members[0] = members[0] with { Method = 93, RawData = [0x28, 0xB5, 0x2F, 0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x01] };

        var report = await ScanAsync(TestZip.Build(members), "model.pt");

        Assert.True(report.Verdict >= ScanLevel.Invalid, string.Join("; ", report.Findings));
    }

    [Fact]
    public async Task A_keras_config_json_compressed_with_zstd_is_still_judged()
    {
        var config = """{"module": "keras", "class_name": "Sequential", "config": {"layers": [{"module": "keras.layers", "class_name": "Lambda", "config": {"function": {"class_name": "__lambda__", "config": {"value": ["4wEAAAAA", null, null]}}}, "registered_name": null}]}, "registered_name": null}"""u8.ToArray();
        var members = new List<ZipMember>
        {
            new("metadata.json", """{"keras_version": "3.8.0"}"""u8.ToArray()),
            new("config.json", config) { Method = 93, RawData = Zstd(config) },
            new("model.weights.h5", []),
        };

        var report = await ScanAsync(TestZip.Build(members), "model.keras");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "keras.lambda");
    }
}
