using System.IO.Compression;
using System.Numerics;
using Gatehouse.Scanning.Pickle;
using K4os.Compression.LZ4.Streams;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.LZMA;
using SharpCompress.Compressors.Xz;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// joblib files: a pickle whose <c>NumpyArrayWrapper</c> objects are followed by raw array bytes that joblib reads
/// mid-stream, optionally wrapped in one of joblib's compressors (zlib, gzip, bz2, lzma, xz, lz4).
/// </summary>
public static class JoblibReader
{
    /// <summary>A NumpyArrayWrapper whose state joblib cannot read an array from (missing or odd shape/dtype).</summary>
    public const string BadWrapperRule = "joblib.bad-wrapper";
    /// <summary>The raw array region runs past the end of the data.</summary>
    public const string TruncatedArrayRule = "joblib.truncated-array";
    /// <summary>The wrapper's BUILD sits inside a FRAME with bytes left: joblib would read the array from after the frame.</summary>
    public const string ArrayInFrameRule = "joblib.array-in-frame";
    /// <summary>Decompression stopped at the size or ratio limit (a decompression bomb, or simply too big).</summary>
    public const string DecompressionLimitRule = "joblib.decompression-limit";
    /// <summary>Which compressor joblib would use (for the record).</summary>
    public const string CompressedRule = "joblib.compressed";

    /// <summary>The raw array bytes hold a payload that a plain pickle.load of the same file would run.</summary>
    public const string RawRegionOpcodesRule = "joblib.raw-region-opcodes";

    /// <summary>How much of each raw array region is also read as plain pickle.load would read it.</summary>
    private const int RawRegionInspected = 64 * 1024;

    /// <summary>Scans an uncompressed joblib/pickle stream, skipping each wrapper's raw array region as joblib does.</summary>
    public static IReadOnlyList<ModelFinding> Scan(Stream stream, string? path, PickleScanner scanner)
    {
        using var session = scanner.Open(stream, path);
        session.ScanToEnd(ReadArrayAfterBuild);
        if (stream is JoblibDecompressedStream { LimitExceeded: { } why })
        {
            session.Report(DecompressionLimitRule, ScanLevel.Suspicious, $"Decompression stopped: {why}. The rest was not scanned.", session.Position);
        }
        return session.Findings;
    }

    /// <summary>
    /// Scans a joblib file as <c>joblib.load</c> reads it: detects a compressor by magic, decompresses with bounded size
    /// and ratio, then scans the pickle with its raw array regions.
    /// </summary>
    public static IReadOnlyList<ModelFinding> ScanFile(Stream stream, string? path, PickleScanner scanner)
    {
        using var content = OpenDecompressed(stream, scanner.Limits);
        var findings = Scan(content, path, scanner);
        if (content.Compressor is { } compressor)
        {
            return [new ModelFinding(CompressedRule, ScanLevel.Safe, $"joblib {compressor}-compressed content, decompressed and scanned.", path, 0), .. findings];
        }
        return findings;
    }

    /// <summary>
    /// The compressor joblib's <c>_detect_compressor</c> picks for a file starting with <paramref name="head"/> (at least
    /// 5 bytes): "compat" (joblib &lt; 0.10 "ZF" files), "zlib", "gzip", "bz2", "lzma", "xz", "lz4", or null.
    /// </summary>
    public static string? DetectCompressor(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith("ZF"u8))
        {
            return "compat";
        }
        // Same order as joblib registers them: zlib, gzip, bz2, lzma, xz, lz4.
        if (head.StartsWith((ReadOnlySpan<byte>)[0x78]))
        {
            return "zlib";
        }
        if (head.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B]))
        {
            return "gzip";
        }
        if (head.StartsWith("BZ"u8))
        {
            return "bz2";
        }
        if (head.StartsWith((ReadOnlySpan<byte>)[0x5D, 0x00]))
        {
            return "lzma";
        }
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFD, 0x37, 0x7A, 0x58, 0x5A]))
        {
            return "xz";
        }
        if (head.StartsWith((ReadOnlySpan<byte>)[0x04, 0x22, 0x4D, 0x18]))
        {
            return "lz4";
        }
        return null;
    }

    /// <summary>
    /// Wraps <paramref name="stream"/> in the decompressor joblib would use, chosen by magic (never by extension). The
    /// result stops at <see cref="ScanLimits.MaxUncompressedBytes"/> or <see cref="ScanLimits.MaxCompressionRatio"/> and
    /// says so in <see cref="JoblibDecompressedStream.LimitExceeded"/>. Uncompressed content passes through unchanged.
    /// Never seeks: the magic bytes read to decide are replayed.
    /// </summary>
    public static JoblibDecompressedStream OpenDecompressed(Stream stream, ScanLimits limits)
    {
        var head = new byte[32];
        var headLength = ReadAtMost(stream, head);
        var counted = new CountingStream(new PrefixedStream(head.AsMemory(0, headLength), stream));
        var compressor = DetectCompressor(head.AsSpan(0, headLength));
        Stream inner;
        try
        {
            inner = Decompressor(compressor, counted);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            inner = new FailedStream(ex); // a corrupt header: the scan reports it as a read error, fail closed
        }
        return new JoblibDecompressedStream(inner, () => counted.BytesRead, compressor, limits);
    }

    private static Stream Decompressor(string? compressor, CountingStream counted) =>
        compressor switch
        {
            null => counted,
            "compat" => OpenCompat(counted),
            "zlib" => new ZLibStream(counted, CompressionMode.Decompress, leaveOpen: true),
            "gzip" => new GZipStream(counted, CompressionMode.Decompress, leaveOpen: true),
            "bz2" => BZip2Stream.Create(counted, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: true, leaveOpen: true, tolerateTruncatedStream: false),
            "lzma" => OpenLzmaAlone(counted),
            "xz" => new XZStream(counted),
            _ => LZ4Stream.Decode(counted, 0, leaveOpen: true, interactive: false),
        };

    /// <summary>joblib &lt; 0.10 "ZF" files: "ZF", a 19-character hex length, an optional space, then zlib data.</summary>
    private static Stream OpenCompat(Stream input)
    {
        var header = new byte[2 + 19];
        ReadAtMost(input, header);
        var next = input.ReadByte();
        Stream rest = next is ' ' or < 0 ? input : new PrefixedStream(new[] { (byte)next }, input);
        return new ZLibStream(rest, CompressionMode.Decompress, leaveOpen: true);
    }

    /// <summary>The lzma "alone" format Python's <c>lzma.FORMAT_ALONE</c> writes: 5 property bytes, an 8-byte size, data.</summary>
    private static Stream OpenLzmaAlone(Stream input)
    {
        var header = new byte[13];
        if (ReadAtMost(input, header) < header.Length)
        {
            throw new InvalidDataException("lzma header is truncated");
        }
        var size = BitConverter.ToInt64(header, 5);
        return LzmaStream.Create(header[..5], input, -1, size < 0 ? -1 : size, leaveOpen: true);
    }

    private static int ReadAtMost(Stream stream, Span<byte> buffer)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = stream.Read(buffer[read..]);
            if (n == 0)
            {
                break;
            }
            read += n;
        }
        return read;
    }

    // ------------------------------------------------------------------ NumpyUnpickler.load_build

    /// <summary>
    /// joblib's <c>NumpyUnpickler.load_build</c>: after BUILD on a <c>NumpyArrayWrapper</c>, <c>read_array</c> consumes
    /// the array from the stream — a nested pickle for object dtypes, else an optional padding byte, that many padding
    /// bytes, and dtype.itemsize × prod(shape) raw bytes.
    /// </summary>
    private static PickleValue? ReadArrayAfterBuild(PickleObject wrapper, PickleSession session)
    {
        if (wrapper.CalleeGlobal is not { } cls || !cls.Is("joblib.numpy_pickle", "NumpyArrayWrapper"))
        {
            return null;
        }
        var attributes = WrapperAttributes(wrapper);
        if (!attributes.TryGetValue("shape", out var shapeValue) || !attributes.TryGetValue("dtype", out var dtypeValue))
        {
            session.Report(BadWrapperRule, ScanLevel.Invalid, "A NumpyArrayWrapper without shape or dtype: joblib fails here.", wrapper.Offset, cls.Name, "BUILD");
            return null;
        }
        var shape = ShapeCount(shapeValue);
        var dtype = NumpyDtype.From(dtypeValue);
        if (shape is null || dtype is null)
        {
            session.Report(BadWrapperRule, ScanLevel.Invalid,
                $"A NumpyArrayWrapper whose {(shape is null ? "shape" : "dtype")} joblib cannot read an array with ({(shape is null ? shapeValue : dtypeValue)}).",
                wrapper.Offset, cls.Name, "BUILD");
            return null;
        }
        if (session.InUnfinishedFrame)
        {
            session.Report(ArrayInFrameRule, ScanLevel.Invalid,
                "The wrapper is built inside a FRAME that has bytes left; joblib would read the array from after the frame, not here.",
                session.Position, cls.Name, "BUILD");
        }
        if (dtype.HasObject)
        {
            // Object arrays are a nested pickle.load on the same file.
            var nested = session.LoadOne();
            return nested.Status == PickleLoadStatus.Loaded ? PickleValue.Opaque("object array") : null;
        }
        var aligned = attributes.TryGetValue("numpy_array_alignment_bytes", out var alignment) && alignment.Kind != PickleValueKind.None;
        if (aligned)
        {
            var padding = session.ReadRawByte();
            if (padding < 0 || session.SkipRaw(padding) < padding)
            {
                session.Report(TruncatedArrayRule, ScanLevel.Invalid, "The array's padding runs past the end of the data.", session.Position, cls.Name, "BUILD");
                return null;
            }
        }
        var bytes = shape.Value * dtype.ItemSize;
        if (bytes > long.MaxValue || bytes < 0)
        {
            session.Report(BadWrapperRule, ScanLevel.Invalid, $"A NumpyArrayWrapper claims {bytes} bytes of array data.", wrapper.Offset, cls.Name, "BUILD");
            return null;
        }
        var start = session.Position;
        // pickle.load of the same file reads on as opcodes right after BUILD. With joblib ≥ 1.2 the padding-length byte
        // comes first and is never an opcode, so only unaligned (older) layouts can hide a payload there.
        var head = session.ReadRaw(aligned ? 0 : (int)BigInteger.Min(bytes, RawRegionInspected));
        if (!aligned && session.InspectRawRegion(head, start))
        {
            session.Report(RawRegionOpcodesRule, ScanLevel.Dangerous,
                "The raw array bytes parse as a pickle payload: joblib.load skips them, but pickle.load of the same file runs them.",
                start, cls.Name, "BUILD");
        }
        var skipped = head.Length + session.SkipRaw((long)bytes - head.Length);
        if (skipped < (long)bytes)
        {
            session.Report(TruncatedArrayRule, ScanLevel.Invalid,
                $"The array claims {bytes:N0} bytes but only {skipped:N0} follow (joblib: \"EOF: reading array data\").", start, cls.Name, "BUILD");
            return null;
        }
        return PickleValue.Opaque($"{bytes} bytes of array data read raw by joblib");
    }

    /// <summary>The wrapper's attributes: __init__ arguments (when it ran), then every BUILD state in order.</summary>
    private static Dictionary<string, PickleValue> WrapperAttributes(PickleObject wrapper)
    {
        var attributes = new Dictionary<string, PickleValue>(StringComparer.Ordinal);
        if (wrapper.InitCalled)
        {
            string[] parameters = ["subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes"];
            var args = wrapper.Args.AsTuple;
            for (var i = 0; i < args.Length && i < parameters.Length; i++)
            {
                attributes[parameters[i]] = args[i];
            }
            attributes.TryAdd("allow_mmap", PickleValue.None);
            attributes.TryAdd("numpy_array_alignment_bytes", PickleValue.Int(16)); // NUMPY_ARRAY_ALIGNMENT_BYTES default
        }
        foreach (var state in wrapper.States)
        {
            var tuple = state.AsTuple;
            var (dict, slots) = tuple.Length == 2 ? (tuple[0].AsDict, tuple[1].AsDict) : (state.AsDict, null);
            foreach (var source in (PickleDict?[])[dict, slots])
            {
                if (source is null)
                {
                    continue;
                }
                foreach (var (key, value) in source.KeptItems)
                {
                    if (key.AsString is { } name)
                    {
                        attributes[name] = value;
                    }
                }
            }
        }
        return attributes;
    }

    /// <summary>prod(shape) as joblib's read_array computes it (an empty shape is one element); null when not a tuple of ints ≥ 0.</summary>
    private static BigInteger? ShapeCount(PickleValue shape)
    {
        var dims = shape.AsTuple;
        if (shape.Kind != PickleValueKind.Tuple)
        {
            return null;
        }
        BigInteger count = 1;
        foreach (var dim in dims)
        {
            if (dim.AsBigInteger is not { } d || d < 0)
            {
                return null;
            }
            count *= d;
        }
        return count;
    }

    /// <summary>What read_array needs from a pickled <c>numpy.dtype</c>: its item size and whether it holds objects.</summary>
    private sealed record NumpyDtype(long ItemSize, bool HasObject)
    {
        private const int NpyItemRefcount = 0x01; // NPY_ITEM_REFCOUNT (NPY_ITEM_HASOBJECT) in the pickled flags

        /// <summary>
        /// numpy's <c>arraydescr_reduce</c> pickles a dtype as <c>numpy.dtype(kind+size, False, True)</c> then BUILD with
        /// <c>(version, endian, subarray, names, fields, elsize, alignment, flags[, metadata])</c>; elsize is set only for
        /// flexible types, and a 'U' size counts characters (4 bytes each).
        /// </summary>
        public static NumpyDtype? From(PickleValue value, int depth = 0)
        {
            if (depth > 32 || value.AsObject is not { } dtype || dtype.CalleeGlobal is not { } cls ||
                !(cls.Is("numpy", "dtype") || cls.Is("numpy.core.multiarray", "dtype") || cls.Is("numpy._core.multiarray", "dtype")))
            {
                return null;
            }
            var args = dtype.Args.AsTuple;
            if (args.Length < 1 || args[0].AsString is not { Length: >= 1 } type)
            {
                return null;
            }
            var typeText = type.TrimStart('<', '>', '|', '=');
            if (typeText.Length == 0)
            {
                return null;
            }
            var kind = typeText[0];
            long size = 0;
            var digits = typeText[1..];
            var hasSize = digits.Length > 0 && long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out size);
            if (kind == 'U' && hasSize)
            {
                size *= 4;
            }
            var hasObject = kind == 'O';
            if (dtype.States.Count > 0)
            {
                var state = dtype.States[^1].AsTuple;
                if (state.Length >= 8)
                {
                    if (state[5].AsInt64 is { } elsize && elsize > 0)
                    {
                        size = elsize;
                        hasSize = true;
                    }
                    if (state[7].AsInt64 is { } flags && (flags & NpyItemRefcount) != 0)
                    {
                        hasObject = true;
                    }
                }
                if (state.Length >= 5)
                {
                    hasObject |= ContainsObjectDtype(state[2], depth) || ContainsObjectDtype(state[4], depth);
                }
            }
            if (hasObject)
            {
                return new NumpyDtype(Math.Max(size, 8), true);
            }
            return hasSize && size > 0 ? new NumpyDtype(size, false) : null;
        }

        /// <summary>A subarray (dtype, shape) or fields {name: (dtype, offset[, title])} that holds an object dtype.</summary>
        private static bool ContainsObjectDtype(PickleValue value, int depth)
        {
            if (value.Kind == PickleValueKind.Tuple && value.AsTuple.Length >= 1)
            {
                return From(value.AsTuple[0], depth + 1) is { HasObject: true };
            }
            if (value.AsDict is { } fields)
            {
                foreach (var (_, field) in fields.KeptItems)
                {
                    if (field.Kind == PickleValueKind.Tuple && field.AsTuple.Length >= 1 && From(field.AsTuple[0], depth + 1) is { HasObject: true })
                    {
                        return true;
                    }
                }
            }
            return false;
        }
    }

    /// <summary>A decompressor that could not even start: every read reports why.</summary>
    private sealed class FailedStream(Exception error) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => 0;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new InvalidDataException(error.Message, error);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }
    }

    /// <summary>Counts the bytes read through it (the compressed side of a decompressor).</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => BytesRead;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            BytesRead += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }
    }

    /// <summary>Replays bytes already read (a magic number) before the rest of a stream, so that nothing seeks.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (!_prefix.IsEmpty)
            {
                var n = Math.Min(buffer.Length, _prefix.Length);
                _prefix.Span[..n].CopyTo(buffer);
                _prefix = _prefix[n..];
                return n;
            }
            return rest.Read(buffer);
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }
    }
}

/// <summary>
/// A joblib file's content after decompression, bounded in size and ratio: it ends early (and says why) rather than
/// inflate a bomb.
/// </summary>
public sealed class JoblibDecompressedStream : Stream
{
    private readonly Stream _inner;
    private readonly Func<long> _compressedBytesRead;
    private readonly ScanLimits _limits;
    private long _produced;

    internal JoblibDecompressedStream(Stream inner, Func<long> compressedBytesRead, string? compressor, ScanLimits limits)
    {
        _inner = inner;
        _compressedBytesRead = compressedBytesRead;
        Compressor = compressor;
        _limits = limits;
    }

    /// <summary>joblib's name for the compressor ("zlib", "gzip", "bz2", "lzma", "xz", "lz4", "compat"), or null.</summary>
    public string? Compressor { get; }

    /// <summary>Why decompression stopped early, or null.</summary>
    public string? LimitExceeded { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _produced;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (LimitExceeded is not null || buffer.IsEmpty)
        {
            return 0;
        }
        var n = _inner.Read(buffer);
        _produced += n;
        if (Compressor is not null)
        {
            if (_produced > _limits.MaxUncompressedBytes)
            {
                LimitExceeded = $"more than {_limits.MaxUncompressedBytes:N0} decompressed bytes";
            }
            else if (_produced > 1 << 20 && _produced > _limits.MaxCompressionRatio * Math.Max(1, _compressedBytesRead()))
            {
                LimitExceeded = $"a compression ratio above {_limits.MaxCompressionRatio:N0}";
            }
        }
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Flush()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
