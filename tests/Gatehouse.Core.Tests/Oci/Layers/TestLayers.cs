using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Gatehouse.Oci.Layers;
using Gatehouse.Scanning.Containers;
using Gatehouse.Scans;

namespace Gatehouse.Core.Tests.Oci.Layers;

/// <summary>Layer blobs made in the test with System.Formats.Tar, gzip and zstd, and what goes in them.</summary>
internal static class TestLayers
{
    /// <summary>os.system('id') at protocol 2: PROTO 2, GLOBAL os system, the argument, TUPLE1, REDUCE, STOP.</summary>
    public static readonly byte[] MaliciousPickle = [0x80, 0x02, .. "cos\nsystem\n"u8, (byte)'X', 2, 0, 0, 0, (byte)'i', (byte)'d', 0x85, (byte)'R', (byte)'.'];

    /// <summary>os.system('id') at protocol 0, plain text: found by its name only.</summary>
    public static readonly byte[] TextPickle = "cos\nsystem\n(S'id'\ntR."u8.ToArray();

    /// <summary>One float32 tensor in a safetensors file: the header length, the JSON header, four bytes of data.</summary>
    public static byte[] Safetensors()
    {
        var header = """{"weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"""u8.ToArray();
        return [.. BitConverter.GetBytes((ulong)header.Length), .. header, 0, 0, 128, 63];
    }

    /// <summary>An entry: a file with content, a directory (name ending in '/'), or a link.</summary>
    public sealed record Entry(string Name, byte[]? Data = null, TarEntryType Type = TarEntryType.RegularFile, string? Link = null)
    {
        public static Entry File(string name, string text) => new(name, Encoding.UTF8.GetBytes(text));

        public static Entry File(string name, byte[] data) => new(name, data);

        public static Entry Directory(string name) => new(name, null, TarEntryType.Directory);

        public static Entry Symlink(string name, string target) => new(name, null, TarEntryType.SymbolicLink, target);

        public static Entry Hardlink(string name, string target) => new(name, null, TarEntryType.HardLink, target);
    }

    /// <summary>A plain tar (PAX format, as Go's archive/tar and docker write long names).</summary>
    public static byte[] Tar(params Entry[] entries)
    {
        using var memory = new MemoryStream();
        using (var writer = new TarWriter(memory, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var e in entries)
            {
                var entry = new PaxTarEntry(e.Type, e.Name);
                if (e.Link is not null)
                {
                    entry.LinkName = e.Link;
                }
                if (e.Data is not null)
                {
                    entry.DataStream = new MemoryStream(e.Data);
                }
                writer.WriteEntry(entry);
            }
        }
        return memory.ToArray();
    }

    public static byte[] Gzip(byte[] content)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(content);
        }
        return memory.ToArray();
    }

    public static byte[] Zstd(byte[] content)
    {
        using var compressor = new ZstdSharp.Compressor(3);
        return compressor.Wrap(content).ToArray();
    }

    public static Task<LayerReport> InspectAsync(byte[] blob, string digest = "sha256:layer", ScanBudget? budget = null) =>
        LayerInspector.InspectAsync(new ForwardOnly(blob), digest, budget, CancellationToken.None);

    public static async Task<LayerReport> LayerAsync(string digest, params Entry[] entries) => await InspectAsync(Gzip(Tar(entries)), digest);

    /// <summary>A registry blob as the proxy reads it: forward only, no length, no seeking.</summary>
    private sealed class ForwardOnly(byte[] bytes) : ForwardStream
    {
        private readonly MemoryStream _inner = new(bytes, writable: false);

        public override int Read(Span<byte> buffer) => _inner.Read(buffer);
    }
}
