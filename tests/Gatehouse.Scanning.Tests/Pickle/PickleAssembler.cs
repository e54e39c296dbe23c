using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Gatehouse.Scanning.Tests.Pickle;

/// <summary>
/// A tiny test-only pickle writer: one method per opcode, so that every corpus case reads like the opcode listing
/// pickletools would print for it.
/// </summary>
internal sealed class PickleAssembler
{
    private readonly MemoryStream _out = new();

    public long Length => _out.Length;

    public long OpcodeCount { get; private set; }

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    public static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    public byte[] ToArray() => _out.ToArray();

    public PickleAssembler Raw(ReadOnlySpan<byte> bytes)
    {
        _out.Write(bytes);
        return this;
    }

    public PickleAssembler Raw(string latin1) => Raw(Latin1(latin1));

    public PickleAssembler Op(byte op)
    {
        OpcodeCount++;
        _out.WriteByte(op);
        return this;
    }

    private PickleAssembler Op(byte op, ReadOnlySpan<byte> argument)
    {
        Op(op);
        _out.Write(argument);
        return this;
    }

    public PickleAssembler Proto(int protocol) => Op(0x80, [(byte)protocol]);

    public PickleAssembler Frame(long length)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, length);
        return Op(0x95, b);
    }

    public PickleAssembler Stop() => Op((byte)'.');

    public PickleAssembler Mark() => Op((byte)'(');

    public PickleAssembler Pop() => Op((byte)'0');

    public PickleAssembler PopMark() => Op((byte)'1');

    public PickleAssembler Dup() => Op((byte)'2');

    public PickleAssembler None() => Op((byte)'N');

    public PickleAssembler True() => Op(0x88);

    public PickleAssembler False() => Op(0x89);

    public PickleAssembler Int(long value)
    {
        Span<byte> b = stackalloc byte[4];
        switch (value)
        {
            case >= 0 and < 256:
                return Op((byte)'K', [(byte)value]);
            case >= 0 and < 65536:
                BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)value);
                return Op((byte)'M', b[..2]);
            case >= int.MinValue and <= int.MaxValue:
                BinaryPrimitives.WriteInt32LittleEndian(b, (int)value);
                return Op((byte)'J', b);
            default:
                return Long1(value);
        }
    }

    public PickleAssembler Long1(BigInteger value)
    {
        var bytes = value.IsZero ? [] : value.ToByteArray(isUnsigned: false, isBigEndian: false);
        Op(0x8A, [(byte)bytes.Length]);
        return Raw(bytes);
    }

    /// <summary>Protocol 0 INT: the decimal text and a newline.</summary>
    public PickleAssembler TextInt(string text) => Op((byte)'I', Latin1(text + "\n"));

    public PickleAssembler Float(double value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(b, value);
        return Op((byte)'G', b);
    }

    /// <summary>SHORT_BINUNICODE or BINUNICODE, as the pickler chooses by length.</summary>
    public PickleAssembler Unicode(string text)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        if (utf8.Length < 256)
        {
            Op(0x8C, [(byte)utf8.Length]);
        }
        else
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)utf8.Length);
            Op((byte)'X', b);
        }
        return Raw(utf8);
    }

    /// <summary>BINUNICODE (protocol 1+), the opcode torch's protocol-2 pickles use for str.</summary>
    public PickleAssembler BinUnicode(string text)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)utf8.Length);
        Op((byte)'X', b);
        return Raw(utf8);
    }

    /// <summary>Protocol 0 STRING: a quoted, escaped line.</summary>
    public PickleAssembler String(string text) => Op((byte)'S', Latin1($"'{text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}'\n"));

    /// <summary>Protocol 0 UNICODE: raw-unicode-escape text and a newline.</summary>
    public PickleAssembler TextUnicode(string text) => Op((byte)'V', Latin1(text + "\n"));

    public PickleAssembler ShortBinString(string text)
    {
        var bytes = Latin1(text);
        Op((byte)'U', [(byte)bytes.Length]);
        return Raw(bytes);
    }

    public PickleAssembler Bytes(ReadOnlySpan<byte> content)
    {
        if (content.Length < 256)
        {
            Op((byte)'C', [(byte)content.Length]);
        }
        else
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)content.Length);
            Op((byte)'B', b);
        }
        return Raw(content);
    }

    /// <summary>BINBYTES8 declaring <paramref name="claimed"/> bytes, followed by only <paramref name="content"/>.</summary>
    public PickleAssembler BinBytes8(ulong claimed, ReadOnlySpan<byte> content)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, claimed);
        Op(0x8E, b);
        return Raw(content);
    }

    public PickleAssembler BinUnicode8(ulong claimed, ReadOnlySpan<byte> content)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, claimed);
        Op(0x8D, b);
        return Raw(content);
    }

    public PickleAssembler Global(string module, string name) => Op((byte)'c', Latin1($"{module}\n{name}\n"));

    public PickleAssembler Inst(string module, string name) => Op((byte)'i', Latin1($"{module}\n{name}\n"));

    public PickleAssembler StackGlobal() => Op(0x93);

    /// <summary>Pushes module and name strings and STACK_GLOBAL, as protocol 4+ writes a global.</summary>
    public PickleAssembler StackGlobal(string module, string name) => Unicode(module).Unicode(name).StackGlobal();

    public PickleAssembler Ext1(byte code) => Op(0x82, [code]);

    public PickleAssembler Ext2(ushort code)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, code);
        return Op(0x83, b);
    }

    public PickleAssembler Ext4(int code)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, code);
        return Op(0x84, b);
    }

    public PickleAssembler Reduce() => Op((byte)'R');

    public PickleAssembler Build() => Op((byte)'b');

    public PickleAssembler NewObj() => Op(0x81);

    public PickleAssembler NewObjEx() => Op(0x92);

    public PickleAssembler Obj() => Op((byte)'o');

    public PickleAssembler Tuple() => Op((byte)'t');

    public PickleAssembler EmptyTuple() => Op((byte)')');

    public PickleAssembler Tuple1() => Op(0x85);

    public PickleAssembler Tuple2() => Op(0x86);

    public PickleAssembler Tuple3() => Op(0x87);

    public PickleAssembler EmptyList() => Op((byte)']');

    public PickleAssembler List() => Op((byte)'l');

    public PickleAssembler Append() => Op((byte)'a');

    public PickleAssembler Appends() => Op((byte)'e');

    public PickleAssembler EmptyDict() => Op((byte)'}');

    public PickleAssembler Dict() => Op((byte)'d');

    public PickleAssembler SetItem() => Op((byte)'s');

    public PickleAssembler SetItems() => Op((byte)'u');

    public PickleAssembler EmptySet() => Op(0x8F);

    public PickleAssembler AddItems() => Op(0x90);

    public PickleAssembler Memoize() => Op(0x94);

    public PickleAssembler BinPut(byte index) => Op((byte)'q', [index]);

    public PickleAssembler LongBinPut(uint index)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, index);
        return Op((byte)'r', b);
    }

    public PickleAssembler BinGet(byte index) => Op((byte)'h', [index]);

    public PickleAssembler LongBinGet(uint index)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, index);
        return Op((byte)'j', b);
    }

    public PickleAssembler Put(int index) => Op((byte)'p', Latin1($"{index}\n"));

    public PickleAssembler Get(int index) => Op((byte)'g', Latin1($"{index}\n"));

    public PickleAssembler BinPersId() => Op((byte)'Q');

    /// <summary>A whole pickle: <c>callable(arg)</c> via GLOBAL + STRING + TUPLE1 + REDUCE, protocol 2.</summary>
    public static byte[] CallPickle(string module, string name, string argument, int protocol = 2) =>
        new PickleAssembler().Proto(protocol).Global(module, name).BinUnicode(argument).Tuple1().Reduce().Stop().ToArray();
}
