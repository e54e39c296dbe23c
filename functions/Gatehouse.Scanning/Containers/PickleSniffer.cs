using System.Buffers.Binary;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// Tells whether bytes are a pickle the way the loader would find out: by running the opcodes structurally (stack,
/// marks, memo, argument syntax) over the head. Content is a pickle when the walk reaches STOP or an opcode that calls
/// before the first structural error, or when a whole head of valid opcodes goes by. Otherwise the loader
/// would raise before calling anything, and the content is inert to it. Protocol 0 text pickles (<c>cos\nsystem\n…</c>)
/// count; plain text (<c>little</c>, <c>3\n</c>, JSON, source code, word lists) fails within a few bytes.
/// </summary>
internal static class PickleSniffer
{
    private enum Arg : byte
    {
        None,
        U1,
        U2,
        I4,
        U8,
        Len1,
        Len4,
        Len8,
        Line,
        TwoLines,
    }

    /// <summary>How each opcode's argument is encoded (0 = not an opcode).</summary>
    private static readonly Arg?[] Args = BuildArgs();

    /// <param name="head">The first bytes of the content.</param>
    /// <param name="totalLength">The content's length when known; a head shorter than it is a prefix.</param>
    public static bool LooksLikePickle(ReadOnlySpan<byte> head, long? totalLength)
    {
        // PROTO 2..5 followed by an opcode is a pickle by declaration, even one broken right after (the scanner says how).
        if (head.Length >= 3 && head[0] == 0x80 && head[1] is >= 2 and <= 5 && Args[head[2]] is not null)
        {
            return true;
        }
        var walk = new Walk(head, totalLength ?? long.MaxValue);
        return walk.Run();
    }

    private ref struct Walk
    {
        private readonly ReadOnlySpan<byte> _data;
        private readonly long _total;
        private int _pos;
        private int _depth;
        private readonly List<int> _marks;
        private readonly HashSet<long> _memo;
        private ReadOnlySpan<byte> _line;

        public Walk(ReadOnlySpan<byte> data, long total)
        {
            _data = data;
            _total = total;
            _pos = 0;
            _depth = 0;
            _marks = [];
            _memo = [];
            _line = default;
        }

        private readonly int Base => _marks.Count > 0 ? _marks[^1] : 0;

        /// <summary>Runs until a verdict; true means "a pickle the loader would act on".</summary>
        public bool Run()
        {
            while (true)
            {
                if (_pos >= _data.Length)
                {
                    // A whole head of valid opcodes is a pickle; a complete content that ends without acting is inert.
                    return _data.Length < _total && _data.Length > 0;
                }
                var op = _data[_pos++];
                if (Args[op] is not { } arg)
                {
                    return false;
                }
                var value = ReadArg(arg, out var ok, out var truncated);
                if (truncated)
                {
                    // The argument runs past the head but fits the content: the opcodes so far were valid.
                    return true;
                }
                if (!ok || !Step(op, value))
                {
                    return false;
                }
                if (IsAct(op))
                {
                    return true;
                }
                if (op == (byte)'.')
                {
                    return true;
                }
            }
        }

        /// <summary>
        /// Calls: REDUCE, BUILD, INST, OBJ, NEWOBJ, NEWOBJ_EX. An import alone (GLOBAL, STACK_GLOBAL, EXT) is not enough, or
        /// every text file whose first two lines are words ("cat\ndog\n…") would be a pickle of "at.dog".
        /// </summary>
        private static bool IsAct(byte op) => op is (byte)'R' or (byte)'b' or (byte)'i' or (byte)'o' or 0x81 or 0x92;

        /// <summary>Reads the argument; returns its integer value where one matters (memo keys, lengths).</summary>
        private long ReadArg(Arg arg, out bool ok, out bool truncated)
        {
            ok = true;
            truncated = false;
            switch (arg)
            {
                case Arg.None:
                    return 0;
                case Arg.U1:
                case Arg.U2:
                case Arg.I4:
                case Arg.U8:
                    {
                        var size = arg switch { Arg.U1 => 1, Arg.U2 => 2, Arg.I4 => 4, _ => 8 };
                        if (!Take(size, out var bytes, out truncated))
                        {
                            ok = false;
                            return 0;
                        }
                        return size switch
                        {
                            1 => bytes[0],
                            2 => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
                            4 => BinaryPrimitives.ReadInt32LittleEndian(bytes),
                            _ => (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(bytes), long.MaxValue),
                        };
                    }
                case Arg.Len1:
                case Arg.Len4:
                case Arg.Len8:
                    {
                        var size = arg switch { Arg.Len1 => 1, Arg.Len4 => 4, _ => 8 };
                        if (!Take(size, out var bytes, out truncated))
                        {
                            ok = false;
                            return 0;
                        }
                        var length = size switch
                        {
                            1 => bytes[0],
                            4 => BinaryPrimitives.ReadInt32LittleEndian(bytes),
                            _ => BinaryPrimitives.ReadUInt64LittleEndian(bytes) > long.MaxValue ? -1 : (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes),
                        };
                        if (length < 0 || _pos + length > _total)
                        {
                            ok = false;
                            return 0;
                        }
                        if (_pos + length > _data.Length)
                        {
                            truncated = true;
                            return 0;
                        }
                        _pos += (int)length;
                        return length;
                    }
                case Arg.Line:
                    _line = TakeLine(out ok, out truncated);
                    return 0;
                default:
                    {
                        var module = TakeLine(out ok, out truncated);
                        if (!ok || truncated)
                        {
                            return 0;
                        }
                        var name = TakeLine(out ok, out truncated);
                        ok = ok && (truncated || (IsDottedName(module) && IsDottedName(name)));
                        return 0;
                    }
            }
        }

        private bool Take(int size, out ReadOnlySpan<byte> bytes, out bool truncated)
        {
            truncated = false;
            bytes = default;
            if (_pos + size > _data.Length)
            {
                truncated = _pos + size <= _total;
                return false;
            }
            bytes = _data.Slice(_pos, size);
            _pos += size;
            return true;
        }

        private ReadOnlySpan<byte> TakeLine(out bool ok, out bool truncated)
        {
            truncated = false;
            var end = _data[_pos..].IndexOf((byte)'\n');
            if (end < 0)
            {
                ok = false;
                truncated = _data.Length < _total;
                return default;
            }
            ok = true;
            var line = _data.Slice(_pos, end);
            _pos += end + 1;
            return line;
        }

        /// <summary>Applies the opcode's effect on stack, marks and memo; false on anything the loader rejects.</summary>
        private bool Step(byte op, long arg)
        {
            var line = _line;
            switch (op)
            {
                case (byte)'(':
                    _marks.Add(_depth);
                    return true;
                case (byte)'.':
                    return Pop(1);
                case (byte)'0':
                    if (_depth > Base)
                    {
                        _depth--;
                        return true;
                    }
                    return PopMark(out _);
                case (byte)'1':
                    return PopMark(out _);
                case (byte)'2':
                    return Pop(1) && Push(2);
                case (byte)'I':
                    return IsIntLine(line) && Push(1);
                case (byte)'L':
                    return IsIntLine(line.Length > 0 && line[^1] == 'L' ? line[..^1] : line) && Push(1);
                case (byte)'F':
                    return double.TryParse(System.Text.Encoding.ASCII.GetString(line), System.Globalization.NumberStyles.Float,
                        System.Globalization.CultureInfo.InvariantCulture, out _) && Push(1);
                case (byte)'S':
                    return line.Length >= 2 && (line[0] == '\'' || line[0] == '"') && line[^1] == line[0] && Push(1);
                case (byte)'g':
                    return IsIntLine(line) && long.TryParse(line, out var getKey) && _memo.Contains(getKey) && Push(1);
                case (byte)'p':
                    return IsIntLine(line) && long.TryParse(line, out var putKey) && Put(putKey);
                case (byte)'h':
                case (byte)'j':
                    return _memo.Contains(arg) && Push(1);
                case (byte)'q':
                case (byte)'r':
                    return Put(arg);
                case 0x94:
                    return Put(_memo.Count);
                case (byte)'a':
                case (byte)'s':
                    return Pop(op == 'a' ? 2 : 3) && Push(1);
                case (byte)'b':
                case (byte)'R':
                case 0x81:
                case 0x93:
                    return Pop(2) && Push(1);
                case 0x92:
                    return Pop(3) && Push(1);
                case (byte)'Q':
                case 0x85:
                    return Pop(1) && Push(1);
                case 0x86:
                    return Pop(2) && Push(1);
                case 0x87:
                    return Pop(3) && Push(1);
                case (byte)'d':
                case (byte)'l':
                case (byte)'t':
                case 0x91:
                case (byte)'i':
                    return PopMark(out _) && Push(1);
                case (byte)'o':
                    return PopMark(out var objItems) && objItems >= 1 && Push(1);
                case (byte)'e':
                case (byte)'u':
                case 0x90:
                    return PopMark(out _) && _depth > Base;
                case 0x80:
                    return arg <= 5;
                case 0x82:
                case 0x83:
                case 0x84:
                    return arg > 0 && Push(1);
                case 0x95:
                    return true;
                case 0x97:
                    // NEXT_BUFFER needs out-of-band buffers no model loader passes.
                    return false;
                case 0x98:
                    return Pop(1) && Push(1);
                default:
                    // Every other opcode pushes one value.
                    return Push(1);
            }
        }

        private bool Push(int count)
        {
            _depth += count;
            return true;
        }

        private bool Pop(int count)
        {
            if (_depth - Base < count)
            {
                return false;
            }
            _depth -= count;
            return true;
        }

        private bool PopMark(out int items)
        {
            items = 0;
            if (_marks.Count == 0)
            {
                return false;
            }
            items = _depth - _marks[^1];
            _depth = _marks[^1];
            _marks.RemoveAt(_marks.Count - 1);
            return true;
        }

        private bool Put(long key)
        {
            if (_depth <= Base || key < 0)
            {
                return false;
            }
            _memo.Add(key);
            return true;
        }
    }

    private static bool IsIntLine(ReadOnlySpan<byte> line)
    {
        var trimmed = line.Trim((byte)' ');
        if (trimmed.Length == 0)
        {
            return false;
        }
        var start = trimmed[0] is (byte)'+' or (byte)'-' ? 1 : 0;
        if (start == trimmed.Length)
        {
            return false;
        }
        foreach (var b in trimmed[start..])
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A module or attribute path the loader could import: dotted identifiers.</summary>
    private static bool IsDottedName(ReadOnlySpan<byte> name)
    {
        if (name.Length == 0 || name.Length > 1024)
        {
            return false;
        }
        var atStart = true;
        foreach (var b in name)
        {
            if (b == '.')
            {
                if (atStart)
                {
                    return false;
                }
                atStart = true;
                continue;
            }
            var letter = b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or (byte)'_' or >= 0x80;
            if (!letter && !(b is >= (byte)'0' and <= (byte)'9' && !atStart))
            {
                return false;
            }
            atStart = false;
        }
        return !atStart;
    }

    private static Arg?[] BuildArgs()
    {
        var args = new Arg?[256];
        foreach (var op in "()0123NQRabdelostu}])\u0085\u0086\u0087\u0088\u0089\u0081\u0092\u0093\u0094\u008f\u0090\u0091\u0097\u0098.")
        {
            args[op] = Arg.None;
        }
        foreach (var op in "IFLSVPgpci")
        {
            args[op] = op is 'c' or 'i' ? Arg.TwoLines : Arg.Line;
        }
        args['K'] = Arg.U1;
        args['h'] = Arg.U1;
        args['q'] = Arg.U1;
        args[0x80] = Arg.U1;
        args[0x82] = Arg.U1;
        args['M'] = Arg.U2;
        args[0x83] = Arg.U2;
        args['J'] = Arg.I4;
        args['j'] = Arg.I4;
        args['r'] = Arg.I4;
        args[0x84] = Arg.I4;
        args['G'] = Arg.U8;
        args[0x95] = Arg.U8;
        foreach (var op in "UC\u008c\u008a")
        {
            args[op] = Arg.Len1;
        }
        foreach (var op in "TXB\u008b")
        {
            args[op] = Arg.Len4;
        }
        foreach (var op in "\u008d\u008e\u0096")
        {
            args[op] = Arg.Len8;
        }
        return args;
    }
}
