using System.Formats.Tar;
using System.Text;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// The PyTorch legacy tar checkpoint (torch.serialization.legacy_load): members storages, tensors and pickle, where
/// storages and tensors interleave pickles with raw bytes.
/// </summary>
public sealed class LegacyTorchTarTests
{
    private static readonly byte[] One = [0x80, 0x02, (byte)'K', 0x01, (byte)'.'];

    // ('0', 'cpu', torch.FloatStorage), as legacy torch.save wrote each storage record.
    private static byte[] StorageRecord(string type = "FloatStorage") =>
        [0x80, 0x02, .. Str("0"), .. Str("cpu"), .. Latin1($"ctorch\n{type}\n"), 0x87, (byte)'.'];

    // ('t0', '0', torch.FloatTensor)
    private static readonly byte[] TensorRecord = [0x80, 0x02, .. Str("t0"), .. Str("0"), .. Latin1("ctorch\nFloatTensor\n"), 0x87, (byte)'.'];

    private static readonly byte[] EmptyList = [0x80, 0x02, (byte)']', (byte)'.'];

    private static byte[] Storages(byte[]? record = null, long elements = 2, int dataBytes = 8) =>
        [.. One, .. record ?? StorageRecord(), .. BitConverter.GetBytes(elements), .. new byte[dataBytes], .. EmptyList];

    private static readonly byte[] Tensors =
        [.. One, .. TensorRecord, .. BitConverter.GetBytes(1), 0, 0, 0, 0, .. BitConverter.GetBytes(2L), .. BitConverter.GetBytes(1L), .. BitConverter.GetBytes(0L)];

    // {} at protocol 2: the model object, here an empty dict.
    private static readonly byte[] BenignPickle = [0x80, 0x02, (byte)'}', (byte)'.'];

    [Fact]
    public async Task A_legacy_tar_checkpoint_is_walked_like_legacy_load_and_is_safe()
    {
        var report = await ScanAsync(Tar(("storages", Storages()), ("tensors", Tensors), ("pickle", BenignPickle)));
        Assert.True(report.Verdict == ScanLevel.Safe, string.Join("; ", report.Findings));
        Assert.Equal("tar", report.Format);
    }

    [Fact]
    public async Task A_payload_in_the_pickle_member_is_dangerous()
    {
        var report = await ScanAsync(Tar(("storages", Storages()), ("tensors", Tensors), ("pickle", Latin1("cos\nsystem\n(S'id'\ntR."))));
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Global == "os.system" && f.Path!.EndsWith("pickle", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_payload_in_a_storage_record_is_dangerous()
    {
        var evil = Latin1("cos\nsystem\n(S'id'\ntR.");
        var report = await ScanAsync(Tar(("storages", Storages(record: evil)), ("tensors", Tensors), ("pickle", BenignPickle)));
        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Global == "os.system" && f.Path!.EndsWith("storages", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_storage_claiming_more_bytes_than_the_member_holds_is_invalid_and_never_allocated()
    {
        var report = await ScanAsync(Tar(("storages", Storages(elements: 1L << 60)), ("tensors", Tensors), ("pickle", BenignPickle)));
        Assert.Equal(ScanLevel.Invalid, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "torch.legacy-tar-layout");
    }

    private static Task<FileReport> ScanAsync(byte[] tar) => new ModelScanner().ScanAsync(new MemoryStream(tar), "legacy.pt", CancellationToken.None);

    private static byte[] Tar(params (string Name, byte[] Data)[] members)
    {
        var memory = new MemoryStream();
        using (var writer = new TarWriter(memory, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, data) in members)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            }
        }
        return memory.ToArray();
    }

    private static byte[] Str(string s) => [(byte)'X', .. BitConverter.GetBytes(s.Length), .. Encoding.UTF8.GetBytes(s)];

    private static byte[] Latin1(string s) => Encoding.Latin1.GetBytes(s);
}
