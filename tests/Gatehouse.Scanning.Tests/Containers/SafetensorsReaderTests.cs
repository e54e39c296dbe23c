using static Gatehouse.Scanning.Tests.Containers.TestContent;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// safetensors header validation as the reference implementation does it (huggingface/safetensors
/// <c>safetensors/src/tensor.rs</c>, <c>Metadata::validate</c>); URLs in the metadata are fine (corpus case B11).
/// </summary>
public sealed class SafetensorsReaderTests
{
    private const string TwoTensors =
        """{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"I8","shape":[4],"data_offsets":[16,20]}}""";

    [Fact]
    public async Task A_valid_file_is_safe()
    {
        var report = await ScanAsync(Safetensors(TwoTensors, new byte[20]), "model.safetensors");

        Assert.Equal("safetensors", report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task B11_urls_in_the_metadata_are_fine()
    {
        var header = """{"__metadata__":{"license":"https://www.apache.org/licenses/LICENSE-2.0","base_model":"https://huggingface.co/org/model"},"w":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}}""";

        var report = await ScanAsync(Safetensors(header, new byte[6]), "model.safetensors");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task Tensors_listed_out_of_order_are_sorted_by_offset_as_the_reference_does()
    {
        var header = """{"b":{"dtype":"U8","shape":[4],"data_offsets":[16,20]},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""";

        var report = await ScanAsync(Safetensors(header, new byte[20]), "model.safetensors");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task Sub_byte_dtypes_are_sized_in_bits()
    {
        var header = """{"q":{"dtype":"F4","shape":[4],"data_offsets":[0,2]},"s":{"dtype":"F8_E8M0","shape":[2],"data_offsets":[2,4]}}""";

        var report = await ScanAsync(Safetensors(header, new byte[4]), "model.safetensors");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    public static TheoryData<string, string, int> Violations => new()
    {
        { "safetensors.header-json", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},}""", 4 },
        { "safetensors.header-json", """["a"]""", 0 },
        { "safetensors.header-json", """{"__metadata__":{"n":1},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4 },
        { "safetensors.header-json", """{"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}""", 4 },
        { "safetensors.header-json", """{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4 },
        { "safetensors.header-json", """{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}""", 4 },
        { "safetensors.header-json", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}""", 4 },
        { "safetensors.header-json", """{"a":{"dtype":"F32","shape":[1]}}""", 4 },
        { "safetensors.duplicate-key", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4 },
        { "safetensors.invalid-offset", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8 },
        { "safetensors.invalid-offset", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8 },
        { "safetensors.invalid-offset", """{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}""", 8 },
        { "safetensors.tensor-info", """{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8 },
        { "safetensors.overflow", """{"a":{"dtype":"F32","shape":[4294967296,4294967296,2],"data_offsets":[0,4]}}""", 4 },
        { "safetensors.misaligned", """{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}}""", 1 },
        { "safetensors.incomplete-buffer", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 8 },
        { "safetensors.incomplete-buffer", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4 },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public async Task Each_violation_of_the_reference_rules_is_invalid(string rule, string header, int dataBytes)
    {
        var report = await ScanAsync(Safetensors(header, new byte[dataBytes]), "model.safetensors");

        Assert.Equal(ScanLevel.Invalid, report.Verdict);
        Assert.Equal(rule, Assert.Single(report.Findings).Rule);
    }

    [Fact]
    public async Task A_header_that_is_not_utf8_is_invalid()
    {
        byte[] header = [(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}'];
        byte[] content = [.. BitConverter.GetBytes((ulong)header.Length), .. header];

        var report = await ScanAsync(content, "model.safetensors");

        Assert.Equal("safetensors.header-utf8", Assert.Single(report.Findings).Rule);
    }

    [Fact]
    public async Task A_header_claiming_2_pow_60_bytes_is_refused_without_allocating_it_and_is_inert()
    {
        byte[] content = [.. BitConverter.GetBytes(1UL << 60), .. "{\"a\":{}}"u8];

        var report = await ScanAsync(content, "model.safetensors");

        // The reference refuses the length before reading anything, and no other loader reads these bytes either.
        Assert.Equal(ScanLevel.Safe, report.Verdict);
        Assert.Contains("safetensors", Assert.Single(report.Findings, f => f.Rule == InertContent.Rule).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_header_longer_than_the_file_is_inert_to_safetensors()
    {
        byte[] content = [.. BitConverter.GetBytes(4096UL), .. "{\"a\":{}}"u8];

        var report = await ScanAsync(content, "model.safetensors");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
        Assert.Single(report.Findings, f => f.Rule == InertContent.Rule);
    }

    [Fact]
    public async Task A_refused_header_length_does_not_hide_a_pickle_from_torch_load()
    {
        // A length byte pattern followed by '{' could still be read by torch.load's legacy pickle path: it is judged there.
        byte[] content = [.. BitConverter.GetBytes(1UL << 60), .. "{\"a\":{}}"u8];

        var report = await ScanAsync(content, "model.pt");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
        Assert.Contains("torch.load", Assert.Single(report.Findings, f => f.Rule == InertContent.Rule).Message, StringComparison.Ordinal);
    }
}
