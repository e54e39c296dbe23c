using System.Text;
using Gatehouse.Scanning.Tests.Containers;
using static Gatehouse.Scanning.Tests.Containers.TestContent;

namespace Gatehouse.Scanning.Tests;

/// <summary>
/// Routing by content, never by name; the checkpoint-name rule (unknown content named like a checkpoint is
/// Suspicious); limits; findings as values.
/// </summary>
public sealed class ModelScannerTests
{
    private const string SafetensorsHeader = """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";

    [Fact]
    public async Task A_text_pth_inside_an_archive_is_a_site_path_file_but_binary_junk_named_pth_there_is_suspicious()
    {
        var wheel = TestZip.Build([new("pkg/__init__.py", "x = 1\n"u8.ToArray()), new("distutils-precedence.pth", "./vendor\nlib\n"u8.ToArray())]);
        var pathFile = await ScanAsync(wheel, "pkg-1.0-py3-none-any.whl");
        Assert.True(pathFile.Verdict == ScanLevel.Safe, string.Join("; ", pathFile.Findings)); // "x = 1" must not pass for zlib either

        var junk = await ScanAsync(TestZip.Build([new("model.pth", [0x00, 0x01, 0xFE, 0xFF, 0x10, 0x20, 0x30])]), "bundle.zip");
        Assert.Equal(ScanLevel.Suspicious, junk.Verdict);
        Assert.Contains(junk.Findings, f => f.Rule == "container.unrecognised");
    }

    [Fact]
    public async Task A_safetensors_file_named_bin_is_read_as_safetensors()
    {
        var report = await ScanAsync(Safetensors(SafetensorsHeader, new byte[8]), "pytorch_model.bin");

        Assert.Equal("safetensors", report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task A_zip_named_safetensors_is_read_as_a_zip()
    {
        var report = await ScanAsync(TestZip.Build(TestZip.TorchArchive(OsSystemProtocol2)), "model.safetensors");

        Assert.Equal("pytorch-zip", report.Format);
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
    }

    [Theory]
    [InlineData("model.gguf")]
    [InlineData("model.onnx")]
    [InlineData("weights.npy")]
    [InlineData("README.md")]
    public async Task Formats_are_told_by_content_whatever_the_name(string name)
    {
        var gguf = await ScanAsync(Gguf(("general.architecture", TestContent.GgufValue.Of("llama"))), name);
        var npy = await ScanAsync(Npy("'<f4'", "(2,)", new byte[8]), name);
        var onnx = await ScanAsync(Proto.Model(new Proto().Message(1, Proto.Node("Relu"))), name);

        Assert.Equal(("gguf", "npy", "onnx"), (gguf.Format, npy.Format, onnx.Format));
    }

    [Theory]
    [InlineData("cos\nsystem\n(S'echo gatehouse'\ntR.")]
    [InlineData("(cos\nsystem\nS'echo gatehouse'\no.")]
    [InlineData("]q\u0000(cos\nsystem\nq\u0001S'echo gatehouse'\n\u0085Re.")]
    [InlineData("}q\u0000S'k'\ncos\nsystem\n(S'echo gatehouse'\ntRs.")]
    [InlineData("S'os'\nS'system'\n\u0093S'echo gatehouse'\n\u0085R.")]
    [InlineData("Vos\nVsystem\n\u0093Vecho gatehouse\n\u0085R.")]
    [InlineData("I1\n0cos\nsystem\n(S'echo gatehouse'\ntR.")]
    public async Task Raw_pickles_of_any_protocol_are_recognised_by_their_first_opcodes(string pickle)
    {
        var report = await ScanAsync(Encoding.Latin1.GetBytes(pickle), "model.ckpt");

        // An integer first is also how a legacy torch file starts (its magic number): either pickle reader may take it.
        Assert.Contains(report.Format, new[] { "pickle", "pytorch-legacy" });
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
    }

    [Fact]
    public async Task Case7_a_raw_protocol_0_pickle_named_pytorch_model_bin_is_dangerous()
    {
        var report = await ScanAsync(Encoding.ASCII.GetBytes("cposix\nsystem\np0\n(S'echo gatehouse'\np1\ntp2\nRp3\n."), "pytorch_model.bin");

        Assert.Equal("pickle", report.Format);
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
    }

    [Fact]
    public async Task B9_a_clean_pickle_followed_by_trailing_bytes_is_safe()
    {
        var report = await ScanAsync([.. BenignDictProtocol2, .. "appended signature bytes"u8], "state.pkl");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Theory]
    [InlineData("pytorch_model.bin")]
    [InlineData("model.pt")]
    [InlineData("model.pth")]
    [InlineData("last.ckpt")]
    [InlineData("model.safetensors")]
    [InlineData("model.pkl")]
    public async Task Unknown_content_under_a_checkpoint_name_is_suspicious(string name)
    {
        var report = await ScanAsync(Encoding.ASCII.GetBytes("this is not any model format\n"), name);

        Assert.Equal("data", report.Format);
        Assert.Equal(ScanLevel.Suspicious, report.Verdict);
        Assert.Equal("container.unrecognised", Assert.Single(report.Findings).Rule);
    }

    [Theory]
    [InlineData("README.md")]
    [InlineData("config.json")]
    [InlineData("tokenizer.model")]
    [InlineData("merges.txt")]
    public async Task Unknown_content_under_a_name_that_claims_no_model_format_is_safe_data(string name)
    {
        var report = await ScanAsync(Encoding.ASCII.GetBytes("{\"vocab_size\": 32000, \"little\": true}\n"), name);

        Assert.Equal("data", report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task A_zip_appended_to_a_pickle_is_scanned_too()
    {
        var zip = TestZip.Build([new ZipMember("payload.pkl", OsSystemProtocol2)]);

        var report = await ScanAsync([.. BenignDictProtocol2, .. zip], "state.pkl");

        Assert.Contains(report.Findings, f => f.Rule == "container.polyglot" && f.Level == ScanLevel.Safe);
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
    }

    [Fact]
    public async Task B7_a_torch_archive_inside_a_pickle_is_scanned_by_the_zip_reader()
    {
        var clean = await ScanAsync(LoadFromBytes(TestZip.Build(TestZip.TorchArchive(BenignDictProtocol2))), "tensor.pkl");
        var malicious = await ScanAsync(LoadFromBytes(TestZip.Build(TestZip.TorchArchive(OsSystemProtocol2))), "tensor.pkl");

        Assert.Equal(ScanLevel.Safe, clean.Verdict);
        Assert.Equal(ScanLevel.Dangerous, malicious.Verdict);
    }

    [Fact]
    public async Task The_deadline_is_a_suspicious_finding_not_a_crash()
    {
        var report = await ScanAsync(TestZip.Build(TestZip.TorchArchive(BenignDictProtocol2)), "model.pt", new ScanLimits { MaxDuration = TimeSpan.Zero });

        Assert.Equal(ScanLevel.Suspicious, report.Verdict);
        Assert.Equal("scan.time-limit", Assert.Single(report.Findings).Rule);
    }

    [Fact]
    public async Task The_callers_cancellation_is_not_turned_into_a_verdict()
    {
        using var stream = new MemoryStream(BenignDictProtocol2);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ModelScanner().ScanAsync(stream, "x.pkl", new CancellationToken(canceled: true)));
    }

    [Fact]
    public async Task A_stream_that_cannot_seek_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => new ModelScanner().ScanAsync(new ForwardOnly(BenignDictProtocol2), "x.pkl", CancellationToken.None));
    }

    [Fact]
    public async Task The_report_carries_the_name_and_size_the_caller_gave()
    {
        var report = await ScanAsync(BenignDictProtocol2, "dir/state.pkl");

        Assert.Equal(("dir/state.pkl", (long)BenignDictProtocol2.Length, "pickle"), (report.Path, report.Size, report.Format));
    }

    [Fact]
    public async Task An_empty_file_is_data()
    {
        var named = await ScanAsync([], "notes.txt");
        var checkpoint = await ScanAsync([], "model.pt");

        Assert.Equal((ScanLevel.Safe, ScanLevel.Suspicious), (named.Verdict, checkpoint.Verdict));
    }

    /// <summary><c>torch.storage._load_from_bytes(b"PK…")</c>: what pickle.dumps of a CUDA tensor produces.</summary>
    private static byte[] LoadFromBytes(byte[] archive) =>
        [0x80, 0x03, .. "ctorch.storage\n_load_from_bytes\n"u8, (byte)'B', .. BitConverter.GetBytes(archive.Length), .. archive, 0x85, (byte)'R', (byte)'.'];

    private sealed class ForwardOnly(byte[] content) : MemoryStream(content)
    {
        public override bool CanSeek => false;
    }
}
