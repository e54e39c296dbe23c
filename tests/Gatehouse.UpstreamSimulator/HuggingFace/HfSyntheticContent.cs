using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Gatehouse.UpstreamSimulator.Synthetic;

namespace Gatehouse.UpstreamSimulator.HuggingFace;

/// <summary>
/// The bytes of a synthetic Hugging Face file, a pure function of (kind, size, seed), made on demand at any offset so a
/// 5 GB file is never held in memory or written to disk. Kinds:
/// <c>safetensors</c> (a valid header describing one U8 tensor that fills the file, then pseudo-random data),
/// <c>pickle</c> (a benign protocol-4 pickle of <c>{f"k{i}": (i, float, "v")}</c>, opcode-dense like the scanner's
/// benchmark, closed with a zero-filled <c>"pad"</c> bytes value to reach the exact size),
/// <c>random</c> (pseudo-random bytes), <c>text</c> (64-byte ASCII lines) and <c>exec-pickle</c> (a malicious pickle:
/// protocol 2, <c>builtins.exec</c> called on a harmless <c>print</c>, padded with a comment to the exact size).
/// </summary>
public sealed class HfSyntheticContent
{
    public const string Safetensors = "safetensors";
    public const string Pickle = "pickle";
    public const string Random = "random";
    public const string Text = "text";
    public const string ExecPickle = "exec-pickle";
    public const string Bytes = "bytes";

    /// <summary>Largest <c>bytes</c> file: they are held in memory.</summary>
    public const int MaxBytes = 8 * 1024 * 1024;

    /// <summary>Largest synthetic file: the scanner's uncompressed-size limit, far past anything a bench needs.</summary>
    public const long MaxSize = 64L * 1024 * 1024 * 1024;

    public static IReadOnlyList<string> Kinds { get; } = [Safetensors, Pickle, Random, Text, ExecPickle, Bytes];

    private readonly byte[] _safetensorsHeader = [];
    private readonly PicklePlan? _pickle;
    private readonly byte[] _bytes = [];

    private HfSyntheticContent(string kind, long size, ulong seed, byte[]? bytes = null)
    {
        Kind = kind;
        Size = size;
        Seed = seed;
        _bytes = bytes ?? [];
        if (kind == Safetensors)
        {
            _safetensorsHeader = SafetensorsHeader(size, seed) ?? throw new ArgumentException($"A safetensors file needs at least {MinSize(kind)} bytes.");
        }
        else if (kind == Pickle)
        {
            _pickle = PicklePlan.For(size) ?? throw new ArgumentException($"A pickle needs at least {MinSize(kind)} bytes.");
        }
    }

    public string Kind { get; }

    public long Size { get; }

    public ulong Seed { get; }

    /// <summary>Checks the spec and precomputes the layout; an unknown kind or an impossible size is an ArgumentException.</summary>
    public static HfSyntheticContent Create(string kind, long size, ulong seed)
    {
        if (kind == Bytes)
        {
            throw new ArgumentException("A bytes file is given by its content (base64), not by a size and a seed.");
        }
        if (!Kinds.Contains(kind))
        {
            throw new ArgumentException($"Unknown kind '{kind}'; one of {string.Join(", ", Kinds)}.");
        }

        var max = kind == ExecPickle ? ExecPickleBytes.MaxSize : MaxSize;
        if (size < MinSize(kind) || size > max)
        {
            throw new ArgumentException($"A {kind} file must have between {MinSize(kind)} and {max} bytes, not {size}.");
        }

        return new HfSyntheticContent(kind, size, seed);
    }

    /// <summary>
    /// A file of exactly these bytes (a real wheel, say), to serve the same content through the Hub as through PyPI.
    /// Its seed is taken from the bytes' sha256, so equal bytes are one content and other bytes another.
    /// </summary>
    public static HfSyntheticContent FromBytes(byte[] bytes)
    {
        if (bytes.Length > MaxBytes)
        {
            throw new ArgumentException($"A bytes file may have at most {MaxBytes} bytes, not {bytes.Length}.");
        }
        var seed = BinaryPrimitives.ReadUInt64LittleEndian(System.Security.Cryptography.SHA256.HashData(bytes));
        return new HfSyntheticContent(Bytes, bytes.Length, seed, bytes);
    }

    /// <summary>Smallest size a kind can be generated at exactly.</summary>
    public static long MinSize(string kind) => kind switch
    {
        Safetensors => SafetensorsMinSize.Value,
        Pickle => PicklePlan.MinSize,
        ExecPickle => ExecPickleBytes.MinSize,
        _ => 0,
    };

    /// <summary>A fresh read-only, seekable stream over the bytes (each stream keeps its own generator state).</summary>
    public Stream Open() => new HfSyntheticStream(this);

    /// <summary>Writes the bytes at [position, position + destination.Length) with the help of a per-stream cursor.</summary>
    internal void Fill(long position, Span<byte> destination, ref PickleCursor? cursor)
    {
        switch (Kind)
        {
            case Safetensors:
                var header = _safetensorsHeader;
                if (position < header.Length)
                {
                    var n = (int)Math.Min(header.Length - position, destination.Length);
                    header.AsSpan((int)position, n).CopyTo(destination);
                    position += n;
                    destination = destination[n..];
                }

                RandomBlocks.Fill(Seed, position, destination);
                break;
            case Pickle:
                cursor ??= new PickleCursor(_pickle!, Seed);
                cursor.Fill(position, destination);
                break;
            case Random:
                RandomBlocks.Fill(Seed, position, destination);
                break;
            case ExecPickle:
                ExecPickleBytes.Fill(Seed, Size, position, destination);
                break;
            case Bytes:
                _bytes.AsSpan((int)position, destination.Length).CopyTo(destination);
                break;
            default:
                TextLines.Fill(Seed, position, destination);
                break;
        }
    }

    private static readonly Lazy<long> SafetensorsMinSize = new(() =>
    {
        for (long size = 8; ; size++)
        {
            if (SafetensorsHeader(size, ulong.MaxValue) is not null)
            {
                return size;
            }
        }
    });

    /// <summary>
    /// The 8-byte length and the JSON header padded with spaces to a multiple of 8 (as the reference writer aligns it),
    /// describing one U8 tensor of exactly the remaining bytes; null when the size cannot hold the header.
    /// </summary>
    private static byte[]? SafetensorsHeader(long size, ulong seed)
    {
        static string Json(long data, ulong seed) => string.Create(CultureInfo.InvariantCulture,
            $"{{\"__metadata__\":{{\"format\":\"pt\",\"generator\":\"gatehouse-upstream-simulator\",\"seed\":\"{seed}\"}},\"weight\":{{\"dtype\":\"U8\",\"shape\":[{data}],\"data_offsets\":[0,{data}]}}}}");

        // The header for the whole size is at least as long as the final one (the tensor has fewer digits).
        var length = (Encoding.ASCII.GetByteCount(Json(size, seed)) + 7) / 8 * 8;
        var data = size - 8 - length;
        if (data < 0)
        {
            return null;
        }

        var header = new byte[8 + length];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)length);
        header.AsSpan(8).Fill((byte)' ');
        Encoding.ASCII.GetBytes(Json(data, seed), header.AsSpan(8));
        return header;
    }

    /// <summary>Pseudo-random bytes addressed by absolute offset: 64 KiB blocks, each from its own seed.</summary>
    private static class RandomBlocks
    {
        private const int BlockSize = 64 * 1024;

        [ThreadStatic]
        private static byte[]? t_block;

        public static void Fill(ulong seed, long position, Span<byte> destination)
        {
            while (!destination.IsEmpty)
            {
                var block = position / BlockSize;
                var offset = (int)(position % BlockSize);
                var n = Math.Min(BlockSize - offset, destination.Length);
                var state = seed ^ ((ulong)block * 0xD1B54A32D192ED03UL);
                var random = new Xoshiro256StarStar(Xoshiro256StarStar.SplitMix(ref state));
                if (offset == 0 && n == BlockSize)
                {
                    random.Fill(destination[..BlockSize]);
                }
                else
                {
                    var scratch = t_block ??= new byte[BlockSize];
                    random.Fill(scratch);
                    scratch.AsSpan(offset, n).CopyTo(destination);
                }

                position += n;
                destination = destination[n..];
            }
        }
    }

    /// <summary>
    /// <c>PROTO 2, GLOBAL builtins exec, BINUNICODE "print(…)\n###…", TUPLE1, REDUCE, STOP</c>: unpickling it runs
    /// <c>exec</c> on a line that only prints; the comment after it makes the length exact.
    /// </summary>
    private static class ExecPickleBytes
    {
        private static readonly byte[] Head = [0x80, 2, .. Encoding.ASCII.GetBytes("cbuiltins\nexec\n"), (byte)'X', 0, 0, 0, 0];
        private static readonly byte[] Tail = [0x85, (byte)'R', (byte)'.']; // TUPLE1, REDUCE, STOP

        public static long MinSize => Head.Length + Code(0).Length + Tail.Length;

        /// <summary>BINUNICODE's length is 32 bits.</summary>
        public static long MaxSize => Head.Length + (long)uint.MaxValue + Tail.Length;

        public static void Fill(ulong seed, long size, long position, Span<byte> destination)
        {
            var code = Code(seed);
            Span<byte> head = stackalloc byte[Head.Length + code.Length];
            Head.CopyTo(head);
            BinaryPrimitives.WriteUInt32LittleEndian(head[(Head.Length - 4)..], (uint)(size - Head.Length - Tail.Length));
            code.CopyTo(head[Head.Length..]);
            var tailStart = size - Tail.Length;
            for (var i = 0; i < destination.Length; i++, position++)
            {
                destination[i] = position < head.Length ? head[(int)position]
                    : position >= tailStart ? Tail[(int)(position - tailStart)]
                    : (byte)'#';
            }
        }

        /// <summary>The line exec runs; the seed makes each file's content its own.</summary>
        private static byte[] Code(ulong seed) =>
            Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"print('gatehouse synthetic exec-pickle {seed:x16} ran')\n"));
    }

    /// <summary>Fixed-width lines, so any offset is one line away: "gatehouse synthetic seed … line …".</summary>
    private static class TextLines
    {
        private const int LineLength = 64;

        public static void Fill(ulong seed, long position, Span<byte> destination)
        {
            Span<byte> line = stackalloc byte[LineLength];
            line.Fill((byte)' ');
            var prefix = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"gatehouse synthetic seed {seed:x16} line "));
            prefix.CopyTo(line);
            var digits = line.Slice(prefix.Length, 12);
            line[^1] = (byte)'\n';
            while (!destination.IsEmpty)
            {
                var number = position / LineLength;
                var offset = (int)(position % LineLength);
                for (var i = digits.Length - 1; i >= 0; i--, number /= 10)
                {
                    digits[i] = (byte)('0' + (int)(number % 10));
                }

                var n = Math.Min(LineLength - offset, destination.Length);
                line.Slice(offset, n).CopyTo(destination);
                position += n;
                destination = destination[n..];
            }
        }
    }
}

/// <summary>
/// Where everything sits in a synthetic pickle of a given size: <c>PROTO 4, EMPTY_DICT, MEMOIZE</c>; <see cref="Items"/>
/// entries in batches of <c>MARK … SETITEMS</c>; then <c>"pad": b"\0…"</c> (the bytes opcode that makes the size exact),
/// <c>SETITEM, STOP</c>. Unframed: frames are optional for every unpickler.
/// </summary>
internal sealed record PicklePlan(int Items, long ItemsEnd, byte[] PadHeader, long PadLength)
{
    public const int BatchSize = 1000;

    /// <summary>2 memo entries and 7 opcodes per item: 2,000,000 items stay well inside the scanner's limits (10 M memo, 50 M opcodes).</summary>
    public const int MaxItems = 2_000_000;

    /// <summary>The head (4), the pad key (6), an empty SHORT_BINBYTES (2) and SETITEM STOP (2).</summary>
    public const long MinSize = 14;

    public static readonly byte[] Head = [0x80, 4, (byte)'}', 0x94]; // PROTO 4, EMPTY_DICT, MEMOIZE
    public static readonly byte[] PadKey = [0x8C, 3, (byte)'p', (byte)'a', (byte)'d', 0x94]; // SHORT_BINUNICODE "pad", MEMOIZE
    public static readonly byte[] End = [(byte)'s', (byte)'.']; // SETITEM, STOP

    public static PicklePlan? For(long size)
    {
        var fixedBytes = Head.Length + PadKey.Length + End.Length;
        var budget = size - fixedBytes - 2;
        if (budget < 0)
        {
            return null;
        }

        var items = 0;
        long used = 0;
        while (items < MaxItems)
        {
            var cost = ItemLength(items) + (items % BatchSize == 0 ? 2 : 0); // MARK and SETITEMS per batch
            if (used + cost > budget)
            {
                break;
            }

            used += cost;
            items++;
        }

        var gap = size - fixedBytes - used; // the whole bytes opcode, header included
        byte[] header;
        long padLength;
        if (gap - 2 <= byte.MaxValue)
        {
            padLength = gap - 2;
            header = [(byte)'C', (byte)padLength]; // SHORT_BINBYTES
        }
        else if (gap - 5 <= uint.MaxValue)
        {
            padLength = gap - 5;
            header = new byte[5];
            header[0] = (byte)'B'; // BINBYTES
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(1), (uint)padLength);
        }
        else
        {
            padLength = gap - 9;
            header = new byte[9];
            header[0] = 0x8E; // BINBYTES8
            BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(1), (ulong)padLength);
        }

        return new PicklePlan(items, Head.Length + used, header, padLength);
    }

    /// <summary>Bytes of item i as <see cref="PickleCursor.WriteItem"/> writes it (without MARK/SETITEMS).</summary>
    public static int ItemLength(int i) =>
        3 + Digits(i) + 1 // SHORT_BINUNICODE "k{i}", MEMOIZE
        + (i < 256 ? 2 : i < 65536 ? 3 : 5) // BININT1 / BININT2 / BININT
        + 9 // BINFLOAT
        + (i == 0 ? 4 : 2) // "v" the first time (SHORT_BINUNICODE, MEMOIZE), then BINGET 2
        + 2; // TUPLE3, MEMOIZE

    private static int Digits(int i)
    {
        var digits = 1;
        for (; i >= 10; i /= 10)
        {
            digits++;
        }

        return digits;
    }
}

/// <summary>Writes a synthetic pickle forward; seeking backwards restarts it, the zero padding is skipped in O(1).</summary>
internal sealed class PickleCursor(PicklePlan plan, ulong seed)
{
    private readonly byte[] _pending = new byte[64];
    private int _pendingStart;
    private int _pendingEnd;
    private long _position;
    private int _item;
    private Phase _phase = Phase.Head;
    private long _zerosLeft = plan.PadLength;

    private enum Phase
    {
        Head,
        Items,
        PadHeader,
        Zeros,
        End,
        Done,
    }

    public void Fill(long position, Span<byte> destination)
    {
        if (position < _position)
        {
            Restart();
        }

        Span<byte> discard = stackalloc byte[4096];
        while (_position < position)
        {
            if (_phase == Phase.Zeros && _pendingStart == _pendingEnd)
            {
                var jump = Math.Min(_zerosLeft, position - _position);
                _zerosLeft -= jump;
                _position += jump;
                if (_zerosLeft == 0)
                {
                    _phase = Phase.End;
                }

                continue;
            }

            Produce(discard[..(int)Math.Min(discard.Length, position - _position)]);
        }

        Produce(destination);
    }

    private void Restart()
    {
        _pendingStart = _pendingEnd = 0;
        _position = 0;
        _item = 0;
        _phase = Phase.Head;
        _zerosLeft = plan.PadLength;
    }

    private void Produce(Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            if (_pendingStart < _pendingEnd)
            {
                var n = Math.Min(_pendingEnd - _pendingStart, destination.Length);
                _pending.AsSpan(_pendingStart, n).CopyTo(destination);
                _pendingStart += n;
                _position += n;
                destination = destination[n..];
                continue;
            }

            _pendingStart = 0;
            switch (_phase)
            {
                case Phase.Head:
                    _pendingEnd = Copy(PicklePlan.Head);
                    _phase = plan.Items > 0 ? Phase.Items : Phase.PadHeader;
                    break;
                case Phase.Items:
                    _pendingEnd = WriteItem(_item);
                    _item++;
                    if (_item == plan.Items)
                    {
                        _phase = Phase.PadHeader;
                    }

                    break;
                case Phase.PadHeader:
                    _pendingEnd = Copy(PicklePlan.PadKey);
                    plan.PadHeader.CopyTo(_pending, _pendingEnd);
                    _pendingEnd += plan.PadHeader.Length;
                    _phase = _zerosLeft > 0 ? Phase.Zeros : Phase.End;
                    break;
                case Phase.Zeros:
                    var zeros = (int)Math.Min(_zerosLeft, destination.Length);
                    destination[..zeros].Clear();
                    destination = destination[zeros..];
                    _position += zeros;
                    _zerosLeft -= zeros;
                    _pendingEnd = 0;
                    if (_zerosLeft == 0)
                    {
                        _phase = Phase.End;
                    }

                    break;
                case Phase.End:
                    _pendingEnd = Copy(PicklePlan.End);
                    _phase = Phase.Done;
                    break;
                default:
                    throw new InvalidOperationException("Read past the end of a synthetic pickle.");
            }
        }
    }

    private int Copy(byte[] bytes)
    {
        bytes.CopyTo(_pending, 0);
        return bytes.Length;
    }

    /// <summary>Item i, with MARK before the first of a batch and SETITEMS after the last: the shape of LargeDictPickle.</summary>
    private int WriteItem(int i)
    {
        var span = _pending.AsSpan();
        var at = 0;
        if (i % PicklePlan.BatchSize == 0)
        {
            span[at++] = (byte)'('; // MARK
        }

        span[at++] = 0x8C; // SHORT_BINUNICODE
        var keyLength = at++;
        span[at++] = (byte)'k';
        i.TryFormat(span[at..], out var digits, provider: CultureInfo.InvariantCulture);
        at += digits;
        span[keyLength] = (byte)(digits + 1);
        span[at++] = 0x94; // MEMOIZE
        if (i < 256)
        {
            span[at++] = (byte)'K'; // BININT1
            span[at++] = (byte)i;
        }
        else if (i < 65536)
        {
            span[at++] = (byte)'M'; // BININT2
            BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)i);
            at += 2;
        }
        else
        {
            span[at++] = (byte)'J'; // BININT
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], i);
            at += 4;
        }

        var state = seed ^ (ulong)i;
        var fraction = (Xoshiro256StarStar.SplitMix(ref state) >> 11) * (1.0 / (1UL << 53));
        span[at++] = (byte)'G'; // BINFLOAT, big-endian
        BinaryPrimitives.WriteDoubleBigEndian(span[at..], i + fraction);
        at += 8;
        if (i == 0)
        {
            span[at++] = 0x8C; // SHORT_BINUNICODE "v", MEMOIZE (memo 2)
            span[at++] = 1;
            span[at++] = (byte)'v';
            span[at++] = 0x94;
        }
        else
        {
            span[at++] = (byte)'h'; // BINGET 2: memo 0 is the dict, 1 is "k0"
            span[at++] = 2;
        }

        span[at++] = 0x87; // TUPLE3
        span[at++] = 0x94; // MEMOIZE
        if (i % PicklePlan.BatchSize == PicklePlan.BatchSize - 1 || i == plan.Items - 1)
        {
            span[at++] = (byte)'u'; // SETITEMS
        }

        return at;
    }
}

/// <summary>A read-only, seekable view of one <see cref="HfSyntheticContent"/>.</summary>
internal sealed class HfSyntheticStream(HfSyntheticContent content) : Stream
{
    private PickleCursor? _cursor;
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => content.Size;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Max(0, Math.Min(buffer.Length, content.Size - _position));
        if (n == 0)
        {
            return 0;
        }

        content.Fill(_position, buffer[..n], ref _cursor);
        _position += n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => content.Size + offset,
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
