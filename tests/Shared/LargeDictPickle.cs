using System.Buffers.Binary;
using System.Text;

namespace Gatehouse.Tests.Shared;

/// <summary>
/// The opcode-dense benchmark (issue 3, corpus case B2): <c>pickle.dumps({f"k{i}": (i, float(i), "v") for i in
/// range(n)}, protocol=4)</c>, written byte for byte the way CPython's C pickler writes it (the corpus tests check it
/// against the committed b02-dict-20000.pkl), with its opcode count: 1,400,489 for n = 200,000, as pickletools.genops
/// counts them. Linked into the scanner tests and the benchmarks.
/// </summary>
internal static class LargeDictPickle
{
    public static (byte[] Bytes, long Opcodes) Create(int n)
    {
        const int FrameTarget = 64 * 1024;
        var output = new MemoryStream();
        var frame = new MemoryStream();
        var scratch = new byte[9];
        var opcodes = 0L;

        void Commit(bool force)
        {
            if (frame.Length == 0 || (frame.Length < FrameTarget && !force))
            {
                return;
            }
            if (frame.Length >= 4)
            {
                var header = new byte[9];
                header[0] = 0x95; // FRAME
                BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(1), (ulong)frame.Length);
                output.Write(header);
                opcodes++;
            }
            frame.WriteTo(output);
            frame.SetLength(0);
        }

        var memo = 1; // memo 0 is the dict
        var vIndex = -1;

        void Item(int i)
        {
            var key = Encoding.ASCII.GetBytes($"k{i}");
            frame.WriteByte(0x8C); // SHORT_BINUNICODE
            frame.WriteByte((byte)key.Length);
            frame.Write(key);
            frame.WriteByte(0x94); // MEMOIZE
            opcodes += 2;
            memo++;
            Commit(false);

            if (i < 256)
            {
                frame.WriteByte((byte)'K'); // BININT1
                frame.WriteByte((byte)i);
            }
            else if (i < 65536)
            {
                frame.WriteByte((byte)'M'); // BININT2
                BinaryPrimitives.WriteUInt16LittleEndian(scratch, (ushort)i);
                frame.Write(scratch, 0, 2);
            }
            else
            {
                frame.WriteByte((byte)'J'); // BININT
                BinaryPrimitives.WriteInt32LittleEndian(scratch, i);
                frame.Write(scratch, 0, 4);
            }
            opcodes++;
            Commit(false);

            frame.WriteByte((byte)'G'); // BINFLOAT, big-endian
            BinaryPrimitives.WriteDoubleBigEndian(scratch, i);
            frame.Write(scratch, 0, 8);
            opcodes++;
            Commit(false);

            if (vIndex < 0)
            {
                frame.Write([0x8C, 1, (byte)'v', 0x94]); // SHORT_BINUNICODE "v", MEMOIZE
                opcodes += 2;
                vIndex = memo++;
                Commit(false);
            }
            else if (vIndex < 256)
            {
                frame.Write([(byte)'h', (byte)vIndex]); // BINGET: a memo hit, no frame check
                opcodes++;
            }
            else
            {
                frame.WriteByte((byte)'j'); // LONG_BINGET
                BinaryPrimitives.WriteInt32LittleEndian(scratch, vIndex);
                frame.Write(scratch, 0, 4);
                opcodes++;
            }

            frame.Write([0x87, 0x94]); // TUPLE3, MEMOIZE
            opcodes += 2;
            memo++;
            Commit(false);
        }

        output.Write([0x80, 4]); // PROTO 4
        frame.Write([(byte)'}', 0x94]); // EMPTY_DICT, MEMOIZE
        opcodes += 3;
        if (n == 1)
        {
            Item(0);
            frame.WriteByte((byte)'s'); // SETITEM
            opcodes++;
        }
        else if (n > 1)
        {
            var i = 0;
            while (true)
            {
                frame.WriteByte((byte)'('); // MARK
                opcodes++;
                var count = 0;
                for (; i < n && count < 1000; i++, count++)
                {
                    Item(i);
                }
                frame.WriteByte((byte)'u'); // SETITEMS
                opcodes++;
                if (count != 1000)
                {
                    break;
                }
            }
        }
        frame.WriteByte((byte)'.'); // STOP
        opcodes++;
        Commit(true);
        return (output.ToArray(), opcodes);
    }
}
