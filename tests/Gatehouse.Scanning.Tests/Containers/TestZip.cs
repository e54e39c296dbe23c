using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>One member for <see cref="TestZip"/>, with every knob a differential attack turns.</summary>
internal sealed record ZipMember(string Name, byte[] Data)
{
    /// <summary>The name written in the local header (defaults to <see cref="Name"/>).</summary>
    public string? LocalName { get; init; }

    /// <summary>0 stored, 8 deflate, anything else written as given with <see cref="Data"/> stored raw.</summary>
    public ushort Method { get; init; }

    public ushort CentralFlags { get; init; }

    public ushort LocalFlags { get; init; }

    /// <summary>A CRC-32 to write instead of the real one.</summary>
    public uint? Crc { get; init; }

    /// <summary>An uncompressed size to declare instead of the real one.</summary>
    public long? DeclaredSize { get; init; }

    /// <summary>Bytes to store instead of the (compressed) data, e.g. ciphertext.</summary>
    public byte[]? RawData { get; init; }

    public bool Symlink { get; init; }
}

/// <summary>
/// A zip writer for tests that can lie the ways attackers do: flag bits in either header, a wrong CRC-32, a local name
/// that differs from the central one, declared sizes, zip64 records, bytes before the archive.
/// </summary>
internal static class TestZip
{
    public static byte[] Build(IEnumerable<ZipMember> members, bool zip64 = false, byte[]? prefix = null)
    {
        using var output = new MemoryStream();
        output.Write(prefix ?? []);
        var central = new MemoryStream();
        var count = 0;
        foreach (var member in members)
        {
            count++;
            var offset = output.Length - (prefix?.Length ?? 0);
            var stored = member.RawData ?? (member.Method == 8 ? Deflate(member.Data) : member.Data);
            var crc = member.Crc ?? Crc32(member.Data);
            var uncompressed = member.DeclaredSize ?? member.Data.Length;
            var centralName = Encoding.UTF8.GetBytes(member.Name);
            var localName = Encoding.UTF8.GetBytes(member.LocalName ?? member.Name);

            var localExtra = zip64 ? Zip64Extra(uncompressed, stored.Length, null) : [];
            WriteUInt32(output, 0x04034B50);
            WriteUInt16(output, zip64 ? (ushort)45 : (ushort)20);
            WriteUInt16(output, member.LocalFlags);
            WriteUInt16(output, member.Method);
            WriteUInt16(output, 0);
            WriteUInt16(output, 0x21);
            WriteUInt32(output, crc);
            WriteUInt32(output, zip64 ? uint.MaxValue : (uint)stored.Length);
            WriteUInt32(output, zip64 ? uint.MaxValue : (uint)uncompressed);
            WriteUInt16(output, (ushort)localName.Length);
            WriteUInt16(output, (ushort)localExtra.Length);
            output.Write(localName);
            output.Write(localExtra);
            output.Write(stored);

            var centralExtra = zip64 ? Zip64Extra(uncompressed, stored.Length, offset) : [];
            WriteUInt32(central, 0x02014B50);
            WriteUInt16(central, (3 << 8) | 20);
            WriteUInt16(central, zip64 ? (ushort)45 : (ushort)20);
            WriteUInt16(central, member.CentralFlags);
            WriteUInt16(central, member.Method);
            WriteUInt16(central, 0);
            WriteUInt16(central, 0x21);
            WriteUInt32(central, crc);
            WriteUInt32(central, zip64 ? uint.MaxValue : (uint)stored.Length);
            WriteUInt32(central, zip64 ? uint.MaxValue : (uint)uncompressed);
            WriteUInt16(central, (ushort)centralName.Length);
            WriteUInt16(central, (ushort)centralExtra.Length);
            WriteUInt16(central, 0);
            WriteUInt16(central, 0);
            WriteUInt16(central, 0);
            WriteUInt32(central, member.Symlink ? 0xA1FFu << 16 : 0x81A4u << 16);
            WriteUInt32(central, zip64 ? uint.MaxValue : (uint)offset);
            central.Write(centralName);
            central.Write(centralExtra);
        }
        var centralOffset = output.Length - (prefix?.Length ?? 0);
        output.Write(central.ToArray());
        if (zip64)
        {
            var recordOffset = output.Length - (prefix?.Length ?? 0);
            WriteUInt32(output, 0x06064B50);
            WriteUInt64(output, 44);
            WriteUInt16(output, 45);
            WriteUInt16(output, 45);
            WriteUInt32(output, 0);
            WriteUInt32(output, 0);
            WriteUInt64(output, (ulong)count);
            WriteUInt64(output, (ulong)count);
            WriteUInt64(output, (ulong)central.Length);
            WriteUInt64(output, (ulong)centralOffset);
            WriteUInt32(output, 0x07064B50);
            WriteUInt32(output, 0);
            WriteUInt64(output, (ulong)recordOffset + (ulong)(prefix?.Length ?? 0));
            WriteUInt32(output, 1);
        }
        WriteUInt32(output, 0x06054B50);
        WriteUInt16(output, 0);
        WriteUInt16(output, 0);
        WriteUInt16(output, zip64 ? ushort.MaxValue : (ushort)count);
        WriteUInt16(output, zip64 ? ushort.MaxValue : (ushort)count);
        WriteUInt32(output, zip64 ? uint.MaxValue : (uint)central.Length);
        WriteUInt32(output, zip64 ? uint.MaxValue : (uint)centralOffset);
        WriteUInt16(output, 0);
        return output.ToArray();
    }

    /// <summary>A normal archive written by System.IO.Compression, as Python's zipfile would write it.</summary>
    public static byte[] Standard(params (string Name, byte[] Data)[] members)
    {
        using var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, data) in members)
            {
                using var entry = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
                entry.Write(data);
            }
        }
        return output.ToArray();
    }

    /// <summary>The records of a default <c>torch.save</c> archive around the given data.pkl.</summary>
    public static List<ZipMember> TorchArchive(byte[] dataPkl, string prefix = "archive/") =>
    [
        new(prefix + "data.pkl", dataPkl),
        new(prefix + "byteorder", "little"u8.ToArray()),
        new(prefix + "data/0", new byte[64]),
        new(prefix + "version", "3\n"u8.ToArray()),
        new(prefix + ".data/serialization_id", "0123456789012345678901234567890123456789"u8.ToArray()),
    ];

    public static byte[] Deflate(byte[] data)
    {
        using var output = new MemoryStream();
        using (var deflate = new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(data);
        }
        return output.ToArray();
    }

    public static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
            }
        }
        return ~crc;
    }

    private static byte[] Zip64Extra(long uncompressed, long compressed, long? offset)
    {
        var extra = new byte[4 + (offset is null ? 16 : 24)];
        BinaryPrimitives.WriteUInt16LittleEndian(extra, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(extra.AsSpan(2), (ushort)(extra.Length - 4));
        BinaryPrimitives.WriteInt64LittleEndian(extra.AsSpan(4), uncompressed);
        BinaryPrimitives.WriteInt64LittleEndian(extra.AsSpan(12), compressed);
        if (offset is { } value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(extra.AsSpan(20), value);
        }
        return extra;
    }

    private static void WriteUInt16(Stream s, int value) => s.Write([(byte)value, (byte)(value >> 8)]);

    private static void WriteUInt32(Stream s, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        s.Write(b);
    }

    private static void WriteUInt64(Stream s, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        s.Write(b);
    }
}
