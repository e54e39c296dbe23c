using System.Runtime.CompilerServices;

namespace Gatehouse.Scanning.Pickle;

/// <summary>
/// Dense storage for the plain values that dominate real checkpoints (small ints, floats, short strings, tuples of them),
/// addressed by 8-byte handles: a memo entry or tuple item costs its handle plus its payload, with no object header.
/// Everything the rules look at (globals, call results, containers, bytes) stays a <see cref="PickleValue"/> object,
/// held in the arena's object table when a handle must point at it.
/// </summary>
/// <remarks>
/// A handle's low three bits say what it is: a constant (None, False, True), an int of up to 61 bits, a float whose
/// low three bits are zero (every integral float below 2^50), a float kept in the scalar table, UTF-8 text of up to 7
/// bytes inside the handle itself, longer text in the text table (offset and length), a tuple as a range of item handles,
/// or an index into the object table. A tuple whose items all fit in 4 bytes (ints of 30 bits, floats exact in single
/// precision, str of up to 3 bytes, None, bools) keeps 4-byte items: (i, float(i), 'v') costs 12 bytes, not 24.
/// </remarks>
internal sealed class PickleArena
{
    /// <summary>Longest str (in UTF-8 bytes) kept as arena text; longer ones stay .NET strings.</summary>
    public const int MaxText = 1024;
    /// <summary>Largest tuple kept as a range of item handles (one chunk); larger ones stay arrays.</summary>
    public const int MaxTuple = (1 << LengthBits) - 1;

    private const ulong TagMask = 7;
    private const ulong TagConstant = 0;
    private const ulong TagInt = 1;
    private const ulong TagInlineFloat = 2;
    private const ulong TagScalar = 3;
    private const ulong TagText = 4;
    private const ulong TagTuple = 5;
    private const ulong TagObject = 6;
    private const ulong TagShortText = 7;
    private const int MaxShortText = 7;
    private const int LengthBits = ChunkedArray<ulong>.Shift;
    private const ulong NarrowFlag = 1 << 3;
    private const int RangeShift = 4 + LengthBits;
    private const ulong LengthMask = (1UL << LengthBits) - 1;
    private const long MaxInlineInt = (1L << 60) - 1;
    private const long MinInlineInt = -(1L << 60);

    private const ulong NoneHandle = 1 << 3;
    private const ulong FalseHandle = 2 << 3;
    private const ulong TrueHandle = 3 << 3;

    private readonly ChunkedArray<byte> _text;
    private readonly ChunkedArray<ulong> _items;
    private readonly ChunkedArray<uint> _narrowItems;
    private readonly ChunkedArray<long> _scalars;
    private readonly ChunkedArray<PickleValue> _objects;

    public PickleArena(MemoryBudget budget)
    {
        _text = new(budget, sizeof(byte));
        _items = new(budget, sizeof(ulong));
        _narrowItems = new(budget, sizeof(uint));
        _scalars = new(budget, sizeof(long));
        _objects = new(budget, Unsafe.SizeOf<PickleValue>());
    }

    /// <summary>A str kept as UTF-8 bytes (at most <see cref="MaxText"/>); decoded only when a rule asks for its text.</summary>
    public PickleValue Text(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length <= MaxShortText)
        {
            var handle = ((ulong)utf8.Length << 3) | TagShortText;
            for (var i = 0; i < utf8.Length; i++)
            {
                handle |= (ulong)utf8[i] << (8 * (i + 1));
            }
            return PickleValue.InArena(PickleValueKind.Str, handle, this);
        }
        var start = _text.Reserve(utf8.Length);
        utf8.CopyTo(_text.Span(start, utf8.Length));
        return PickleValue.InArena(PickleValueKind.Str, Range(TagText, start, utf8.Length), this);
    }

    /// <summary>A tuple of the given items (at most <see cref="MaxTuple"/>), stored as a range of handles.</summary>
    public PickleValue Tuple(ReadOnlySpan<PickleValue> items)
    {
        var narrow = true;
        foreach (var item in items)
        {
            narrow &= TryNarrow(item, out _);
        }
        if (narrow)
        {
            var first = _narrowItems.Reserve(items.Length);
            var slots = _narrowItems.Span(first, items.Length);
            for (var i = 0; i < items.Length; i++)
            {
                TryNarrow(items[i], out slots[i]);
            }
            return PickleValue.InArena(PickleValueKind.Tuple, Range(TagTuple | NarrowFlag, first, items.Length), this);
        }
        var start = _items.Reserve(items.Length);
        var target = _items.Span(start, items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            target[i] = Pack(items[i]);
        }
        return PickleValue.InArena(PickleValueKind.Tuple, Range(TagTuple, start, items.Length), this);
    }

    /// <summary>The handle of <paramref name="value"/>; values that are not plain go to the object table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Pack(PickleValue value)
    {
        switch (value.Kind)
        {
            case PickleValueKind.Str or PickleValueKind.Tuple when ReferenceEquals(value.Reference, this):
                // Same arena: the value already is its handle.
                return (ulong)value.Scalar;
            case PickleValueKind.Int when value.Reference is null && value.Scalar is >= MinInlineInt and <= MaxInlineInt:
                return ((ulong)value.Scalar << 3) | TagInt;
            case PickleValueKind.Float:
                var bits = (ulong)value.Scalar;
                if ((bits & TagMask) == 0)
                {
                    return bits | TagInlineFloat;
                }
                var scalar = _scalars.Reserve(1);
                _scalars[scalar] = value.Scalar;
                return ((ulong)scalar << 3) | TagScalar;
            case PickleValueKind.None:
                return NoneHandle;
            case PickleValueKind.Bool:
                return value.Scalar != 0 ? TrueHandle : FalseHandle;
            case PickleValueKind.Missing:
                return 0;
            default:
                var index = _objects.Reserve(1);
                _objects[index] = value;
                return ((ulong)index << 3) | TagObject;
        }
    }

    /// <summary>The value a handle stands for (0 is a missing value).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PickleValue Unpack(ulong handle) => (handle & TagMask) switch
    {
        TagInt => PickleValue.Int((long)handle >> 3),
        TagInlineFloat => PickleValue.Float(BitConverter.Int64BitsToDouble((long)(handle & ~TagMask))),
        TagScalar => PickleValue.Float(BitConverter.Int64BitsToDouble(_scalars[(long)(handle >> 3)])),
        TagText or TagShortText => PickleValue.InArena(PickleValueKind.Str, handle, this),
        TagTuple => PickleValue.InArena(PickleValueKind.Tuple, handle, this),
        TagObject => _objects[(long)(handle >> 3)],
        TagConstant => handle switch
        {
            NoneHandle => PickleValue.None,
            FalseHandle => PickleValue.Bool(false),
            TrueHandle => PickleValue.Bool(true),
            _ => default,
        },
        _ => default,
    };

    /// <summary>The text of an arena str, decoded as the machine decodes every str.</summary>
    public string TextOf(long handle)
    {
        if (((ulong)handle & TagMask) == TagShortText)
        {
            Span<byte> bytes = stackalloc byte[MaxShortText];
            var count = (int)(((ulong)handle >> 3) & 7);
            for (var i = 0; i < count; i++)
            {
                bytes[i] = (byte)((ulong)handle >> (8 * (i + 1)));
            }
            return PickleText.Utf8.GetString(bytes[..count]);
        }
        var (start, length) = RangeOf((ulong)handle);
        return PickleText.Utf8.GetString(_text.Span(start, length));
    }

    /// <summary>The items of an arena tuple, as a new array.</summary>
    public PickleValue[] ItemsOf(long handle)
    {
        var (start, length) = RangeOf((ulong)handle);
        var values = new PickleValue[length];
        if (((ulong)handle & NarrowFlag) != 0)
        {
            var narrow = _narrowItems.Span(start, length);
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = Widen(narrow[i]);
            }
            return values;
        }
        var items = _items.Span(start, length);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Unpack(items[i]);
        }
        return values;
    }

    // A narrow item's low two bits: an int of 30 bits, str of up to 3 UTF-8 bytes, a single-precision float whose low two
    // bits are zero, or a constant (None, False, True).
    private const uint NarrowInt = 0;
    private const uint NarrowText = 1;
    private const uint NarrowFloat = 2;
    private const uint NarrowConstant = 3;

    /// <summary>The 4-byte form of a plain value, when it has one.</summary>
    private static bool TryNarrow(PickleValue value, out uint narrow)
    {
        narrow = 0;
        switch (value.Kind)
        {
            case PickleValueKind.Int when value.Reference is null && value.Scalar is >= -(1 << 29) and < 1 << 29:
                narrow = ((uint)value.Scalar << 2) | NarrowInt;
                return true;
            case PickleValueKind.Float:
                var d = BitConverter.Int64BitsToDouble(value.Scalar);
                var f = (float)d;
                var bits = BitConverter.SingleToUInt32Bits(f);
                if ((double)f != d || (bits & 3) != 0 || BitConverter.DoubleToInt64Bits(f) != value.Scalar)
                {
                    return false;
                }
                narrow = bits | NarrowFloat;
                return true;
            case PickleValueKind.Str when value.Reference is PickleArena && ((ulong)value.Scalar & TagMask) == TagShortText && (((ulong)value.Scalar >> 3) & 7) <= 3:
                // length (2 bits) and up to 3 bytes, moved down from the short-text handle
                narrow = (uint)((((ulong)value.Scalar >> 3) & 3) << 2) | (uint)(((ulong)value.Scalar >> 8) << 4) | NarrowText;
                return true;
            case PickleValueKind.None:
                narrow = NarrowConstant;
                return true;
            case PickleValueKind.Bool:
                narrow = (value.Scalar != 0 ? 2u << 2 : 1u << 2) | NarrowConstant;
                return true;
            default:
                return false;
        }
    }

    private PickleValue Widen(uint narrow) => (narrow & 3) switch
    {
        NarrowInt => PickleValue.Int((int)narrow >> 2),
        NarrowFloat => PickleValue.Float(BitConverter.UInt32BitsToSingle(narrow & ~3u)),
        NarrowText => PickleValue.InArena(PickleValueKind.Str, ((ulong)(narrow >> 4) << 8) | ((ulong)((narrow >> 2) & 3) << 3) | TagShortText, this),
        _ => (narrow >> 2) switch
        {
            0 => PickleValue.None,
            1 => PickleValue.Bool(false),
            _ => PickleValue.Bool(true),
        },
    };

    public static int LengthOf(long handle) => RangeOf((ulong)handle).Length;

    /// <summary><see cref="Expansion.Of"/> of an arena tuple, without making its items into values.</summary>
    public long ExpansionOf(long handle)
    {
        var (start, length) = RangeOf((ulong)handle);
        if (((ulong)handle & NarrowFlag) != 0)
        {
            return Expansion.Add(1, length); // plain values only: one element each
        }
        var total = 1L;
        foreach (var item in _items.Span(start, length))
        {
            var expanded = 1L;
            if ((item & TagMask) == TagObject)
            {
                var value = _objects[(long)(item >> 3)];
                expanded = value.AsSequence?.Expanded ?? value.AsDict?.Expanded ?? 1;
            }
            total = Expansion.Add(total, expanded);
        }
        return total;
    }

    private static ulong Range(ulong tag, long start, int length) => ((ulong)start << RangeShift) | ((ulong)length << 4) | tag;

    private static (long Start, int Length) RangeOf(ulong handle) => ((long)(handle >> RangeShift), (int)((handle >> 4) & LengthMask));
}

/// <summary>
/// An array that grows without copying what it holds: one block that doubles from 16 elements up to a chunk, then whole
/// chunks.
/// Every growth is charged to the scan's <see cref="MemoryBudget"/>.
/// </summary>
internal sealed class ChunkedArray<T>
{
    public const int Shift = 14;
    private const int ChunkSize = 1 << Shift;
    private const int Mask = ChunkSize - 1;
    private const int FirstSize = 16;

    private readonly MemoryBudget _budget;
    private readonly int _elementBytes;
    private T[][] _chunks;
    private int _chunkCount = 1;
    private long _used;

    public ChunkedArray(MemoryBudget budget, int elementBytes)
    {
        _budget = budget;
        _elementBytes = elementBytes;
        _chunks = [[]]; // nothing is allocated or charged until the first element
    }

    /// <summary>How many elements are addressable.</summary>
    public long Capacity { get; private set; }

    public ref T this[long index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _chunks[index >> Shift][index & Mask];
    }

    /// <summary>Elements [start, start + length), which must lie in one chunk.</summary>
    public Span<T> Span(long start, int length) => length == 0 ? default : _chunks[start >> Shift].AsSpan((int)(start & Mask), length);

    /// <summary>Takes the next <paramref name="length"/> elements, all in one chunk, and returns the first one's index.</summary>
    public long Reserve(int length)
    {
        var start = _used;
        if (length > 0 && (start >> Shift) != ((start + length - 1) >> Shift))
        {
            start = ((start >> Shift) + 1) << Shift; // a range never straddles two chunks
        }
        EnsureCapacity(start + length);
        _used = start + length;
        return start;
    }

    /// <summary>Makes every index below <paramref name="count"/> addressable.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void EnsureCapacity(long count)
    {
        while (Capacity < count)
        {
            Grow();
        }
    }

    private void Grow()
    {
        if (Capacity < ChunkSize)
        {
            var size = (int)Math.Clamp(Capacity * 2, FirstSize, ChunkSize);
            _budget.Charge((size - Capacity) * _elementBytes);
            Array.Resize(ref _chunks[0], size);
            Capacity = size;
            return;
        }
        _budget.Charge((long)ChunkSize * _elementBytes);
        if (_chunkCount == _chunks.Length)
        {
            Array.Resize(ref _chunks, _chunks.Length * 2);
        }
        _chunks[_chunkCount++] = new T[ChunkSize];
        Capacity += ChunkSize;
    }
}

/// <summary>
/// The memory one file's scan may hold in pickle machines (<see cref="ScanLimits.MaxMemoryBytes"/>): every pickle of the
/// file draws on it, nested ones too, and nothing is given back, so splitting data over many pickles gains nothing.
/// </summary>
internal sealed class MemoryBudget(long limit)
{
    public long Limit { get; } = limit;

    /// <summary>Bytes charged so far.</summary>
    public long Used { get; private set; }

    /// <summary>Counts <paramref name="bytes"/>; past the limit the current pickle stops with <see cref="PickleRules.BudgetExceeded"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Charge(long bytes)
    {
        Used += bytes;
        if (Used > Limit)
        {
            throw Exceeded();
        }
    }

    private PickleFailure Exceeded() => new(PickleRules.BudgetExceeded, ScanLevel.Suspicious,
        $"The scan needs more than {Limit:N0} bytes of memory for this file's pickle values (ScanLimits.MaxMemoryBytes); the rest of this pickle was not scanned.", null);
}
