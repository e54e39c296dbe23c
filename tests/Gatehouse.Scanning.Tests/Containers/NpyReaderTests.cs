using Gatehouse.Scanning.Containers;
using static Gatehouse.Scanning.Tests.Containers.TestContent;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// .npy headers with full dtype parsing (a structured dtype with an object field also makes the body a pickle, as
/// numpy's <c>dtype.hasobject</c> says), and .npz members sniffed by content; corpus cases 8.1-12, 8.1-13 and B4.
/// </summary>
public sealed class NpyReaderTests
{
    [Theory]
    [InlineData("'<f4'", false)]
    [InlineData("'|b1'", false)]
    [InlineData("'<M8[ns]'", false)]
    [InlineData("'<U10'", false)]
    [InlineData("'float32'", false)]
    [InlineData("'|O'", true)]
    [InlineData("'O'", true)]
    [InlineData("'|O8'", true)]
    [InlineData("'object'", true)]
    [InlineData("'i4, O'", true)]
    [InlineData("'(2,3)O'", true)]
    [InlineData("'(2,3)<f8'", false)]
    [InlineData("[('a', '<i4'), ('b', '|O')]", true)]
    [InlineData("[('a', '<i4'), ('b', '<f8', (3,))]", false)]
    [InlineData("[('outer', [('inner', '|O')])]", true)]
    [InlineData("[(('title', 'name'), '|O')]", true)]
    [InlineData("[('a', ('|O', (2,)))]", true)]
    [InlineData("[('', '|V4'), ('b', '<i8')]", false)]
    public void The_dtype_is_parsed_far_enough_to_know_whether_it_holds_objects(string descr, bool hasObject)
    {
        var header = NpyReader.ParseHeader($"{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}");

        Assert.Equal(hasObject, NpyReader.HasObject(header.Descr));
    }

    [Theory]
    [InlineData("'T'")]
    [InlineData("'Q4Z'")]
    [InlineData("'<x4'")]
    public void A_dtype_string_that_cannot_be_proven_object_free_fails_closed(string descr)
    {
        var header = NpyReader.ParseHeader($"{{'descr': {descr}, 'fortran_order': False, 'shape': (), }}");

        var error = Assert.Throws<ContainerFormatException>(() => NpyReader.HasObject(header.Descr));
        Assert.Equal(NpyReader.Rules.UnknownDtype, error.Rule);
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'shape': (2,), }")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}")]
    [InlineData("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': [2], }")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ")]
    [InlineData("['descr', '<f4']")]
    [InlineData("{'descr': __import__('os'), 'fortran_order': False, 'shape': (2,)}")]
    public void A_header_np_load_rejects_is_invalid(string header)
    {
        var error = Assert.Throws<ContainerFormatException>(() => NpyReader.ParseHeader(header));

        Assert.Equal(NpyReader.Rules.BadHeader, error.Rule);
    }

    [Fact]
    public void Headers_written_by_python_2_with_long_suffixes_parse()
    {
        var header = NpyReader.ParseHeader("{'descr': '<f8', 'fortran_order': True, 'shape': (3L, 4L), }");

        Assert.Equal([3L, 4L], header.Shape);
        Assert.True(header.FortranOrder);
    }

    [Fact]
    public async Task Case12_a_structured_dtype_with_an_object_field_makes_the_body_a_pickle_that_is_scanned()
    {
        var report = await ScanAsync(Npy("[('a', '<i4'), ('b', '|O')]", "(1,)", OsSystemProtocol2), "features.npy");

        Assert.Equal("npy", report.Format);
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
    }

    [Fact]
    public async Task B4_an_object_array_of_plain_values_is_safe()
    {
        var report = await ScanAsync(Npy("'|O'", "(1,)", BenignDictProtocol2), "objects.npy");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_numeric_array_body_is_inert_even_when_its_bytes_spell_a_pickle(int major)
    {
        var report = await ScanAsync(Npy("'<f4'", "(8,)", OsSystemProtocol2, major), "weights.npy");

        Assert.Equal("npy", report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task A_header_length_beyond_the_limit_is_not_read()
    {
        byte[] content = [0x93, .. "NUMPY"u8, 2, 0, .. BitConverter.GetBytes(uint.MaxValue), .. new byte[16]];

        var report = await ScanAsync(content, "huge.npy");

        Assert.Contains(report.Findings, f => f.Rule == "container.size-limit");
    }

    [Fact]
    public async Task Case13_an_npz_member_not_named_npy_is_found_by_its_magic()
    {
        var npz = TestZip.Standard(("weights.npy", Npy("'<f4'", "(2,)", new byte[8])), ("payload", Npy("'|O'", "(1,)", OsSystemProtocol2)));

        var report = await ScanAsync(npz, "arrays.npz");

        Assert.Equal("npz", report.Format);
        Assert.Contains(report.Findings, f => f.Level == ScanLevel.Dangerous && f.Path == "payload");
    }

    [Fact]
    public async Task Case13_an_npz_inside_an_npz_is_opened()
    {
        var inner = TestZip.Standard(("x.npy", Npy("'|O'", "(1,)", OsSystemProtocol2)));
        var outer = TestZip.Standard(("a.npy", Npy("'<i8'", "(1,)", new byte[8])), ("inner.npz", inner));

        var report = await ScanAsync(outer, "arrays.npz");

        Assert.Contains(report.Findings, f => f.Level == ScanLevel.Dangerous && f.Path == "inner.npz!x.npy");
    }

    [Fact]
    public async Task A_clean_npz_is_safe()
    {
        var npz = TestZip.Standard(("a.npy", Npy("'<f4'", "(2, 2)", new byte[16])), ("b.npy", Npy("'|b1'", "(3,)", new byte[3])));

        var report = await ScanAsync(npz, "arrays.npz");

        Assert.Equal("npz", report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }
}
