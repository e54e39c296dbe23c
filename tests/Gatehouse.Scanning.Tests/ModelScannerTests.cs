using System.Text;
using Gatehouse.Scanning.Tests.Containers;
using static Gatehouse.Scanning.Tests.Containers.TestContent;

namespace Gatehouse.Scanning.Tests;

/// <summary>
/// Routing by content, never by name; what a name's loader does with content of no format it reads (inert when it
/// fails before importing or calling anything, judged by what it reaches otherwise); limits; findings as values.
/// </summary>
public sealed class ModelScannerTests
{
    private const string SafetensorsHeader = """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";

    [Fact]
    public async Task A_text_pth_inside_an_archive_is_a_site_path_file_and_binary_junk_named_pth_there_is_inert_to_torch_load()
    {
        var wheel = TestZip.Build([new("pkg/__init__.py", "x = 1\n"u8.ToArray()), new("distutils-precedence.pth", "./vendor\nlib\n"u8.ToArray())]);
        var pathFile = await ScanAsync(wheel, "pkg-1.0-py3-none-any.whl");
        Assert.True(pathFile.Verdict == ScanLevel.Safe, string.Join("; ", pathFile.Findings)); // "x = 1" must not pass for zlib either

        var junk = await ScanAsync(TestZip.Build([new("model.pth", [0x00, 0x01, 0xFE, 0xFF, 0x10, 0x20, 0x30])]), "bundle.zip");
        Assert.Equal(ScanLevel.Safe, junk.Verdict);
        var inert = Assert.Single(junk.Findings, f => f.Rule == InertContent.Rule);
        Assert.Equal("model.pth", inert.Path);
        Assert.Contains("torch.load would fail", inert.Message, StringComparison.Ordinal);
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
    [InlineData("pytorch_model.bin", "torch.load")]
    [InlineData("model.pt", "torch.load")]
    [InlineData("model.pth", "torch.load")]
    [InlineData("last.ckpt", "torch.load")]
    [InlineData("model.safetensors", "safetensors")]
    [InlineData("model.pkl", "pickle.load")]
    [InlineData("model.joblib", "joblib.load")]
    [InlineData("weights.npy", "np.load")]
    [InlineData("saved_model.pb", "TensorFlow")]
    [InlineData("model.onnx", "onnxruntime")]
    [InlineData("model.keras", "keras")]
    [InlineData("model.h5", "h5py")]
    [InlineData("model.gguf", "llama.cpp")]
    [InlineData("model.mar", "TorchServe")]
    [InlineData("model.nemo", "NeMo")]
    public async Task Text_under_a_model_name_is_inert_and_the_report_names_the_loader_that_rejects_it(string name, string loader)
    {
        var report = await ScanAsync(Encoding.ASCII.GetBytes("this is not any model format\n"), name);

        Assert.Equal(InertContent.Format, report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
        Assert.True(report.IsInert);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(InertContent.Rule, finding.Rule);
        Assert.StartsWith($"inert: {loader}", finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("model.pkl")]
    [InlineData("pytorch_model.bin")]
    [InlineData("model.joblib")]
    public async Task Bytes_a_pickle_loader_imports_from_before_failing_are_judged_by_that_global(string name)
    {
        // No pickle the sniffer recognises (nothing is called), but find_class("os", "system") runs before the loader fails.
        var report = await ScanAsync(Encoding.ASCII.GetBytes("cos\nsystem\n"), name);

        Assert.Equal("data", report.Format);
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Global == "os.system");
    }

    [Theory]
    [InlineData("import os\nimport sys\n\ndef main():\n    pass\n")]
    [InlineData("commit 9e8325c62adb9f7c6211cb7c4f6970a27fcb67f1\nAuthor: A <a@example.org>\n")]
    [InlineData("cups (2.4.2-3) bookworm; urgency=high\n\n  * fix\n")]
    public async Task Text_whose_first_line_names_no_importable_module_is_inert_to_torch_load(string text)
    {
        // 'i' (INST) and 'c' (GLOBAL) read a module name first; "mport os" or "ommit 9e83…" is none, so find_class raises.
        var report = await ScanAsync(Encoding.ASCII.GetBytes(text), "pytorch_model.bin");

        Assert.True(report.Verdict == ScanLevel.Safe, string.Join("; ", report.Findings));
        Assert.Equal(InertContent.Format, report.Format);
    }

    [Fact]
    public async Task Text_a_pickle_loader_would_import_from_is_only_data_under_a_name_no_loader_claims()
    {
        var bytes = Encoding.ASCII.GetBytes("cat\ndog\nfish\n");
        var notes = await ScanAsync(bytes, "words.txt");
        var nameless = await ScanAsync(bytes, "");

        Assert.Equal(("data", ScanLevel.Safe), (notes.Format, notes.Verdict));
        Assert.Equal(("data", ScanLevel.Safe), (nameless.Format, nameless.Verdict));
        // The proxy scans without a name: "data" under a pickle loader's name stays not provably inert.
        Assert.Equal("container.unrecognised", ModelScanner.UnrecognisedUnderName("pytorch_model.bin")?.Rule);
        Assert.Null(ModelScanner.UnrecognisedUnderName("model.safetensors"));
    }

    [Fact]
    public async Task Bytes_that_parse_as_protobuf_are_not_inert_under_a_graph_name_but_are_to_torch_load()
    {
        var graph = new Proto().Bytes(1, new Proto().Bytes(1, "n"u8.ToArray()).Bytes(2, "PyFunc"u8.ToArray()).ToArray()).ToArray();

        var pb = await ScanAsync(graph, "saved_model.pb");
        var bin = await ScanAsync(graph, "pytorch_model.bin");

        Assert.Equal(("data", ScanLevel.Suspicious), (pb.Format, pb.Verdict));
        Assert.Equal("container.unrecognised", Assert.Single(pb.Findings).Rule);
        Assert.Equal(ScanLevel.Safe, bin.Verdict);
        Assert.Contains("torch.load would fail", Assert.Single(bin.Findings).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("model.nemo")]
    [InlineData("model.pt")]
    public async Task A_block_Pythons_tarfile_accepts_is_not_inert_to_a_loader_that_reads_tars(string name)
    {
        // An empty member name fails the scanner's tar sniffing, but tarfile only checks the checksum.
        var block = new byte[1024];
        "00000644\0"u8.CopyTo(block.AsSpan(100));
        var sum = block.Take(512).Select((b, i) => i is >= 148 and < 156 ? (int)' ' : b).Sum();
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(block, 148);

        var report = await ScanAsync(block, name);
        var notes = await ScanAsync(block, "notes.txt");

        Assert.Equal(ScanLevel.Suspicious, report.Verdict);
        Assert.Contains("tar checksum", Assert.Single(report.Findings).Message, StringComparison.Ordinal);
        Assert.Equal(("data", ScanLevel.Safe), (notes.Format, notes.Verdict));
    }

    [Fact]
    public async Task An_hdf5_signature_past_the_first_64_KiB_is_still_found_as_h5py_finds_it()
    {
        // h5py looks at 0, 512, 1024 … 65536 …: a 64 KiB user block before a (broken) superblock is still HDF5.
        var content = new byte[65536 + 16];
        new byte[] { 0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A, 0x22 }.CopyTo(content, 65536);

        var report = await ScanAsync(content, "model.h5");

        Assert.Equal("hdf5", report.Format);
        Assert.Contains("superblock version 34", Assert.Single(report.Findings).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("README.md")]
    [InlineData("config.json")]
    [InlineData("tokenizer.model")]
    [InlineData("merges.txt")]
    public async Task Unknown_content_under_a_name_that_claims_no_model_format_is_safe_data(string name)
    {
        var report = await ScanAsync(Encoding.ASCII.GetBytes("{\"vocab_size\": 32000, \"little\": true}\n"), name);

        Assert.Equal(InertContent.Format, report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
        Assert.Empty(report.Findings);
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
    public async Task An_empty_file_is_inert_under_any_name()
    {
        var named = await ScanAsync([], "notes.txt");
        var checkpoint = await ScanAsync([], "model.pt");

        Assert.Equal((ScanLevel.Safe, ScanLevel.Safe), (named.Verdict, checkpoint.Verdict));
        Assert.Equal((InertContent.Format, InertContent.Format), (named.Format, checkpoint.Format));
        Assert.Contains("empty", Assert.Single(checkpoint.Findings).Message, StringComparison.Ordinal);
    }

    /// <summary><c>torch.storage._load_from_bytes(b"PK…")</c>: what pickle.dumps of a CUDA tensor produces.</summary>
    private static byte[] LoadFromBytes(byte[] archive) =>
        [0x80, 0x03, .. "ctorch.storage\n_load_from_bytes\n"u8, (byte)'B', .. BitConverter.GetBytes(archive.Length), .. archive, 0x85, (byte)'R', (byte)'.'];

    private sealed class ForwardOnly(byte[] content) : MemoryStream(content)
    {
        public override bool CanSeek => false;
    }
}
