using System.Buffers.Binary;
using System.IO.Compression;
using K4os.Compression.LZ4.Streams;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.LZMA;
using SharpCompress.Compressors.Xz;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// Single-stream compressors told by their magic: the generic ones (gzip, bz2, xz) and the ones joblib registers and
/// sniffs the same way on load (zlib, lzma, lz4, and the pre-0.9.3 <c>ZF</c> zlib file). Every output passes through a
/// <see cref="GuardedStream"/>, so size and ratio are measured while decompressing, never taken from a header.
/// </summary>
internal static class CompressedStream
{
    public delegate bool MagicTest(ReadOnlySpan<byte> head);

    /// <param name="Name">Reported as the format when the content is not a pickle.</param>
    /// <param name="Reason">Who reads this compressor by magic.</param>
    public sealed record Compressor(string Name, string Reason, MagicTest Matches, Func<Stream, Stream> Open);

    /// <summary>Order matters only where prefixes could overlap; none of these do.</summary>
    public static readonly IReadOnlyList<Compressor> Table =
    [
        new("gzip", "gzip archives, and joblib's gzip compressor (prefix 1f 8b)",
            head => head.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B]),
            input => new GZipStream(input, CompressionMode.Decompress)),
        new("bz2", "bz2 archives, and joblib's bz2 compressor (joblib sniffs \"BZ\")",
            head => head.StartsWith("BZh"u8),
            input => BZip2Stream.Create(input, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: true)),
        new("xz", "xz archives, and joblib's xz compressor (prefix fd 37 7a 58 5a)",
            head => head.StartsWith((ReadOnlySpan<byte>)[0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]),
            input => new XZStream(input)),
        new("lz4", "joblib's lz4 compressor writes LZ4 frames (prefix 04 22 4d 18)",
            head => head.StartsWith((ReadOnlySpan<byte>)[0x04, 0x22, 0x4D, 0x18]),
            input => LZ4Stream.Decode(input)),
        new("zlib", "joblib's zlib compressor writes a bare zlib stream (joblib sniffs 'x')",
            IsZlibHeader,
            input => new ZLibStream(input, CompressionMode.Decompress)),
        new("lzma", "joblib's lzma compressor writes the .lzma 'alone' format (joblib sniffs 5d 00)",
            head => head.Length >= 13 && head[0] == 0x5D && head[1] == 0x00,
            OpenLzmaAlone),
        new("joblib-zfile", "joblib before 0.9.3 wrote 'ZF', a hex length padded to 19 bytes (sometimes one more space), then zlib",
            head => head.Length >= 24 && head[0] == 'Z' && head[1] == 'F' && (IsZlibHeader(head[21..]) || (head[21] == ' ' && IsZlibHeader(head[22..]))),
            input =>
            {
                Span<byte> header = stackalloc byte[21];
                input.ReadExactly(header);
                var next = input.ReadByte();
                var rest = next == ' ' ? input : new PrefixedStream([(byte)next], 1, input);
                return new ZLibStream(rest, CompressionMode.Decompress);
            }),
    ];

    public static Compressor? Detect(ReadOnlySpan<byte> head)
    {
        foreach (var compressor in Table)
        {
            if (compressor.Matches(head))
            {
                return compressor;
            }
        }
        return null;
    }

    /// <summary>The decompressed content, guarded by the file's budget and the ratio limit.</summary>
    public static GuardedStream Open(Compressor compressor, Stream compressed, ScanContext context, string? path)
    {
        var counting = new CountingStream(compressed);
        return new GuardedStream(compressor.Open(counting), context, path, () => counting.BytesRead);
    }

    /// <summary>
    /// A zlib header: deflate with a window of at most 32 KiB, a check value that is a multiple of 31, and no preset
    /// dictionary (FDICT), which no loader supplies; that last bit also keeps text such as "x = 1" from passing for zlib.
    /// </summary>
    private static bool IsZlibHeader(ReadOnlySpan<byte> head) =>
        head.Length >= 2 && head[0] == 0x78 && (head[1] & 0x20) == 0 && ((head[0] << 8) | head[1]) % 31 == 0;

    /// <summary>The 'alone' header: 5 property bytes (lc/lp/pb and dictionary size), then the size or -1 for "until the end marker".</summary>
    private static Stream OpenLzmaAlone(Stream input)
    {
        var header = new byte[13];
        input.ReadExactly(header);
        var properties = header[..5];
        var size = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(5));
        return LzmaStream.Create(properties, input, -1, size, leaveOpen: false);
    }
}
