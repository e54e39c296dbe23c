using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace Gatehouse.Scanning.Pickle;

/// <summary>What a symbolic value stands for.</summary>
public enum PickleValueKind : byte
{
    /// <summary>No value (an empty memo slot, or nothing was loaded).</summary>
    Missing = 0,
    None,
    Bool,
    Int,
    Float,
    Str,
    Bytes,
    ByteArray,
    Tuple,
    List,
    Dict,
    Set,
    FrozenSet,
    /// <summary>A class, function or module attribute imported by GLOBAL, STACK_GLOBAL, INST or EXT.</summary>
    Global,
    /// <summary>The result of a call or instantiation (REDUCE, NEWOBJ, INST, OBJ …).</summary>
    Object,
    /// <summary>What the host's <c>persistent_load</c> returns for a persistent id.</summary>
    PersistentRef,
    /// <summary>Something the machine does not model (an out-of-band buffer, an array joblib read raw).</summary>
    Opaque,
}

/// <summary>
/// One value on the symbolic pickle machine's stack or memo. A small struct: scalars carry no allocation, short strings
/// and tuples of plain values live in the machine's <see cref="PickleArena"/> (the struct holds their handle), containers
/// and objects are shared by reference exactly as the unpickler shares them (memo aliasing, DUP).
/// </summary>
public readonly struct PickleValue
{
    private readonly long _scalar;
    private readonly object? _ref;

    private PickleValue(PickleValueKind kind, long scalar, object? reference)
    {
        Kind = kind;
        _scalar = scalar;
        _ref = reference;
    }

    public PickleValueKind Kind { get; }

    public static PickleValue None => new(PickleValueKind.None, 0, null);

    internal static PickleValue Bool(bool value) => new(PickleValueKind.Bool, value ? 1 : 0, null);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static PickleValue Int(long value) => new(PickleValueKind.Int, value, null);

    internal static PickleValue Int(BigInteger value) =>
        value >= long.MinValue && value <= long.MaxValue ? Int((long)value) : new(PickleValueKind.Int, 0, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static PickleValue Float(double value) => new(PickleValueKind.Float, BitConverter.DoubleToInt64Bits(value), null);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static PickleValue Str(string value) => new(PickleValueKind.Str, value.Length, value);

    /// <summary>A string too long to keep: only its first characters are known.</summary>
    internal static PickleValue TruncatedStr(string prefix, long length) => new(PickleValueKind.Str, length, new PickleTruncatedText(prefix));

    internal static PickleValue Bytes(PickleBytes value, bool mutable = false) =>
        new(mutable ? PickleValueKind.ByteArray : PickleValueKind.Bytes, value.Length, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static PickleValue Tuple(PickleValue[] items) => new(PickleValueKind.Tuple, items.Length, items);

    internal static PickleValue Sequence(PickleValueKind kind, PickleSequence items) => new(kind, 0, items);

    internal static PickleValue Dict(PickleDict items) => new(PickleValueKind.Dict, 0, items);

    internal static PickleValue Global(PickleGlobal value) => new(PickleValueKind.Global, 0, value);

    internal static PickleValue Object(PickleObject value) => new(PickleValueKind.Object, 0, value);

    internal static PickleValue Persistent(PickleObject value) => new(PickleValueKind.PersistentRef, 0, value);

    internal static PickleValue Opaque(string what) => new(PickleValueKind.Opaque, 0, what);

    /// <summary>A str or tuple stored in <paramref name="arena"/> under <paramref name="handle"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static PickleValue InArena(PickleValueKind kind, ulong handle, PickleArena arena) => new(kind, (long)handle, arena);

    public bool IsMissing => Kind == PickleValueKind.Missing;

    /// <summary>The integer value when it is an int or bool that fits in 64 bits.</summary>
    public long? AsInt64 => Kind is PickleValueKind.Int or PickleValueKind.Bool && _ref is null ? _scalar : null;

    /// <summary>The integer value of any int (arbitrary precision) or bool.</summary>
    public BigInteger? AsBigInteger => Kind switch
    {
        PickleValueKind.Int => _ref is BigInteger big ? big : _scalar,
        PickleValueKind.Bool => _scalar,
        _ => null,
    };

    public double? AsDouble => Kind == PickleValueKind.Float ? BitConverter.Int64BitsToDouble(_scalar) : null;

    /// <summary>The complete text of a str; null for anything else or for a string too long to keep.</summary>
    public string? AsString => Kind != PickleValueKind.Str ? null : _ref as string ?? (_ref as PickleArena)?.TextOf(_scalar);

    /// <summary>True for a str whose content was not kept in full.</summary>
    public bool IsTruncatedString => Kind == PickleValueKind.Str && _ref is PickleTruncatedText;

    public PickleBytes? AsBytes => Kind is PickleValueKind.Bytes or PickleValueKind.ByteArray ? _ref as PickleBytes : null;

    /// <summary>The items of a tuple.</summary>
    public ReadOnlySpan<PickleValue> AsTuple => Kind != PickleValueKind.Tuple ? default : _ref as PickleValue[] ?? ((PickleArena)_ref!).ItemsOf(_scalar);

    /// <summary>How many items a tuple has (0 for anything else).</summary>
    public int TupleLength => Kind != PickleValueKind.Tuple ? 0 : _ref is PickleValue[] items ? items.Length : PickleArena.LengthOf(_scalar);

    public PickleSequence? AsSequence => _ref as PickleSequence;

    public PickleDict? AsDict => _ref as PickleDict;

    public PickleGlobal? AsGlobal => _ref as PickleGlobal;

    public PickleObject? AsObject => _ref as PickleObject;

    internal object? Reference => _ref;

    /// <summary>The inline payload: an int, a float's bits, a bool, a length, or an arena handle.</summary>
    internal long Scalar => _scalar;

    /// <summary>A short human description, for messages.</summary>
    public override string ToString() => Describe(this, 3);

    private static string Describe(PickleValue value, int depth) => value.Kind switch
    {
        PickleValueKind.Missing => "<missing>",
        PickleValueKind.None => "None",
        PickleValueKind.Bool => value._scalar != 0 ? "True" : "False",
        PickleValueKind.Int => value._ref is BigInteger big
            ? big.GetBitLength() <= 256 ? big.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"<int of {big.GetBitLength()} bits>"
            : value._scalar.ToString(System.Globalization.CultureInfo.InvariantCulture),
        PickleValueKind.Float => BitConverter.Int64BitsToDouble(value._scalar).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        PickleValueKind.Str => value.AsString is { } s ? Quote(s) : $"<str of {value._scalar} chars>",
        PickleValueKind.Bytes or PickleValueKind.ByteArray => $"<{(value.Kind == PickleValueKind.Bytes ? "bytes" : "bytearray")} of {value._scalar} bytes>",
        PickleValueKind.Tuple when depth > 0 => "(" + string.Join(", ", value.AsTuple.ToArray().Take(6).Select(v => Describe(v, depth - 1))) + (value.TupleLength > 6 ? ", …" : value.TupleLength == 1 ? "," : "") + ")",
        PickleValueKind.Tuple => "(…)",
        PickleValueKind.List => "[…]",
        PickleValueKind.Dict => "{…}",
        PickleValueKind.Set or PickleValueKind.FrozenSet => "{…}",
        PickleValueKind.Global => ((PickleGlobal)value._ref!).Name,
        PickleValueKind.Object => ((PickleObject)value._ref!).Describe(),
        PickleValueKind.PersistentRef => "<persistent id>",
        _ => $"<{value._ref}>",
    };

    private static string Quote(string s) => s.Length <= 60 ? $"'{s}'" : $"'{s[..57]}…'";
}

/// <summary>A str kept only as a prefix.</summary>
internal sealed class PickleTruncatedText(string prefix)
{
    public string Prefix { get; } = prefix;
}

/// <summary>A bytes or bytearray argument: its length, and its content when it was small enough to keep.</summary>
public sealed class PickleBytes
{
    internal PickleBytes(byte[] content, long length)
    {
        Content = content;
        Length = length;
    }

    /// <summary>The content if <see cref="IsComplete"/>, otherwise its first bytes.</summary>
    public byte[] Content { get; }

    public long Length { get; }

    public bool IsComplete => Content.Length == Length;

    /// <summary>True when the whole content was checked for nested pickles and archives.</summary>
    public bool Inspected { get; internal set; }

    /// <summary>What was found inside when the bytes were checked for nested content.</summary>
    public NestedContent Nested { get; internal set; }
}

/// <summary>What a bytes or str argument turned out to hold.</summary>
public enum NestedContent : byte
{
    Nothing,
    /// <summary>A pickle stream (possibly base64 or hex encoded); it was scanned.</summary>
    Pickle,
    /// <summary>A zip archive (a torch checkpoint); scanned only when a nested-archive scanner is configured.</summary>
    Archive,
    /// <summary>A zip archive that could not be scanned (no nested-archive scanner configured).</summary>
    UnscannedArchive,
}

/// <summary>A list, set or frozenset. Only the first items are kept (all are counted); mutations are shared by reference.</summary>
public sealed class PickleSequence
{
    internal const int KeepItems = 4096;

    internal readonly List<PickleValue> Items = [];

    public long Count { get; private set; }

    /// <summary>Elements reached when the list is copied or walked, following shared references (saturating).</summary>
    public long Expanded { get; private set; }

    public IReadOnlyList<PickleValue> KeptItems => Items;

    internal void Add(PickleValue value)
    {
        Count++;
        Expanded = Expansion.Add(Expanded, Expansion.Of(value));
        if (Items.Count < KeepItems)
        {
            Items.Add(value);
        }
    }

    internal void AddRange(ReadOnlySpan<PickleValue> values)
    {
        Count += values.Length;
        foreach (var value in values)
        {
            Expanded = Expansion.Add(Expanded, Expansion.Of(value));
        }
        var room = KeepItems - Items.Count;
        if (room > 0)
        {
            Items.AddRange(values.Length <= room ? values : values[..room]);
        }
    }
}

/// <summary>A dict. Only the first items are kept (all are counted).</summary>
public sealed class PickleDict
{
    internal const int KeepItems = 4096;

    internal readonly List<KeyValuePair<PickleValue, PickleValue>> Items = [];

    public long Count { get; private set; }

    /// <summary>Elements reached when the dict is copied or walked, following shared references (saturating).</summary>
    public long Expanded { get; private set; }

    public IReadOnlyList<KeyValuePair<PickleValue, PickleValue>> KeptItems => Items;

    internal void Set(PickleValue key, PickleValue value)
    {
        Count++;
        Expanded = Expansion.Add(Expanded, Expansion.Add(Expansion.Of(key), Expansion.Of(value)));
        if (Items.Count < KeepItems)
        {
            Items.Add(new(key, value));
        }
    }

    /// <summary>The value of the last item whose key is the str <paramref name="key"/>, as a dict update leaves it.</summary>
    public bool TryGet(string key, out PickleValue value)
    {
        for (var i = Items.Count - 1; i >= 0; i--)
        {
            if (Items[i].Key.AsString == key)
            {
                value = Items[i].Value;
                return true;
            }
        }
        value = default;
        return false;
    }
}

/// <summary>A global as the loader resolves it, with the policy's judgement.</summary>
public sealed class PickleGlobal
{
    internal PickleGlobal(string module, string name, GlobalJudgement judgement, long offset, int extensionCode = 0)
    {
        Module = module;
        QualifiedName = name;
        Judgement = judgement;
        Offset = offset;
        ExtensionCode = extensionCode;
        Name = extensionCode != 0 ? $"<extension code {extensionCode}>" : $"{module}.{name}";
    }

    /// <summary>The module after <c>_compat_pickle</c> mapping.</summary>
    public string Module { get; }

    /// <summary>The attribute path inside the module (dotted at protocol 4 and above).</summary>
    public string QualifiedName { get; }

    /// <summary>"module.qualname" as reported in findings.</summary>
    public string Name { get; }

    /// <summary>Non-zero for an EXT1/EXT2/EXT4 reference (resolved only through the process's copyreg registry).</summary>
    public int ExtensionCode { get; }

    public long Offset { get; }

    internal GlobalJudgement Judgement { get; }

    public ScanLevel Level => Judgement.Level;

    public bool IsAllowed => Judgement.Allowed is not null;

    /// <summary>True when this is exactly <paramref name="module"/>.<paramref name="name"/>.</summary>
    public bool Is(string module, string name) => ExtensionCode == 0 && Module == module && QualifiedName == name;
}

/// <summary>What a call or instantiation produced: the callee, its arguments and every BUILD state applied to it.</summary>
public sealed class PickleObject
{
    internal const int KeepStates = 16;
    private List<PickleValue>? _states;

    internal PickleObject(PickleValue callee, PickleValue args, string callSite, bool initCalled, long offset)
    {
        Callee = callee;
        Args = args;
        CallSite = callSite;
        InitCalled = initCalled;
        Offset = offset;
    }

    /// <summary>The class or function called (a <see cref="PickleValueKind.Global"/> in ordinary pickles).</summary>
    public PickleValue Callee { get; }

    /// <summary>The positional arguments (a tuple), or the persistent id for a persistent reference.</summary>
    public PickleValue Args { get; }

    /// <summary>Keyword arguments (NEWOBJ_EX).</summary>
    public PickleValue Kwargs { get; internal init; }

    /// <summary>The opcode that made it: REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ, BINPERSID, PERSID.</summary>
    public string CallSite { get; }

    /// <summary>True when the class's <c>__init__</c> (or the function itself) ran, false for <c>cls.__new__</c> only.</summary>
    public bool InitCalled { get; }

    public long Offset { get; }

    /// <summary>BUILD states applied to this object, in order (the first few).</summary>
    public IReadOnlyList<PickleValue> States => (IReadOnlyList<PickleValue>?)_states ?? [];

    /// <summary>The class or function when it is a global, else null.</summary>
    public PickleGlobal? CalleeGlobal => Callee.AsGlobal;

    internal void AddState(PickleValue state)
    {
        _states ??= new List<PickleValue>(1);
        if (_states.Count < KeepStates)
        {
            _states.Add(state);
        }
    }

    internal string Describe()
    {
        var callee = Callee.Kind == PickleValueKind.Global ? Callee.AsGlobal!.Name : Callee.Kind.ToString();
        return $"{callee}(…)";
    }
}

/// <summary>Text helpers shared by the machine and the container readers.</summary>
internal static class PickleText
{
    public static readonly Encoding Utf8 = new UTF8Encoding(false, false);

    public static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}

/// <summary>
/// How many elements a value stands for once shared references are followed: a list holding the same list ten times,
/// nested thirty deep, is 10^30 elements to anything that copies or walks it (a memo fan-out bomb).
/// </summary>
internal static class Expansion
{
    public static long Of(PickleValue value)
    {
        if (value.AsSequence is { } sequence)
        {
            return Add(1, sequence.Expanded);
        }
        if (value.AsDict is { } dict)
        {
            return Add(1, dict.Expanded);
        }
        if (value.Kind == PickleValueKind.Tuple)
        {
            if (value.Reference is PickleArena arena)
            {
                return arena.ExpansionOf(value.Scalar);
            }
            var total = 1L;
            foreach (var item in value.AsTuple)
            {
                total = Add(total, item.AsSequence?.Expanded ?? item.AsDict?.Expanded ?? 1);
            }
            return total;
        }
        return 1;
    }

    public static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
}
