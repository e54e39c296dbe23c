using System.Buffers.Binary;
using System.Text;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>Pickles and small model files built by hand, byte by byte, so each test shows exactly what it feeds.</summary>
internal static class TestContent
{
    /// <summary>Protocol 0, no PROTO opcode: <c>os.system('echo gatehouse')</c>.</summary>
    public static readonly byte[] OsSystemProtocol0 = Encoding.ASCII.GetBytes("cos\nsystem\n(S'echo gatehouse'\ntR.");

    /// <summary>Protocol 2: <c>os.system('echo gatehouse')</c>.</summary>
    public static readonly byte[] OsSystemProtocol2 =
        [0x80, 0x02, .. "cos\nsystem\n"u8, (byte)'X', 14, 0, 0, 0, .. "echo gatehouse"u8, 0x85, (byte)'R', (byte)'.'];

    /// <summary>Protocol 2: <c>{'a': 1}</c>.</summary>
    public static readonly byte[] BenignDictProtocol2 = [0x80, 0x02, (byte)'}', (byte)'q', 0, (byte)'X', 1, 0, 0, 0, (byte)'a', (byte)'q', 1, (byte)'K', 1, (byte)'s', (byte)'.'];

    /// <summary>Protocol 0: <c>{'a': 1}</c>.</summary>
    public static readonly byte[] BenignDictProtocol0 = Encoding.ASCII.GetBytes("(dp0\nS'a'\np1\nI1\ns.");

    public static async Task<FileReport> ScanAsync(byte[] content, string name, ScanLimits? limits = null)
    {
        using var stream = new MemoryStream(content, writable: false);
        return await new ModelScanner(limits).ScanAsync(stream, name, CancellationToken.None);
    }

    /// <summary>A .npy file: magic, version, a header dict padded to 64 bytes, then the body.</summary>
    public static byte[] Npy(string descr, string shape, byte[] body, int major = 1)
    {
        var dict = $"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}";
        var prefix = major == 1 ? 10 : 12;
        var padded = dict.PadRight((prefix + dict.Length + 1 + 63) / 64 * 64 - prefix - 1) + "\n";
        var header = major == 3 ? Encoding.UTF8.GetBytes(padded) : Encoding.Latin1.GetBytes(padded);
        var lengthField = major == 1 ? BitConverter.GetBytes((ushort)header.Length) : BitConverter.GetBytes((uint)header.Length);
        return [0x93, .. "NUMPY"u8, (byte)major, 0, .. lengthField, .. header, .. body];
    }

    /// <summary>A safetensors file: u64 LE header length, the JSON header (space-padded to 8), the data.</summary>
    public static byte[] Safetensors(string header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var padded = json.Concat(Enumerable.Repeat((byte)' ', (8 - json.Length % 8) % 8)).ToArray();
        return [.. BitConverter.GetBytes((ulong)padded.Length), .. padded, .. data];
    }

    /// <summary>A GGUF v3 file with the given metadata pairs and no tensors.</summary>
    public static byte[] Gguf(params (string Key, GgufValue Value)[] pairs) => Gguf(3, bigEndian: false, pairs);

    public static byte[] Gguf(uint version, bool bigEndian, params (string Key, GgufValue Value)[] pairs)
    {
        var w = new GgufWriter(bigEndian);
        w.Bytes("GGUF"u8);
        w.U32(version);
        w.U64(0);
        w.U64((ulong)pairs.Length);
        foreach (var (key, value) in pairs)
        {
            w.String(key);
            value.Write(w);
        }
        return w.ToArray();
    }

    /// <summary>A GGUF metadata value, written with its type tag.</summary>
    internal abstract record GgufValue
    {
        public abstract void Write(GgufWriter w);

        public static GgufValue Of(string s) => new GgufString(s);

        public static GgufValue Of(uint u) => new GgufUInt32(u);
    }

    internal sealed record GgufString(string Value) : GgufValue
    {
        public override void Write(GgufWriter w)
        {
            w.U32(8);
            w.String(Value);
        }
    }

    internal sealed record GgufUInt32(uint Value) : GgufValue
    {
        public override void Write(GgufWriter w)
        {
            w.U32(4);
            w.U32(Value);
        }
    }

    internal sealed record GgufStringArray(string[] Values) : GgufValue
    {
        public override void Write(GgufWriter w)
        {
            w.U32(9);
            w.U32(8);
            w.U64((ulong)Values.Length);
            foreach (var v in Values)
            {
                w.String(v);
            }
        }
    }

    internal sealed record GgufNestedArray(uint[][] Values) : GgufValue
    {
        public override void Write(GgufWriter w)
        {
            w.U32(9);
            w.U32(9);
            w.U64((ulong)Values.Length);
            foreach (var inner in Values)
            {
                w.U32(4);
                w.U64((ulong)inner.Length);
                foreach (var v in inner)
                {
                    w.U32(v);
                }
            }
        }
    }

    /// <summary>Raw bytes after the type tag, for lying about lengths.</summary>
    internal sealed record GgufRaw(uint Type, byte[] Bytes) : GgufValue
    {
        public override void Write(GgufWriter w)
        {
            w.U32(Type);
            w.Bytes(Bytes);
        }
    }

    internal sealed class GgufWriter(bool bigEndian)
    {
        private readonly MemoryStream _out = new();

        public void Bytes(ReadOnlySpan<byte> bytes) => _out.Write(bytes);

        public void U32(uint v)
        {
            Span<byte> b = stackalloc byte[4];
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt32BigEndian(b, v);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(b, v);
            }
            _out.Write(b);
        }

        public void U64(ulong v)
        {
            Span<byte> b = stackalloc byte[8];
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt64BigEndian(b, v);
            }
            else
            {
                BinaryPrimitives.WriteUInt64LittleEndian(b, v);
            }
            _out.Write(b);
        }

        public void String(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            U64((ulong)bytes.Length);
            Bytes(bytes);
        }

        public byte[] ToArray() => _out.ToArray();
    }
}

/// <summary>Protobuf wire format by hand: enough to write ONNX ModelProtos field by field.</summary>
internal sealed class Proto
{
    private readonly MemoryStream _out = new();

    public Proto Varint(int field, ulong value)
    {
        Tag(field, 0);
        WriteVarint(value);
        return this;
    }

    public Proto Bytes(int field, byte[] value)
    {
        Tag(field, 2);
        WriteVarint((ulong)value.Length);
        _out.Write(value);
        return this;
    }

    public Proto String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public Proto Message(int field, Proto message) => Bytes(field, message.ToArray());

    public byte[] ToArray() => _out.ToArray();

    private void Tag(int field, int wire) => WriteVarint((ulong)(field << 3 | wire));

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _out.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _out.WriteByte((byte)value);
    }

    /// <summary>A ModelProto: ir_version 8, the given opsets, and a graph.</summary>
    public static byte[] Model(Proto graph, params string[] opsetDomains)
    {
        var model = new Proto().Varint(1, 8).String(2, "gatehouse-tests");
        model.Message(7, graph);
        foreach (var domain in opsetDomains.DefaultIfEmpty(""))
        {
            model.Message(8, new Proto().String(1, domain).Varint(2, 17));
        }
        return model.ToArray();
    }

    public static Proto Node(string opType, string domain = "") =>
        new Proto().String(1, "x").String(2, "y").String(4, opType).String(7, domain);

    public static Proto ExternalInitializer(string name, string location) =>
        new Proto().Varint(1, 4).Varint(2, 1).String(8, name)
            .Message(13, new Proto().String(1, "location").String(2, location))
            .Message(13, new Proto().String(1, "offset").String(2, "0"))
            .Varint(14, 1);
}
