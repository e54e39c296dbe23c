using System.IO.Compression;
using Gatehouse.Scanning.Containers;
using Gatehouse.Scanning.Pickle;
using Gatehouse.Scanning.Tests.Pickle;
using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;
using static Gatehouse.Scanning.Tests.Pickle.PickleAssembler;
using static Gatehouse.Scanning.Tests.Pickle.PickleScanning;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// joblib files, synthesized per joblib's NumpyPickler layout: raw array bytes inside the pickle stream, and compressors
/// undone on load (<c>joblib/numpy_pickle.py</c>); corpus cases 8.1-10, 8.1-11 and B8.
/// </summary>
public sealed class JoblibReaderTests
{
    /// <summary>
    /// <c>joblib.dump({"coef": array}, f)</c> at protocol 4: the NumpyArrayWrapper (NEWOBJ + BUILD of its __dict__) in a
    /// committed frame, then joblib ≥ 1.2's padding-length byte, 0xff padding to a 16-byte boundary and the raw array
    /// bytes, then a new frame with the rest of the pickle.
    /// </summary>
    private static byte[] JoblibFile(string dtype, int[] shape, byte[] data, bool alignment = true, Action<PickleAssembler>? after = null,
        byte[]? objectArrayPickle = null, int dtypeFlags = 0)
    {
        var body = new PickleAssembler().EmptyDict().Memoize().Unicode("coef").Memoize()
            .StackGlobal("joblib.numpy_pickle", "NumpyArrayWrapper").Memoize().EmptyTuple().NewObj().Memoize()
            .EmptyDict().Memoize().Mark()
            .Unicode("subclass").StackGlobal("numpy", "ndarray").Memoize()
            .Unicode("shape").Mark();
        foreach (var dim in shape)
        {
            body.Int(dim);
        }
        body.Tuple().Memoize()
            .Unicode("order").Unicode("C")
            .Unicode("dtype").StackGlobal("numpy", "dtype").Memoize().Unicode(dtype).False().True().Tuple3().Reduce().Memoize()
            .Mark().Int(3).Unicode(dtype == "O8" ? "|" : "<").None().None().None().Int(-1).Int(-1).Int(dtypeFlags).Tuple().Build()
            .Unicode("allow_mmap").True();
        if (alignment)
        {
            body.Unicode("numpy_array_alignment_bytes").Int(16);
        }
        body.SetItems().Build();
        var head = body.ToArray();

        var file = new MemoryStream();
        file.Write(new PickleAssembler().Proto(4).Frame(head.Length).Raw(head).ToArray());
        if (objectArrayPickle is not null)
        {
            file.Write(objectArrayPickle); // object arrays: a nested protocol-2 pickle, no padding
        }
        else
        {
            if (alignment)
            {
                var padding = 16 - ((file.Position + 1) % 16);
                file.WriteByte((byte)padding);
                file.Write(Enumerable.Repeat((byte)0xFF, (int)padding).ToArray());
            }
            file.Write(data);
        }
        var tail = new PickleAssembler().SetItem();
        after?.Invoke(tail);
        tail.Stop();
        var rest = tail.ToArray();
        file.Write(new PickleAssembler().Frame(rest.Length).Raw(rest).ToArray());
        return file.ToArray();
    }

    private static byte[] Float64Array => [.. BitConverter.GetBytes(1.0), .. BitConverter.GetBytes(2.0), .. BitConverter.GetBytes(3.0)];

    // Through the model scanner, which undoes joblib's compressors (CompressedStream) before JoblibReader reads the pickle.
    private static IReadOnlyList<ModelFinding> Scan(byte[] file, ScanLimits? limits = null) => ScanReport(file, limits).Findings;

    private static FileReport ScanReport(byte[] file, ScanLimits? limits = null) =>
        new ModelScanner(limits).ScanAsync(new MemoryStream(file), "model.joblib", CancellationToken.None).GetAwaiter().GetResult();

    private static string? Compressor(byte[] file) => CompressedStream.Detect(file)?.Name;

    [Fact]
    public void B8_a_joblib_file_with_a_raw_float_array_is_safe()
    {
        Assert.Empty(AssertVerdict(ScanLevel.Safe, Scan(JoblibFile("f8", [3], Float64Array))));
    }

    [Fact]
    public void B8_raw_array_bytes_that_look_like_a_payload_are_skipped_exactly_as_joblib_reads_them()
    {
        var data = CallPickle("os", "system", "id");
        var padded = data.Concat(new byte[32 - data.Length % 32]).ToArray(); // a whole number of 32-byte items
        var file = JoblibFile("V32", [padded.Length / 32], padded);
        Assert.Empty(AssertVerdict(ScanLevel.Safe, Scan(file)));
    }

    [Fact]
    public void Raw_bytes_of_an_unaligned_old_layout_that_pickle_load_would_run_are_dangerous()
    {
        var data = CallPickle("os", "system", "id");
        var padded = data.Concat(new byte[32 - data.Length % 32]).ToArray();
        var findings = AssertVerdict(ScanLevel.Dangerous, Scan(JoblibFile("V32", [padded.Length / 32], padded, alignment: false)));
        Assert.True(findings.Has(JoblibReader.RawRegionOpcodesRule));
    }

    [Fact]
    public void B8_multidimensional_and_zero_dimensional_arrays_are_skipped_by_dtype_times_shape()
    {
        AssertVerdict(ScanLevel.Safe, Scan(JoblibFile("i4", [2, 3], new byte[24])));
        AssertVerdict(ScanLevel.Safe, Scan(JoblibFile("f8", [], new byte[8])));
        AssertVerdict(ScanLevel.Safe, Scan(JoblibFile("U3", [2], new byte[24])));
        AssertVerdict(ScanLevel.Safe, Scan(JoblibFile("b1", [0], [])));
    }

    [Fact]
    public void B8_files_from_joblib_before_1_2_have_no_padding_byte()
    {
        AssertVerdict(ScanLevel.Safe, Scan(JoblibFile("f8", [3], Float64Array, alignment: false)));
    }

    [Fact]
    public void Case11_a_payload_after_the_raw_array_region_is_dangerous()
    {
        var file = JoblibFile("f8", [3], Float64Array,
            after: p => p.StackGlobal("posix", "system").Unicode("id").Tuple1().Reduce().Pop());
        var findings = AssertVerdict(ScanLevel.Dangerous, Scan(file));
        Assert.True(findings.Has(PickleRules.DangerousCall, "posix.system"));
    }

    [Fact]
    public void An_object_dtype_array_is_a_nested_pickle_and_is_scanned()
    {
        var clean = JoblibFile("O8", [4], [], objectArrayPickle: BenignPickleTests.ObjectArrayPickle("numpy.core.multiarray"), dtypeFlags: 63);
        Assert.Empty(AssertVerdict(ScanLevel.Safe, Scan(clean)));

        var payload = CallPickle("subprocess", "getoutput", "id");
        var malicious = JoblibFile("O8", [1], [], objectArrayPickle: payload, dtypeFlags: 63);
        AssertVerdict(ScanLevel.Dangerous, Scan(malicious));
    }

    [Fact]
    public void An_array_region_running_past_the_end_is_invalid()
    {
        var file = JoblibFile("f8", [1_000_000], Float64Array);
        Assert.True(AssertVerdict(ScanLevel.Invalid, Scan(file)).Has(JoblibReader.TruncatedArrayRule));
    }

    [Fact]
    public void A_plain_pickle_scanner_does_not_skip_arrays_but_fails_closed_on_them()
    {
        var file = JoblibFile("f8", [3], Float64Array);
        Assert.NotEqual(ScanLevel.Safe, PickleScanning.Scan(file).Verdict());
    }

    private const string Payload = "cposix\nsystem\n(S'id'\ntR.";

    public static TheoryData<string, string> CompressedPayloads => new()
    {
        // Generated once with CPython 3.11 (lzma/bz2 are how joblib's lzma, xz and bz2 compressors write):
        //   lzma.compress(p, format=lzma.FORMAT_XZ, check=lzma.CHECK_NONE); lzma.compress(p, format=lzma.FORMAT_ALONE); bz2.compress(p)
        //   with p = b"cposix\nsystem\n(S'id'\ntR."
        { "xz", "fd377a585a000000ff12d9410200210116000000742fe5a301001763706f7369780a73797374656d0a2853276964270a74522e0000012818d783b76e06729e7a010000000000595a" },
        { "lzma", "5d00008000ffffffffffffffff00319c0a22f60cf80ba3dbdb6d007db60e9320ccaf5d947d6abed1e315f2ffff94640000" },
        { "bz2", "425a6839314159265359c981bc96000004d380001000c118000e22cc60200031434d3000534c879468f51a4e45c2065c2e2eaf4d305be2ee48a70a1219303792c0" },
    };

    [Theory]
    [MemberData(nameof(CompressedPayloads))]
    public void Case10_compressed_joblib_payloads_are_decompressed_by_magic_and_dangerous(string compressor, string hex)
    {
        Assert.Equal(compressor, Compressor(Hex(hex)));
        var report = ScanReport(Hex(hex));
        AssertVerdict(ScanLevel.Dangerous, report.Findings);
        Assert.Equal("joblib", report.Format);
    }

    [Theory]
    [InlineData("zlib")]
    [InlineData("gzip")]
    [InlineData("lz4")]
    public void Case10_zlib_gzip_and_lz4_payloads_are_dangerous(string compressor)
    {
        var compressed = Compress(compressor, Latin1(Payload));
        Assert.Equal(compressor, Compressor(compressed));
        AssertVerdict(ScanLevel.Dangerous, Scan(compressed));
    }

    [Fact]
    public void A_compressed_joblib_file_with_arrays_is_safe()
    {
        var compressed = Compress("gzip", JoblibFile("f8", [3], Float64Array));
        var report = ScanReport(compressed);
        AssertVerdict(ScanLevel.Safe, report.Findings);
        Assert.Equal("joblib", report.Format);
    }

    [Fact]
    public void Joblib_0_9_ZF_files_are_zlib_after_a_hex_length_header()
    {
        var payload = Latin1(Payload);
        var header = Latin1("ZF" + $"0x{payload.Length:x}".PadRight(19));
        byte[] file = [.. header, .. Compress("zlib", payload)];
        Assert.Equal("joblib-zfile", Compressor(file));
        AssertVerdict(ScanLevel.Dangerous, Scan(file));
    }

    [Fact]
    public void A_decompression_bomb_stops_at_the_limit_and_is_suspicious()
    {
        var bomb = new PickleAssembler().Proto(4).BinBytes8(64UL << 20, new byte[64 << 20]).Stop().ToArray();
        var findings = Scan(Compress("zlib", bomb), new ScanLimits { MaxUncompressedBytes = 8L << 20, MaxCompressionRatio = 1e9 });
        Assert.True(findings.Has("container.size-limit"), string.Join("; ", findings));
        Assert.True(findings.Verdict() >= ScanLevel.Suspicious);

        var ratio = Scan(Compress("zlib", bomb), new ScanLimits { MaxCompressionRatio = 50 });
        Assert.True(ratio.Has("container.compression-ratio"), string.Join("; ", ratio));
    }

    [Fact]
    public void A_compressed_stream_that_fails_before_its_first_byte_is_inert()
    {
        // joblib's gzip reader raises before anything reaches the unpickler.
        byte[] corrupt = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        var findings = AssertVerdict(ScanLevel.Safe, Scan(corrupt));
        Assert.Contains(findings, f => f.Rule == InertContent.Rule && f.Message.Contains("gzip", StringComparison.Ordinal));
    }

    [Fact]
    public void A_compressed_stream_that_breaks_after_an_import_is_invalid()
    {
        // The decoder gives bytes, the unpickler imports collections.OrderedDict, then the stream ends: judged as any
        // pickle that reached a global (a break before any import would be inert).
        var pickle = new PickleAssembler().Proto(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().EmptyList().Mark();
        for (var i = 0; i < 5000; i++)
        {
            pickle.BinUnicode($"item {i}");
        }
        var whole = Compress("gzip", pickle.Appends().Stop().ToArray());
        AssertVerdict(ScanLevel.Invalid, Scan(whole[..(whole.Length / 2)]));
    }

    private static byte[] Compress(string compressor, byte[] data)
    {
        var output = new MemoryStream();
        Stream writer = compressor switch
        {
            "zlib" => new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true),
            "gzip" => new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true),
            _ => LZ4Stream.Encode(output, LZ4Level.L00_FAST, 0, leaveOpen: true),
        };
        using (writer)
        {
            writer.Write(data);
        }
        return output.ToArray();
    }

    private sealed class NonSeekable(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }
}
