using Gatehouse.Scanning.Containers;
using Gatehouse.Scanning.Pickle;
using Gatehouse.Scanning.Tests.Pickle;
using static Gatehouse.Scanning.Tests.Pickle.PickleAssembler;
using static Gatehouse.Scanning.Tests.Pickle.PickleScanning;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// Legacy torch.save (five pickles then raw storages), as <c>_legacy_save</c> and <c>_legacy_load</c> in
/// <c>torch/serialization.py</c> write and read it; corpus cases 8.1-8, 8.1-9 and B9.
/// </summary>
public sealed class LegacyTorchReaderTests
{
    private static byte[] MagicPickle => new PickleAssembler().Proto(2).Long1(LegacyTorchReader.MagicNumber).Stop().ToArray();

    private static byte[] VersionPickle => new PickleAssembler().Proto(2).Int(LegacyTorchReader.ProtocolVersion).Stop().ToArray();

    private static byte[] SysInfoPickle => new PickleAssembler().Proto(2).EmptyDict()
        .Mark().BinUnicode("protocol_version").Int(1001).BinUnicode("little_endian").True()
        .BinUnicode("type_sizes").EmptyDict().Mark().BinUnicode("short").Int(2).BinUnicode("int").Int(4).BinUnicode("long").Int(4).SetItems()
        .SetItems().Stop().ToArray();

    private static byte[] ObjectPickle => new PickleAssembler().Proto(2)
        .Global("collections", "OrderedDict").EmptyTuple().Reduce()
        .BinUnicode("weight")
        .Global("torch._utils", "_rebuild_tensor")
        .Mark().Mark().BinUnicode("storage").Global("torch", "FloatStorage").BinUnicode("94000").BinUnicode("cpu").Int(4).None().Tuple().BinPersId()
        .Int(0).Int(2).Int(2).Tuple2().Int(2).Int(1).Tuple2().Tuple().Reduce()
        .SetItem().Stop().ToArray();

    private static byte[] StorageKeysPickle => new PickleAssembler().Proto(2).EmptyList().BinUnicode("94000").Append().Stop().ToArray();

    /// <summary>What torch's _legacy_save writes after the pickles: per storage, an 8-byte size and the raw data.</summary>
    private static byte[] Storages => [.. BitConverter.GetBytes(4L), .. new byte[16]];

    private static byte[] LegacyFile(byte[]? magic = null, byte[]? version = null, byte[]? sysInfo = null, byte[]? obj = null, byte[]? keys = null) =>
        [.. magic ?? MagicPickle, .. version ?? VersionPickle, .. sysInfo ?? SysInfoPickle, .. obj ?? ObjectPickle, .. keys ?? StorageKeysPickle, .. Storages];

    private static IReadOnlyList<ModelFinding> Scan(byte[] file) =>
        LegacyTorchReader.Scan(new MemoryStream(file), "model.pt", new PickleScanner(new ScanLimits()));

    [Fact]
    public void A_legacy_checkpoint_is_safe_and_its_storage_bytes_are_reported_as_inert()
    {
        var findings = AssertVerdict(ScanLevel.Safe, Scan(LegacyFile()));
        var trailing = findings.Single(PickleRules.TrailingData);
        Assert.Equal(ScanLevel.Safe, trailing.Level);
        Assert.Contains("24 bytes", trailing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_head_whose_first_value_is_an_integer_looks_like_a_legacy_checkpoint()
    {
        Assert.True(LegacyTorchReader.LooksLike(LegacyFile()));
        Assert.True(LegacyTorchReader.LooksLike(Latin1($"L{LegacyTorchReader.MagicNumber}L\n.")));
        Assert.False(LegacyTorchReader.LooksLike("PK\u0003\u0004"u8));
        Assert.False(LegacyTorchReader.LooksLike(ObjectPickle));
        Assert.True(LegacyTorchReader.LooksLike(Latin1("I1\n0cos\nsystem\n(S'id'\ntR."))); // any integer first: torch's legacy reader takes it
    }

    [Fact]
    public void Case08_a_magic_pickle_computed_by_REDUCE_is_dangerous_and_the_fifth_pickle_is_still_scanned()
    {
        var magic = new PickleAssembler().Proto(2).Global("__builtin__", "eval").BinUnicode("0x1950A86A20F9469CFC6C").Tuple1().Reduce().Stop().ToArray();
        var keys = new PickleAssembler().Proto(2).Global("os", "system").BinUnicode("id").Tuple1().Reduce().Pop().EmptyList().Stop().ToArray();
        var findings = AssertVerdict(ScanLevel.Dangerous, Scan(LegacyFile(magic: magic, keys: keys)));
        Assert.True(findings.Has(LegacyTorchReader.BadMagicRule));
        Assert.True(findings.Has(PickleRules.DangerousCall, "builtins.eval"));
        Assert.True(findings.Has(PickleRules.DangerousCall, "os.system"));
    }

    [Fact]
    public void Case09_payload_in_the_object_pickle_is_dangerous()
    {
        var obj = new PickleAssembler().Proto(2).Global("subprocess", "Popen").BinUnicode("id").Tuple1().Reduce().Stop().ToArray();
        AssertVerdict(ScanLevel.Dangerous, Scan(LegacyFile(obj: obj)));
    }

    [Fact]
    public void Case09_payload_in_the_storage_keys_pickle_is_dangerous()
    {
        var keys = new PickleAssembler().Proto(2).EmptyList().Global("posix", "system").BinUnicode("id").Tuple1().Reduce().Append().Stop().ToArray();
        AssertVerdict(ScanLevel.Dangerous, Scan(LegacyFile(keys: keys)));
    }

    [Fact]
    public void Case09_payload_in_the_sys_info_pickle_is_dangerous()
    {
        var sysInfo = new PickleAssembler().Proto(2).Global("builtins", "exec").BinUnicode("import os").Tuple1().Reduce().Stop().ToArray();
        AssertVerdict(ScanLevel.Dangerous, Scan(LegacyFile(sysInfo: sysInfo)));
    }

    [Fact]
    public void A_wrong_magic_number_is_inert_because_torch_load_raises_before_importing_anything()
    {
        var magic = new PickleAssembler().Proto(2).Int(12345).Stop().ToArray();
        var findings = AssertVerdict(ScanLevel.Safe, Scan(LegacyFile(magic: magic)));
        var inert = Assert.Single(findings, f => f.Rule == InertContent.Rule);
        Assert.Contains("torch.load would fail", inert.Message, StringComparison.Ordinal);
        Assert.Contains("magic number", inert.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_magic_number_does_not_hide_a_payload_after_it()
    {
        var magic = new PickleAssembler().Proto(2).Int(12345).Stop().ToArray();
        AssertVerdict(ScanLevel.Dangerous, Scan([.. magic, .. CallPickle("os", "system", "id")]));
    }

    [Fact]
    public void A_magic_number_computed_by_a_call_is_still_judged_by_that_call()
    {
        AssertVerdict(ScanLevel.Dangerous, Scan(LegacyFile(magic: CallPickle("os", "system", "id"))));
    }

    [Fact]
    public void A_wrong_protocol_version_is_inert()
    {
        var version = new PickleAssembler().Proto(2).Int(1000).Stop().ToArray();
        var findings = AssertVerdict(ScanLevel.Safe, Scan(LegacyFile(version: version)));
        Assert.Contains(findings, f => f.Rule == InertContent.Rule && f.Message.Contains("protocol-version", StringComparison.Ordinal));
    }

    [Fact]
    public void Storage_bytes_that_happen_to_look_like_opcodes_are_not_executed_by_torch_and_stay_inert()
    {
        byte[] file = [.. MagicPickle, .. VersionPickle, .. SysInfoPickle, .. ObjectPickle, .. StorageKeysPickle, .. CallPickle("os", "system", "id")];
        var findings = AssertVerdict(ScanLevel.Safe, Scan(file));
        Assert.True(findings.Has(PickleRules.TrailingData));
    }

    [Fact]
    public void A_file_that_ends_inside_the_five_pickles_before_any_import_is_inert()
    {
        byte[] file = [.. MagicPickle, .. VersionPickle, .. SysInfoPickle];
        var findings = AssertVerdict(ScanLevel.Safe, Scan(file));
        Assert.Contains(findings, f => f.Rule == InertContent.Rule && f.Message.Contains("torch.load would fail", StringComparison.Ordinal));
    }

    [Fact]
    public void A_file_that_ends_inside_the_object_pickle_after_an_import_stays_invalid()
    {
        var broken = new PickleAssembler().Proto(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().ToArray();
        byte[] file = [.. MagicPickle, .. VersionPickle, .. SysInfoPickle, .. broken];
        Assert.True(AssertVerdict(ScanLevel.Invalid, Scan(file)).Has(PickleRules.Truncated));
    }
}
