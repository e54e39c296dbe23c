using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;
using static Gatehouse.Scanning.Pickle.PickleOpcodes;

namespace Gatehouse.Scanning.Pickle;

/// <summary>
/// Runs one pickle (up to its STOP) symbolically, mirroring CPython's <c>_Unpickler.load</c>: a real stack with MARK
/// fences, a memo that stores the values themselves, the protocol in force at each opcode and <c>find_class</c>
/// resolution. Nothing is imported or called; every import and call is judged where it happens.
/// </summary>
internal sealed class PickleMachine
{
    private const int InlineStringBytes = 64 * 1024; // strings and bytes up to this size are read from the buffer
    private const int MaxLineLength = 64 * 1024;
    // Far above any real checkpoint (a 70B model has ~1e3 tensors; a 1e6-entry vocab ~3e6 elements).
    private const long MaxExpandedElements = 1_000_000_000;

    // What the scan's memory budget is charged for objects outside the arena: the object with its header and fields.
    private const int ObjectBytes = 64;
    private const int ContainerItemBytes = 48;

    private readonly PickleSession _session;
    private readonly PickleInput _in;
    private readonly ScanBudget _budget;
    private readonly MemoryBudget _memory;
    private readonly PickleArena _arena;
    private readonly PickleMemo _memo;
    private readonly PickleBuildHook? _onBuild;
    private readonly int _maxStack;
    private readonly int _maxMarks;
    private readonly long _maxMemo;
    private readonly long _maxOpcodes;

    private PickleValue[] _stack = new PickleValue[32];
    private int _sp;
    private int[] _marks = new int[8];
    private int _markCount;
    private int _fence;
    private int _proto;
    private bool _sawProto;
    private long _opsThisPickle;
    private long _opStart;

    public PickleMachine(PickleSession session, PickleInput input, ScanBudget budget, PickleBuildHook? onBuild)
    {
        _session = session;
        _in = input;
        _budget = budget;
        _memory = budget.Memory;
        _arena = new PickleArena(_memory);
        _memo = new PickleMemo(_arena, _memory);
        _onBuild = onBuild;
        var limits = budget.Limits;
        _maxStack = Math.Max(1, limits.MaxStackDepth);
        _maxMarks = Math.Max(1, limits.MaxMarkDepth);
        _maxMemo = Math.Max(1, limits.MaxMemoEntries);
        _maxOpcodes = limits.MaxOpcodes;
    }

    /// <summary>The protocol in force after the last opcode run.</summary>
    public int Protocol => _proto;

    /// <summary>Runs opcodes until STOP. Failures and limits are reported as findings and end the run.</summary>
    public PickleLoadResult Run()
    {
        var start = _in.Position;
        try
        {
            var value = Execute();
            return new PickleLoadResult(PickleLoadStatus.Loaded, value, start, _in.Position);
        }
        catch (PickleFailure failure)
        {
            if (!failure.AlreadyReported)
            {
                _session.Report(failure.Rule, failure.Level, failure.Message, failure.Offset ?? _opStart);
            }
            _session.LastFailure = failure;
            var status = failure.Rule.StartsWith("pickle.limit-", StringComparison.Ordinal) || failure.Rule == PickleRules.BudgetExceeded
                ? PickleLoadStatus.Stopped
                : PickleLoadStatus.Failed;
            if (status == PickleLoadStatus.Stopped)
            {
                _budget.ExhaustedRule ??= failure.Rule;
            }
            return new PickleLoadResult(status, PickleValue.None, start, _in.Position);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A scanner bug must never pass a file: fail closed with what was seen so far.
            _session.Report(PickleRules.ScannerError, ScanLevel.Invalid, $"The pickle scanner failed on this content ({ex.GetType().Name}: {ex.Message}).", _opStart);
            return new PickleLoadResult(PickleLoadStatus.Failed, PickleValue.None, start, _in.Position);
        }
    }

    private PickleValue Execute()
    {
        var input = _in;
        while (true)
        {
            _opStart = input.Position;
            var op = input.ReadOpcode();
            if (op < 0)
            {
                throw EndOfData(_opsThisPickle == 0 ? "no pickle data" : "the pickle ends without STOP");
            }
            _opsThisPickle++;
            if (++_budget.Opcodes > _maxOpcodes || (_budget.Opcodes & 0x3FFF) == 0)
            {
                CheckBudget();
            }
            switch (op)
            {
                // ---- Hot opcodes of ordinary pickles first ----
                case BINGET:
                    Push(MemoGet(ReadByteArg()));
                    break;
                case LONG_BINGET:
                    Push(MemoGet(ReadUInt32()));
                    break;
                case BINPUT:
                    MemoPut(ReadByteArg());
                    break;
                case LONG_BINPUT:
                    MemoPut(ReadUInt32());
                    break;
                case MEMOIZE:
                    MemoPut(_memo.Count);
                    break;
                case SHORT_BINUNICODE:
                    Push(ReadUnicode(ReadByteArg()));
                    break;
                case BINUNICODE:
                    Push(ReadUnicode(ReadUInt32()));
                    break;
                case BININT1:
                    Push(PickleValue.Int(ReadByteArg()));
                    break;
                case BININT2:
                    Push(PickleValue.Int(BinaryPrimitives.ReadUInt16LittleEndian(Read(2))));
                    break;
                case BININT:
                    Push(PickleValue.Int(BinaryPrimitives.ReadInt32LittleEndian(Read(4))));
                    break;
                case BINFLOAT:
                    Push(PickleValue.Float(BinaryPrimitives.ReadDoubleBigEndian(Read(8))));
                    break;
                case TUPLE1:
                    Need(1);
                    MakeTuple(_sp - 1);
                    break;
                case TUPLE2:
                    Need(2);
                    MakeTuple(_sp - 2);
                    break;
                case TUPLE3:
                    Need(3);
                    MakeTuple(_sp - 3);
                    break;
                case MARK:
                    PushMark();
                    break;
                case SETITEMS:
                    SetItems();
                    break;
                case APPENDS:
                    Appends();
                    break;
                case EMPTY_DICT:
                    _memory.Charge(ObjectBytes);
                    Push(PickleValue.Dict(new PickleDict()));
                    break;
                case EMPTY_LIST:
                    Push(NewSequence(PickleValueKind.List));
                    break;
                case EMPTY_TUPLE:
                    Push(_arena.Tuple([]));
                    break;
                case NONE:
                    Push(PickleValue.None);
                    break;
                case NEWTRUE:
                    Push(PickleValue.Bool(true));
                    break;
                case NEWFALSE:
                    Push(PickleValue.Bool(false));
                    break;
                case FRAME:
                    LoadFrame();
                    break;
                case PROTO:
                    LoadProto();
                    break;
                case STOP:
                    var result = Pop();
                    if (Expansion.Of(result) is var expanded and > MaxExpandedElements)
                    {
                        _session.Report(PickleRules.LimitExpansion, ScanLevel.Suspicious,
                            $"The result expands to {(expanded == long.MaxValue ? "more than 9.2e18" : expanded.ToString("N0"))} elements through shared references (memo fan-out); no checkpoint needs more than {MaxExpandedElements:N0}.", _opStart);
                    }
                    return result;

                // ---- Imports and calls ----
                case GLOBAL:
                    LoadGlobal();
                    break;
                case STACK_GLOBAL:
                    LoadStackGlobal();
                    break;
                case INST:
                    LoadInst();
                    break;
                case OBJ:
                    LoadObj();
                    break;
                case REDUCE:
                    {
                        var args = Pop();
                        ref var func = ref Top();
                        func = Call(func, args, "REDUCE", initCalled: true);
                        break;
                    }
                case NEWOBJ:
                    {
                        var args = Pop();
                        var cls = Pop();
                        Push(Construct(cls, args, default, "NEWOBJ"));
                        break;
                    }
                case NEWOBJ_EX:
                    {
                        var kwargs = Pop();
                        var args = Pop();
                        var cls = Pop();
                        Push(Construct(cls, args, kwargs, "NEWOBJ_EX"));
                        break;
                    }
                case BUILD:
                    LoadBuild();
                    break;
                case EXT1:
                    LoadExtension(ReadByteArg());
                    break;
                case EXT2:
                    LoadExtension(BinaryPrimitives.ReadUInt16LittleEndian(Read(2)));
                    break;
                case EXT4:
                    LoadExtension(BinaryPrimitives.ReadInt32LittleEndian(Read(4)));
                    break;
                case PERSID:
                    {
                        var line = ReadLine("PERSID");
                        if (!Ascii.IsValid(line))
                        {
                            throw Malformed("persistent IDs in protocol 0 must be ASCII strings");
                        }
                        var pid = PickleValue.Str(Encoding.ASCII.GetString(line));
                        _session.Reached++; // the loader's persistent_load runs
                        _memory.Charge(ObjectBytes);
                        Push(PickleValue.Persistent(new PickleObject(default, pid, "PERSID", initCalled: false, _opStart)));
                        break;
                    }
                case BINPERSID:
                    {
                        ref var top = ref Top();
                        _session.Reached++; // the loader's persistent_load runs
                        _memory.Charge(ObjectBytes);
                        top = PickleValue.Persistent(new PickleObject(default, top, "BINPERSID", initCalled: false, _opStart));
                        break;
                    }

                // ---- Stack and memo ----
                case POP:
                    if (_sp > _fence)
                    {
                        _stack[--_sp] = default;
                    }
                    else
                    {
                        PopMark();
                    }
                    break;
                case POP_MARK:
                    _sp = PopMark();
                    break;
                case DUP:
                    Push(Top());
                    break;
                case GET:
                    {
                        var getLine = ReadLine("GET");
                        var key = PickleTextParsing.ParseInt(getLine, autoBase: false) ?? throw NumberError("GET argument is not an integer", getLine, NumberSyntax.Decimal);
                        if (key < 0 || key > long.MaxValue)
                        {
                            throw Malformed($"Memo value not found at index {key}");
                        }
                        Push(MemoGet((long)key));
                        break;
                    }
                case PUT:
                    {
                        var putLine = ReadLine("PUT");
                        var key = PickleTextParsing.ParseInt(putLine, autoBase: false) ?? throw NumberError("PUT argument is not an integer", putLine, NumberSyntax.Decimal);
                        if (key < 0)
                        {
                            throw Malformed("negative PUT argument");
                        }
                        MemoPut(key > long.MaxValue ? long.MaxValue : (long)key);
                        break;
                    }

                // ---- Containers ----
                case TUPLE:
                    MakeTuple(PopMark());
                    break;
                case LIST:
                    {
                        var start = PopMark();
                        var list = NewSequence(PickleValueKind.List);
                        AddRange(list.AsSequence!, _stack.AsSpan(start, _sp - start));
                        ClearAbove(start);
                        Push(list);
                        break;
                    }
                case DICT:
                    {
                        var start = PopMark();
                        if ((_sp - start) % 2 != 0)
                        {
                            throw Malformed("odd number of items for DICT");
                        }
                        _memory.Charge(ObjectBytes);
                        var dict = new PickleDict();
                        SetRange(dict, start);
                        ClearAbove(start);
                        Push(PickleValue.Dict(dict));
                        break;
                    }
                case EMPTY_SET:
                    Push(NewSequence(PickleValueKind.Set));
                    break;
                case FROZENSET:
                    {
                        var start = PopMark();
                        var set = NewSequence(PickleValueKind.FrozenSet);
                        AddRange(set.AsSequence!, _stack.AsSpan(start, _sp - start));
                        ClearAbove(start);
                        Push(set);
                        break;
                    }
                case APPEND:
                    {
                        var value = Pop();
                        var target = Top();
                        if (MutationTarget(target, "APPEND") is { } list)
                        {
                            AddItem(list, value);
                        }
                        break;
                    }
                case SETITEM:
                    {
                        var value = Pop();
                        var key = Pop();
                        var target = Top();
                        if (target.Kind == PickleValueKind.Dict)
                        {
                            SetItem(target.AsDict!, key, value);
                        }
                        else
                        {
                            MutationTarget(target, "SETITEM");
                        }
                        break;
                    }
                case ADDITEMS:
                    {
                        var start = PopMark();
                        var target = BelowMark(start);
                        if (MutationTarget(target, "ADDITEMS") is { } set)
                        {
                            AddRange(set, _stack.AsSpan(start, _sp - start));
                        }
                        ClearAbove(start);
                        break;
                    }

                // ---- Other scalars and strings ----
                case INT:
                    {
                        var line = ReadLine("INT");
                        if (line.SequenceEqual("00"u8))
                        {
                            Push(PickleValue.Bool(false));
                        }
                        else if (line.SequenceEqual("01"u8))
                        {
                            Push(PickleValue.Bool(true));
                        }
                        else
                        {
                            Push(PickleValue.Int(PickleTextParsing.ParseInt(line, autoBase: true) ?? throw NumberError("INT argument is not an integer", line, NumberSyntax.AnyBase)));
                        }
                        break;
                    }
                case LONG:
                    {
                        var line = ReadLine("LONG");
                        if (line.Length > 0 && line[^1] == 'L')
                        {
                            line = line[..^1];
                        }
                        Push(PickleValue.Int(PickleTextParsing.ParseInt(line, autoBase: true) ?? throw NumberError("LONG argument is not an integer", line, NumberSyntax.AnyBase)));
                        break;
                    }
                case LONG1:
                    Push(PickleValue.Int(new BigInteger(Read(ReadByteArg()), isUnsigned: false, isBigEndian: false)));
                    break;
                case LONG4:
                    {
                        var n = BinaryPrimitives.ReadInt32LittleEndian(Read(4));
                        if (n < 0)
                        {
                            throw Malformed("LONG pickle has negative byte count");
                        }
                        var bytes = ReadBytesArgument(n, out var complete);
                        Push(complete ? PickleValue.Int(new BigInteger(bytes, isUnsigned: false, isBigEndian: false)) : PickleValue.Opaque("a very large int"));
                        break;
                    }
                case FLOAT:
                    {
                        var floatLine = ReadLine("FLOAT");
                        Push(PickleValue.Float(PickleTextParsing.ParseFloat(floatLine) ?? throw NumberError("FLOAT argument is not a number", floatLine, NumberSyntax.Float)));
                    }
                    break;
                case STRING:
                    {
                        var line = ReadLine("STRING");
                        if (line.Length < 2 || line[0] != line[^1] || line[0] is not ((byte)'\'' or (byte)'"'))
                        {
                            throw Malformed("the STRING opcode argument must be quoted");
                        }
                        var decoded = PickleTextParsing.EscapeDecode(line[1..^1]) ?? throw ArgumentError("invalid escape in STRING argument");
                        Push(ByteString(decoded, decoded.Length));
                        break;
                    }
                case BINSTRING:
                    {
                        var n = BinaryPrimitives.ReadInt32LittleEndian(Read(4));
                        if (n < 0)
                        {
                            throw Malformed("BINSTRING pickle has negative byte count");
                        }
                        var bytes = ReadBytesArgument(n, out _);
                        Push(ByteString(bytes, n));
                        break;
                    }
                case SHORT_BINSTRING:
                    {
                        var n = ReadByteArg();
                        Push(ByteString(Read(n).ToArray(), n));
                        break;
                    }
                case UNICODE:
                    {
                        var text = PickleTextParsing.RawUnicodeEscapeDecode(ReadLine("UNICODE")) ?? throw ArgumentError("invalid escape in UNICODE argument");
                        Push(StrValue(text, text.Length, _opStart));
                        break;
                    }
                case BINUNICODE8:
                    Push(ReadUnicode(ReadLength8("BINUNICODE8")));
                    break;
                case BINBYTES:
                    Push(ReadBytes(ReadUInt32(), mutable: false));
                    break;
                case SHORT_BINBYTES:
                    Push(ReadBytes(ReadByteArg(), mutable: false));
                    break;
                case BINBYTES8:
                    Push(ReadBytes(ReadLength8("BINBYTES8"), mutable: false));
                    break;
                case BYTEARRAY8:
                    Push(ReadBytes(ReadLength8("BYTEARRAY8"), mutable: true));
                    break;
                case NEXT_BUFFER:
                    _session.Report(PickleRules.OutOfBandBuffer, ScanLevel.Invalid,
                        "NEXT_BUFFER needs out-of-band buffers that torch.load and joblib never supply; the loader fails here.", _opStart, callSite: "NEXT_BUFFER");
                    Push(PickleValue.Opaque("out-of-band buffer"));
                    break;
                case READONLY_BUFFER:
                    Top();
                    break;
                default:
                    throw Malformed($"invalid load key 0x{op:x2}");
            }
            if (input.FrameOverrunAt >= 0)
            {
                ReportFrameOverrun(op);
            }
        }
    }

    // ------------------------------------------------------------------ stack

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Push(PickleValue value)
    {
        if (_sp == _stack.Length)
        {
            GrowStack();
        }
        _stack[_sp++] = value;
    }

    private void GrowStack()
    {
        if (_stack.Length >= _maxStack)
        {
            throw Limit(PickleRules.LimitStack, $"The stack grew past {_maxStack:N0} values.");
        }
        // A quarter more each time: capacity stays within 1.25 slots per value (<= 30 bytes), and every slot is charged.
        var size = (int)Math.Min(_stack.Length + Math.Max(32L, _stack.Length / 4), _maxStack);
        _memory.Charge((long)(size - _stack.Length) * Unsafe.SizeOf<PickleValue>());
        Array.Resize(ref _stack, size);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PickleValue Pop()
    {
        if (_sp <= _fence)
        {
            throw Underflow();
        }
        var value = _stack[--_sp];
        _stack[_sp] = default;
        return value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref PickleValue Top()
    {
        if (_sp <= _fence)
        {
            throw Underflow();
        }
        return ref _stack[_sp - 1];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Need(int count)
    {
        if (_sp - _fence < count)
        {
            throw Underflow();
        }
    }

    private void PushMark()
    {
        if (_markCount == _marks.Length)
        {
            if (_markCount >= _maxMarks)
            {
                throw Limit(PickleRules.LimitMarks, $"MARKs nested deeper than {_maxMarks:N0}.");
            }
            Array.Resize(ref _marks, Math.Min(_marks.Length * 2, _maxMarks));
        }
        _marks[_markCount++] = _sp;
        _fence = _sp;
    }

    /// <summary>Closes the innermost MARK and returns where its items start (they stay on the stack until cleared).</summary>
    private int PopMark()
    {
        if (_markCount == 0)
        {
            throw Malformed("could not find MARK");
        }
        var start = _marks[--_markCount];
        _fence = _markCount > 0 ? _marks[_markCount - 1] : 0;
        return start;
    }

    /// <summary>The value just below a closed MARK: what APPENDS/SETITEMS/ADDITEMS update (CPython's stack[-1] after pop_mark).</summary>
    private PickleValue BelowMark(int start)
    {
        if (start - 1 < _fence)
        {
            throw Underflow();
        }
        return _stack[start - 1];
    }

    private void ClearAbove(int start)
    {
        Array.Clear(_stack, start, _sp - start);
        _sp = start;
    }

    // ------------------------------------------------------------------ memo

    private PickleValue MemoGet(long key)
    {
        if (!_memo.TryGet(key, out var value))
        {
            throw Malformed($"Memo value not found at index {key}");
        }
        return value;
    }

    private void MemoPut(long key)
    {
        if (_memo.Put(key, Top()) && _memo.Count > _maxMemo)
        {
            throw Limit(PickleRules.LimitMemo, $"The memo grew past {_maxMemo:N0} entries.");
        }
    }

    // ------------------------------------------------------------------ values outside the arena, charged to the budget

    /// <summary>Replaces the stack from <paramref name="start"/> up with one tuple of those values.</summary>
    private void MakeTuple(int start)
    {
        var items = _stack.AsSpan(start, _sp - start);
        PickleValue tuple;
        if (items.Length <= PickleArena.MaxTuple)
        {
            tuple = _arena.Tuple(items);
        }
        else
        {
            _memory.Charge(ObjectBytes + ((long)items.Length * Unsafe.SizeOf<PickleValue>()));
            tuple = PickleValue.Tuple(items.ToArray());
        }
        ClearAbove(start);
        Push(tuple);
    }

    private PickleValue NewObject(PickleObject value)
    {
        _memory.Charge(ObjectBytes);
        return PickleValue.Object(value);
    }

    private PickleValue NewGlobal(PickleGlobal value)
    {
        _memory.Charge(ObjectBytes + (2L * value.Name.Length));
        return PickleValue.Global(value);
    }

    private PickleValue NewSequence(PickleValueKind kind)
    {
        _memory.Charge(ObjectBytes);
        return PickleValue.Sequence(kind, new PickleSequence());
    }

    private void AddItem(PickleSequence sequence, PickleValue value)
    {
        if (sequence.Count < PickleSequence.KeepItems)
        {
            _memory.Charge(ContainerItemBytes);
        }
        sequence.Add(value);
    }

    private void AddRange(PickleSequence sequence, ReadOnlySpan<PickleValue> values)
    {
        _memory.Charge(Math.Clamp(PickleSequence.KeepItems - sequence.Count, 0, values.Length) * ContainerItemBytes);
        sequence.AddRange(values);
    }

    private void SetItem(PickleDict dict, PickleValue key, PickleValue value)
    {
        if (dict.Count < PickleDict.KeepItems)
        {
            _memory.Charge(ContainerItemBytes);
        }
        dict.Set(key, value);
    }

    /// <summary>Sets the key/value pairs on the stack from <paramref name="start"/> up.</summary>
    private void SetRange(PickleDict dict, int start)
    {
        for (var i = start; i < _sp; i += 2)
        {
            SetItem(dict, _stack[i], _stack[i + 1]);
        }
    }

    /// <summary>A .NET string kept in a value (texts too long for the arena, byte strings).</summary>
    private PickleValue ChargedStr(string text)
    {
        _memory.Charge(ObjectBytes + (2L * text.Length));
        return PickleValue.Str(text);
    }

    // ------------------------------------------------------------------ arguments

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Read(int count)
    {
        if (!_in.TryRead(count, out var bytes))
        {
            throw EndOfData($"the opcode at offset {_opStart} needs {count} more bytes than the stream has");
        }
        return bytes;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ReadByteArg() => Read(1)[0];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Read(4));

    private long ReadLength8(string op)
    {
        var length = BinaryPrimitives.ReadUInt64LittleEndian(Read(8));
        if (length > long.MaxValue)
        {
            throw Malformed($"{op} exceeds system's maximum size of {long.MaxValue} bytes");
        }
        return (long)length;
    }

    private ReadOnlySpan<byte> ReadLine(string op)
    {
        if (_in.TryReadLine(MaxLineLength, out var line, out var status))
        {
            return line;
        }
        throw status == LineStatus.TooLong
            ? Malformed($"{op} argument is longer than {MaxLineLength:N0} bytes")
            : EndOfData($"{op} argument has no terminating newline");
    }

    /// <summary>Reads a length-prefixed argument; the content comes back only if it was small enough to inspect.</summary>
    private byte[] ReadBytesArgument(long length, out bool complete)
    {
        var keep = _budget.Limits.MaxInspectedArgumentBytes;
        var got = _in.ReadArgument(length, keep, 256, out var kept);
        if (got < length)
        {
            throw EndOfData($"an argument claims {length:N0} bytes but only {got:N0} follow");
        }
        complete = kept.Length == length;
        return kept;
    }

    private PickleValue ReadUnicode(long length)
    {
        var offset = _opStart;
        if (length <= InlineStringBytes)
        {
            var span = Read((int)length);
            if (span.Length >= NestedContentDetector.MinimumLength)
            {
                var text = PickleText.Utf8.GetString(span);
                _session.InspectText(text, offset, ForcedByFrame());
                if (span.Length > PickleArena.MaxText)
                {
                    return ChargedStr(text);
                }
            }
            return _arena.Text(span);
        }
        var content = ReadBytesArgument(length, out var complete);
        if (complete)
        {
            _session.InspectNested(content, offset, ForcedByFrame());
        }
        var prefix = PickleText.Utf8.GetString(content.AsSpan(0, Math.Min(content.Length, 256)));
        _memory.Charge(ObjectBytes + (2L * prefix.Length));
        return PickleValue.TruncatedStr(prefix, length);
    }

    private PickleValue StrValue(string text, long length, long offset)
    {
        if (text.Length >= NestedContentDetector.MinimumLength)
        {
            _session.InspectText(text, offset, ForcedByFrame());
        }
        if (text.Length <= InlineStringBytes)
        {
            return ChargedStr(text);
        }
        _memory.Charge(ObjectBytes + 512);
        return PickleValue.TruncatedStr(text[..256], length);
    }

    /// <summary>STRING/BINSTRING/SHORT_BINSTRING: str under the default encodings, bytes under encoding='bytes'.</summary>
    private PickleValue ByteString(byte[] content, long length)
    {
        if (content.Length >= NestedContentDetector.MinimumLength && content.Length == length)
        {
            _session.InspectNested(content, _opStart, ForcedByFrame());
        }
        var text = PickleText.Latin1(content.AsSpan(0, (int)Math.Min(content.Length, InlineStringBytes)));
        if (content.Length == length && length <= InlineStringBytes)
        {
            return ChargedStr(text);
        }
        _memory.Charge(ObjectBytes + (2L * text.Length));
        return PickleValue.TruncatedStr(text, length);
    }

    private PickleValue ReadBytes(long length, bool mutable)
    {
        var offset = _opStart;
        byte[] content;
        bool complete;
        if (length <= InlineStringBytes)
        {
            content = Read((int)length).ToArray();
            complete = true;
        }
        else
        {
            content = ReadBytesArgument(length, out complete);
        }
        var bytes = new PickleBytes(complete && content.Length > InlineStringBytes ? content[..64] : content, length);
        _memory.Charge(ObjectBytes + bytes.Content.Length);
        if (complete && length >= NestedContentDetector.MinimumLength)
        {
            bytes.Inspected = true;
            bytes.Nested = _session.InspectNested(content, offset, ForcedByFrame());
        }
        else
        {
            bytes.Inspected = complete;
        }
        return PickleValue.Bytes(bytes, mutable);
    }

    /// <summary>An argument that ran past its frame is scanned as a pickle whatever it looks like: a loader may run it.</summary>
    private bool ForcedByFrame() => _in.FrameOverrunAt >= 0;

    // ------------------------------------------------------------------ protocol and framing

    private void LoadProto()
    {
        var proto = ReadByteArg();
        if (proto > HighestProtocol)
        {
            throw Malformed($"unsupported pickle protocol: {proto}");
        }
        if (_sawProto || _opsThisPickle > 1)
        {
            _session.Report(PickleRules.MisplacedProto, ScanLevel.Suspicious,
                _sawProto
                    ? $"A second PROTO switches to protocol {proto} mid-stream, changing how later globals resolve."
                    : $"PROTO {proto} is not the first opcode: it switches name resolution mid-stream.",
                _opStart, callSite: "PROTO");
        }
        _sawProto = true;
        _proto = proto;
    }

    private void LoadFrame()
    {
        var length = BinaryPrimitives.ReadUInt64LittleEndian(Read(8));
        if (length > long.MaxValue)
        {
            throw Malformed($"frame size > sys.maxsize: {length}");
        }
        if (_in.InFrame && _in.Position < _in.FrameEnd)
        {
            _session.Report(PickleRules.FrameOverrun, ScanLevel.Invalid,
                "A FRAME begins before the current frame ends; the pure-Python unpickler rejects this, the C one does not.",
                _opStart, callSite: "FRAME");
        }
        _in.BeginFrame((long)length);
    }

    private void ReportFrameOverrun(int op)
    {
        _session.Report(PickleRules.FrameOverrun, ScanLevel.Invalid,
            $"{Name(op)} crosses the end of its FRAME: loaders disagree on what follows (CPython #154848); scanned linearly as the C unpickler reads it.",
            _in.FrameOverrunAt, callSite: Name(op));
        _in.ClearFrameOverrun();
    }

    // ------------------------------------------------------------------ imports

    private void LoadGlobal()
    {
        var module = ReadUtf8Line("GLOBAL");
        var name = ReadUtf8Line("GLOBAL");
        RequireModuleName(module, "GLOBAL");
        Push(NewGlobal(_session.FindClass(module, name, _proto, "GLOBAL", _opStart)));
    }

    /// <summary>
    /// find_class imports the module first. A name with a character no module of an installed package has (whitespace,
    /// punctuation other than '.', '_' and '-': "mport os" from a Python file, "ommit 9e83…" from a changelog) raises
    /// ModuleNotFoundError there, so the loader stops before importing anything: a certain break, not an import.
    /// </summary>
    private void RequireModuleName(string module, string op)
    {
        foreach (var part in module.Split('.'))
        {
            if (part.Length == 0 || !part.All(c => char.IsLetterOrDigit(c) || c is '_' or '-'))
            {
                throw Malformed($"{op} names module '{Shorten(module)}', which no installed package provides (ModuleNotFoundError before any import)");
            }
        }
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "…";

    private string ReadUtf8Line(string op)
    {
        var line = ReadLine(op);
        if (!System.Text.Unicode.Utf8.IsValid(line))
        {
            throw Malformed($"{op} argument is not valid UTF-8");
        }
        return Encoding.UTF8.GetString(line);
    }

    private void LoadStackGlobal()
    {
        var name = Pop();
        var module = Pop();
        if (module.Kind != PickleValueKind.Str || name.Kind != PickleValueKind.Str)
        {
            throw Malformed("STACK_GLOBAL requires str");
        }
        if (module.AsString is not { } moduleText || name.AsString is not { } nameText)
        {
            _session.Report(PickleRules.UnknownGlobal, ScanLevel.Suspicious,
                "STACK_GLOBAL names a global with a string too long to keep; it cannot be judged.", _opStart, callSite: "STACK_GLOBAL");
            Push(PickleValue.Opaque("a global with an over-long name"));
            return;
        }
        RequireModuleName(moduleText, "STACK_GLOBAL");
        Push(NewGlobal(_session.FindClass(moduleText, nameText, _proto, "STACK_GLOBAL", _opStart)));
    }

    private void LoadExtension(int code)
    {
        if (code <= 0)
        {
            throw Malformed("EXT specifies code <= 0");
        }
        // Not counted as reached: a stock interpreter's copyreg extension registry is empty (no stdlib, torch, numpy or
        // joblib code calls add_extension), so the loader raises "unregistered extension code" right here.
        var judgement = new GlobalJudgement(ScanLevel.Suspicious, PickleRules.ExtensionGlobal,
            "an extension code resolves only through the loading process's copyreg registry", null);
        var global = new PickleGlobal("copyreg", $"_inverted_registry[{code}]", judgement, _opStart, code);
        _session.Report(PickleRules.ExtensionGlobal, ScanLevel.Suspicious,
            $"EXT references extension code {code}: an unknown callable registered with copyreg.add_extension (unregistered in a stock interpreter).",
            _opStart, global.Name, "EXT");
        Push(NewGlobal(global));
    }

    // ------------------------------------------------------------------ calls

    private void LoadInst()
    {
        var module = ReadAsciiLine("INST");
        var name = ReadAsciiLine("INST");
        RequireModuleName(module, "INST");
        var cls = NewGlobal(_session.FindClass(module, name, _proto, "INST", _opStart));
        var start = PopMark();
        var args = _stack.AsSpan(start, _sp - start).ToArray();
        ClearAbove(start);
        Push(Instantiate(cls, args, "INST"));
    }

    private string ReadAsciiLine(string op)
    {
        var line = ReadLine(op);
        if (!Ascii.IsValid(line))
        {
            throw Malformed($"{op} argument is not ASCII");
        }
        return Encoding.ASCII.GetString(line);
    }

    private void LoadObj()
    {
        var start = PopMark();
        if (_sp == start)
        {
            throw Malformed("OBJ without a class");
        }
        var cls = _stack[start];
        var args = _stack.AsSpan(start + 1, _sp - start - 1).ToArray();
        ClearAbove(start);
        Push(Instantiate(cls, args, "OBJ"));
    }

    /// <summary><c>_instantiate</c>: <c>klass(*args)</c> when there are arguments (or klass is not a class), else <c>klass.__new__(klass)</c>.</summary>
    private PickleValue Instantiate(PickleValue cls, PickleValue[] args, string site)
    {
        _memory.Charge(ObjectBytes + ((long)args.Length * Unsafe.SizeOf<PickleValue>()));
        var argsTuple = PickleValue.Tuple(args);
        if (args.Length == 0 && cls.AsGlobal is { IsAllowed: true, Judgement.Allowed.Use: AllowedUse.Call or AllowedUse.New })
        {
            return Construct(cls, argsTuple, default, site);
        }
        return Call(cls, argsTuple, site, initCalled: true);
    }

    private PickleValue Call(PickleValue func, PickleValue args, string site, bool initCalled)
    {
        if (func.Kind == PickleValueKind.Global)
        {
            var global = func.AsGlobal!;
            if (global.ExtensionCode != 0)
            {
                _session.Report(PickleRules.ExtensionCall, ScanLevel.Dangerous,
                    $"{site} calls the callable behind extension code {global.ExtensionCode}, which the scanner cannot see.", _opStart, global.Name, site);
            }
            else if (global.Judgement.Allowed is { } allowed)
            {
                switch (allowed.Use)
                {
                    case AllowedUse.New when initCalled:
                        _session.Report(PickleRules.UnexpectedInit, ScanLevel.Suspicious,
                            $"{site} runs {global.Name}.__init__, whose side effects checkpoints never need (they use NEWOBJ).", _opStart, global.Name, site);
                        break;
                    case AllowedUse.Value:
                        _session.Report(PickleRules.UnexpectedCall, ScanLevel.Suspicious,
                            $"{site} calls {global.Name}, a constant that checkpoints only reference.", _opStart, global.Name, site);
                        break;
                    case AllowedUse.NestedLoad:
                        CheckNestedLoad(global, args, site);
                        break;
                    case AllowedUse.Call when global.Is("_codecs", "encode"):
                        return CodecsEncode(func, args, site);
                }
            }
            else
            {
                ReportCall(global, site);
            }
        }
        else
        {
            CheckCallable(func, site);
        }
        return NewObject(new PickleObject(func, args, site, initCalled, _opStart));
    }

    private PickleValue Construct(PickleValue cls, PickleValue args, PickleValue kwargs, string site)
    {
        if (cls.Kind == PickleValueKind.Global)
        {
            var global = cls.AsGlobal!;
            if (global.ExtensionCode != 0)
            {
                _session.Report(PickleRules.ExtensionCall, ScanLevel.Dangerous,
                    $"{site} instantiates the class behind extension code {global.ExtensionCode}, which the scanner cannot see.", _opStart, global.Name, site);
            }
            else if (global.Judgement.Allowed is { } allowed)
            {
                if (allowed.Use is AllowedUse.Value or AllowedUse.NestedLoad)
                {
                    _session.Report(PickleRules.UnexpectedCall, ScanLevel.Suspicious,
                        $"{site} instantiates {global.Name}, which checkpoints never instantiate.", _opStart, global.Name, site);
                }
            }
            else
            {
                ReportCall(global, site);
            }
        }
        else
        {
            CheckCallable(cls, site);
        }
        return NewObject(new PickleObject(cls, args, site, initCalled: false, _opStart) { Kwargs = kwargs });
    }

    private void ReportCall(PickleGlobal global, string site)
    {
        if (global.Judgement.IsDangerous)
        {
            _session.Report(PickleRules.DangerousCall, ScanLevel.Dangerous,
                $"{site} calls {global.Name}: {global.Judgement.Reason}.", _opStart, global.Name, site);
        }
        else
        {
            _session.Report(PickleRules.UnknownCall, ScanLevel.Suspicious,
                $"{site} calls {global.Name}, which is not on the allow-list.", _opStart, global.Name, site);
        }
    }

    private void CheckCallable(PickleValue func, string site)
    {
        switch (func.Kind)
        {
            case PickleValueKind.Object:
            case PickleValueKind.PersistentRef:
                var origin = func.AsObject!;
                var level = origin.CalleeGlobal is { IsAllowed: true } ? ScanLevel.Suspicious : origin.CalleeGlobal?.Level ?? ScanLevel.Suspicious;
                _session.Report(PickleRules.CallOnObject, level < ScanLevel.Suspicious ? ScanLevel.Suspicious : level,
                    $"{site} calls the result of {origin.Describe()}: a gadget chain the allow-list cannot vouch for.", _opStart,
                    origin.CalleeGlobal?.Name, site);
                break;
            case PickleValueKind.Opaque:
            case PickleValueKind.Missing:
                _session.Report(PickleRules.CallOnObject, ScanLevel.Suspicious,
                    $"{site} calls a value the scanner does not model.", _opStart, callSite: site);
                break;
            default:
                _session.Report(PickleRules.NotCallable, ScanLevel.Invalid,
                    $"{site} calls a {func.Kind} value, which is not callable; the loader fails here.", _opStart, callSite: site);
                break;
        }
    }

    /// <summary><c>_codecs.encode(text, 'latin1')</c> is how protocol 2 writes bytes: the result is bytes, checked for pickles.</summary>
    private PickleValue CodecsEncode(PickleValue func, PickleValue args, string site)
    {
        var items = args.AsTuple;
        if (items.Length >= 1 && items[0].AsString is { } text)
        {
            var encoding = items.Length >= 2 ? items[1].AsString?.ToLowerInvariant().Replace('_', '-') : "utf-8";
            if (encoding is not ("latin1" or "latin-1" or "iso-8859-1" or "iso8859-1" or "l1" or "utf-8" or "utf8"))
            {
                _session.Report(PickleRules.UnexpectedCall, ScanLevel.Suspicious,
                    $"{site} calls _codecs.encode with the codec {items[1]}: pickles only use latin1, and other codec names import modules by name.",
                    _opStart, "_codecs.encode", site);
            }
            var content = encoding switch
            {
                "latin1" or "latin-1" or "iso-8859-1" or "iso8859-1" or "l1" when text.All(c => c <= 0xFF) => Encoding.Latin1.GetBytes(text),
                "utf-8" or "utf8" => PickleText.Utf8.GetBytes(text),
                _ => null,
            };
            if (content is not null)
            {
                var bytes = new PickleBytes(content.Length > InlineStringBytes ? content[..64] : content, content.Length) { Inspected = true };
                if (content.Length >= NestedContentDetector.MinimumLength)
                {
                    bytes.Nested = _session.InspectNested(content, _opStart, forced: false);
                }
                return PickleValue.Bytes(bytes);
            }
        }
        return NewObject(new PickleObject(func, args, site, initCalled: true, _opStart));
    }

    /// <summary>torch.storage._load_from_bytes(b): safe only when b was scanned (as a pickle, or as an archive by the
    /// configured archive scanner) — its findings were merged when the bytes were read.</summary>
    private void CheckNestedLoad(PickleGlobal global, PickleValue args, string site)
    {
        var items = args.AsTuple;
        var bytes = items.Length == 1 ? items[0].AsBytes : null;
        if (bytes is null)
        {
            _session.Report(PickleRules.NestedLoad, ScanLevel.Dangerous,
                $"{site} calls {global.Name} on a value that is not literal bytes: it loads content the scanner cannot see.", _opStart, global.Name, site);
            return;
        }
        switch (bytes.Nested)
        {
            case NestedContent.Pickle or NestedContent.Archive:
                return;
            case NestedContent.UnscannedArchive:
                _session.Report(PickleRules.NestedArchiveUnscanned, ScanLevel.Suspicious,
                    $"{site} calls {global.Name} on a zip archive that no archive scanner was configured to read.", _opStart, global.Name, site);
                return;
            default:
                _session.Report(PickleRules.NestedLoad, ScanLevel.Suspicious,
                    bytes.Inspected
                        ? $"{site} calls {global.Name} on {bytes.Length:N0} bytes that are neither a pickle nor a zip archive."
                        : $"{site} calls {global.Name} on {bytes.Length:N0} bytes, more than the scanner inspects.",
                    _opStart, global.Name, site);
                return;
        }
    }

    // ------------------------------------------------------------------ mutation

    private void LoadBuild()
    {
        var state = Pop();
        ref var target = ref Top();
        switch (target.Kind)
        {
            case PickleValueKind.Global:
                var global = target.AsGlobal!;
                _session.Report(PickleRules.BuildOnGlobal, ScanLevel.Dangerous,
                    $"BUILD sets attributes on {global.Name} (a module, class or function): monkey-patching at load time.", _opStart, global.Name, "BUILD");
                break;
            case PickleValueKind.Object:
                var obj = target.AsObject!;
                CheckStateKeys(state);
                obj.AddState(state);
                if (_onBuild is not null && _onBuild(obj, _session) is { } replacement)
                {
                    target = ref Top();
                    target = replacement;
                }
                break;
        }
    }

    /// <summary>
    /// BUILD copies a dict state into the instance's __dict__ (and a slot state through setattr): a dunder key there
    /// redirects what the loader calls next (a second BUILD calls an instance-level __setstate__).
    /// </summary>
    private void CheckStateKeys(PickleValue state)
    {
        var pair = state.AsTuple;
        foreach (var dict in pair.Length == 2 ? [pair[0].AsDict, pair[1].AsDict] : (PickleDict?[])[state.AsDict])
        {
            if (dict is null)
            {
                continue;
            }
            foreach (var (key, value) in dict.KeptItems)
            {
                if (key.AsString is { Length: > 4 } name && name.StartsWith("__", StringComparison.Ordinal) && name.EndsWith("__", StringComparison.Ordinal))
                {
                    var redirects = name is "__setstate__" or "__class__" or "__reduce__" or "__reduce_ex__" or "__getattr__" or "__getattribute__" or "__dict__";
                    _session.Report(PickleRules.DunderState, redirects ? ScanLevel.Dangerous : ScanLevel.Suspicious,
                        $"BUILD sets the attribute {name} to {value}: it redirects what the loader does with the object next.",
                        _opStart, value.AsGlobal?.Name, "BUILD");
                }
            }
        }
    }

    private void SetItems()
    {
        var start = PopMark();
        if ((_sp - start) % 2 != 0)
        {
            throw Malformed("odd number of items for SETITEMS");
        }
        var target = BelowMark(start);
        if (target.Kind == PickleValueKind.Dict)
        {
            SetRange(target.AsDict!, start);
        }
        else
        {
            MutationTarget(target, "SETITEMS");
        }
        ClearAbove(start);
    }

    private void Appends()
    {
        var start = PopMark();
        var target = BelowMark(start);
        if (MutationTarget(target, "APPENDS") is { } list)
        {
            AddRange(list, _stack.AsSpan(start, _sp - start));
        }
        ClearAbove(start);
    }

    /// <summary>The list/set to update, or null; a module/class/function target is reported (its methods get called).</summary>
    private PickleSequence? MutationTarget(PickleValue target, string site)
    {
        switch (target.Kind)
        {
            case PickleValueKind.List:
            case PickleValueKind.Set:
                return target.AsSequence;
            case PickleValueKind.Global:
                var global = target.AsGlobal!;
                _session.Report(PickleRules.MutatesGlobal, global.Level == ScanLevel.Dangerous ? ScanLevel.Dangerous : ScanLevel.Suspicious,
                    $"{site} calls a method of {global.Name} (a module, class or function).", _opStart, global.Name, site);
                return null;
            default:
                return null;
        }
    }

    // ------------------------------------------------------------------ budget and failures

    private void CheckBudget()
    {
        if (_budget.ExhaustedRule is { } rule)
        {
            throw Limit(rule, "The scan budget was already exhausted by an enclosing or earlier pickle.", reported: true);
        }
        if (_budget.Opcodes > _maxOpcodes)
        {
            throw Limit(PickleRules.LimitOpcodes, $"More than {_maxOpcodes:N0} opcodes.");
        }
        if (_budget.PastDeadline)
        {
            throw Limit(PickleRules.LimitDuration, $"Scanning took longer than {_budget.Limits.MaxDuration}.");
        }
    }

    private PickleFailure Limit(string rule, string message, bool reported = false) =>
        new(rule, ScanLevel.Suspicious, $"{message} The rest of this pickle was not scanned.", _opStart) { AlreadyReported = reported };

    private PickleFailure Malformed(string message) => new(PickleRules.Malformed, ScanLevel.Invalid,
        $"Not a pickle the loader can read: {message} (opcode at offset {_opStart}).", _opStart);

    /// <summary>
    /// A text argument the scanner could not parse. CPython's own parsers (int(), float(), the escape codecs) may accept
    /// spellings this one does not, so such a failure never proves the loader stops here.
    /// </summary>
    private PickleFailure ArgumentError(string message) => new(PickleRules.Malformed, ScanLevel.Invalid,
        $"Not a pickle the loader can read: {message} (opcode at offset {_opStart}).", _opStart) { Ambiguous = true };

    /// <summary>How CPython parses a number argument: int(text) for GET/PUT, int(text, 0) for INT/LONG, float(text) for FLOAT.</summary>
    private enum NumberSyntax
    {
        Decimal,
        AnyBase,
        Float,
    }

    /// <summary>
    /// A number the scanner could not parse: certain when the line, with ASCII whitespace trimmed from its ends, is empty
    /// or holds a character no spelling that syntax accepts can contain (digits, signs and '_' always; hex digits and
    /// x/o/b prefixes for int(text, 0); '.', exponents and the letters of inf/infinity/nan for float()); ambiguous otherwise.
    /// </summary>
    private PickleFailure NumberError(string message, ReadOnlySpan<byte> line, NumberSyntax syntax)
    {
        var text = line.Trim(" \t\n\v\f\r"u8);
        var impossible = text.IsEmpty;
        foreach (var b in text)
        {
            var c = (char)b;
            var possible = char.IsAsciiDigit(c) || c is '+' or '-' or '_' || syntax switch
            {
                NumberSyntax.AnyBase => char.IsAsciiHexDigit(c) || c is 'x' or 'X' or 'o' or 'O' or 'b' or 'B',
                NumberSyntax.Float => c is '.' or 'e' or 'E' || "infatyINFATY".Contains(c),
                _ => false,
            };
            impossible |= !possible;
        }
        return new(PickleRules.Malformed, ScanLevel.Invalid, $"Not a pickle the loader can read: {message} (opcode at offset {_opStart}).", _opStart) { Ambiguous = !impossible };
    }

    private PickleFailure Underflow() => new(PickleRules.Malformed, ScanLevel.Invalid,
        _markCount > 0 ? $"unexpected MARK found (stack underflow at offset {_opStart})." : $"unpickling stack underflow at offset {_opStart}.", _opStart);

    private PickleFailure EndOfData(string message)
    {
        if (_in.StreamError is { } error)
        {
            return new(PickleRules.ReadError, ScanLevel.Invalid, $"The stream could not be read: {error.Message}", _in.Position);
        }
        return new(PickleRules.Truncated, ScanLevel.Invalid, $"Truncated: {message}.", _opStart);
    }
}

/// <summary>Ends a pickle run with one finding (malformed input, truncation or a limit).</summary>
internal sealed class PickleFailure(string rule, ScanLevel level, string message, long? offset) : Exception(message)
{
    public string Rule { get; } = rule;

    public ScanLevel Level { get; } = level;

    public long? Offset { get; } = offset;

    /// <summary>A shared budget that an earlier run already reported as exhausted.</summary>
    public bool AlreadyReported { get; init; }

    /// <summary>The scanner may be stricter than CPython here (a text argument it could not parse): not proof that the loader stops.</summary>
    public bool Ambiguous { get; init; }
}
