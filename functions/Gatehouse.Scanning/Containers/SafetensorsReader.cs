using System.Buffers.Binary;
using System.Text.Json;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// safetensors cannot run code, so the only risk is a header that readers disagree on or that makes them allocate or
/// index wrongly. The header is validated exactly as the reference implementation does
/// (<c>huggingface/safetensors</c> <c>SafeTensors::read_metadata</c> and <c>Metadata::validate</c>): a u64 LE length of
/// at most 100,000,000; UTF-8 JSON; an object whose <c>__metadata__</c> maps strings to strings and whose other keys
/// are tensors with a known <c>dtype</c>, a <c>shape</c> of unsigned ints and two <c>data_offsets</c>; sorted by
/// offsets the tensors tile the data from 0 with no gap or overlap, each exactly dtype bits × elements long, with no
/// overflow; and the last offset ends the file. Every violation is Invalid. Metadata values are free text (license
/// and base-model URLs are normal). One stricter rule: a key repeated in the header is Invalid, since JSON readers
/// disagree on which copy wins.
/// </summary>
internal static class SafetensorsReader
{
    /// <summary>Rules, named after the reference implementation's errors; each means a loader refuses or misreads the file.</summary>
    public static class Rules
    {
        /// <summary>Fewer than the 8 bytes of the length prefix (HeaderTooSmall).</summary>
        public const string HeaderTooSmall = "safetensors.header-too-small";
        /// <summary>A header over 100,000,000 bytes (HeaderTooLarge): the reference refuses to allocate it.</summary>
        public const string HeaderTooLarge = "safetensors.header-too-large";
        /// <summary>The header runs past the end of the file (InvalidHeaderLength).</summary>
        public const string HeaderLength = "safetensors.header-length";
        /// <summary>The header is not UTF-8 (InvalidHeader).</summary>
        public const string HeaderEncoding = "safetensors.header-utf8";
        /// <summary>The header is not the JSON the reference deserializes (InvalidHeaderDeserialization).</summary>
        public const string HeaderJson = "safetensors.header-json";
        /// <summary>A key appears twice: readers disagree on which tensor or metadata value is meant.</summary>
        public const string DuplicateKey = "safetensors.duplicate-key";
        /// <summary>Offsets that leave a gap, overlap, or run backwards (InvalidOffset).</summary>
        public const string InvalidOffset = "safetensors.invalid-offset";
        /// <summary>Shape × dtype overflows (ValidationOverflow): a reader that does not check allocates too little.</summary>
        public const string Overflow = "safetensors.overflow";
        /// <summary>Sub-byte dtypes that do not end on a byte boundary (MisalignedSlice).</summary>
        public const string Misaligned = "safetensors.misaligned";
        /// <summary>The byte range does not match shape × dtype (TensorInvalidInfo).</summary>
        public const string TensorInfo = "safetensors.tensor-info";
        /// <summary>The data offsets do not end exactly at the end of the file (MetadataIncompleteBuffer): hidden bytes.</summary>
        public const string IncompleteBuffer = "safetensors.incomplete-buffer";
    }

    public const long MaxHeaderSize = 100_000_000;

    /// <summary>The reference's dtypes and their sizes in bits.</summary>
    private static readonly Dictionary<string, int> DtypeBits = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 8,
        ["F4"] = 4,
        ["F6_E2M3"] = 6,
        ["F6_E3M2"] = 6,
        ["U8"] = 8,
        ["I8"] = 8,
        ["F8_E5M2"] = 8,
        ["F8_E4M3"] = 8,
        ["F8_E8M0"] = 8,
        ["I16"] = 16,
        ["U16"] = 16,
        ["F16"] = 16,
        ["BF16"] = 16,
        ["I32"] = 32,
        ["U32"] = 32,
        ["F32"] = 32,
        ["C64"] = 64,
        ["F64"] = 64,
        ["I64"] = 64,
        ["U64"] = 64,
    };

    /// <summary>
    /// True when the bytes start like a safetensors file: a binary length (below 2^61, so its top bytes are not text),
    /// then JSON (an object, or an array the reference then refuses). Lengths the reference refuses still count, so that
    /// such a file is judged, not ignored.
    /// </summary>
    public static bool LooksLike(ReadOnlySpan<byte> head)
    {
        if (head.Length < 10)
        {
            return false;
        }
        var n = BinaryPrimitives.ReadUInt64LittleEndian(head);
        var binary = false;
        foreach (var b in head[..8])
        {
            binary |= b < 0x09;
        }
        if (n < 2 || head[7] > 0x10 || !binary)
        {
            return false;
        }
        var rest = head[8..];
        var i = 0;
        while (i < rest.Length && rest[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            i++;
        }
        return i < rest.Length && rest[i] is (byte)'{' or (byte)'[';
    }

    /// <summary>
    /// True when the header length is one the reference refuses before reading anything (over
    /// <see cref="MaxHeaderSize"/>, or past the end of the file): whatever else the bytes are, they are no safetensors file.
    /// </summary>
    public static bool RefusedLength(ReadOnlySpan<byte> head, long? total)
    {
        var n = BinaryPrimitives.ReadUInt64LittleEndian(head);
        return n > MaxHeaderSize || (total is { } t && (long)n > t - 8);
    }

    internal sealed record TensorEntry(string Name, string Dtype, ulong[] Shape, ulong Start, ulong End);

    public static void Scan(ScanContext context, Stream stream, string? path)
    {
        var findings = Validate(stream, out _);
        foreach (var (rule, message) in findings)
        {
            context.Add(rule, ScanLevel.Invalid, message, path);
        }
    }

    /// <summary>Returns the reference's verdict as (rule, message) pairs: empty when the file is valid.</summary>
    internal static List<(string Rule, string Message)> Validate(Stream stream, out List<TensorEntry> tensors)
    {
        tensors = [];
        Span<byte> prefix = stackalloc byte[8];
        if (ScanContext.ReadAtMost(stream, prefix) < 8)
        {
            return [(Rules.HeaderTooSmall, "The file is shorter than the 8-byte header length.")];
        }
        var n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderSize)
        {
            return [(Rules.HeaderTooLarge, $"The header claims {n:N0} bytes; the reference refuses more than {MaxHeaderSize:N0}.")];
        }
        // Checked against what is there before anything is allocated: a 16-byte file may claim 100 MB.
        if (stream.CanSeek && (long)n > stream.Length - stream.Position)
        {
            return [(Rules.HeaderLength, $"The header claims {n:N0} bytes but the file ends first.")];
        }
        var header = ReadHeaderBytes(stream, (int)n);
        if (header is null)
        {
            return [(Rules.HeaderLength, $"The header claims {n:N0} bytes but the file ends first.")];
        }
        if (!System.Text.Unicode.Utf8.IsValid(header))
        {
            return [(Rules.HeaderEncoding, "The header is not valid UTF-8.")];
        }
        try
        {
            (_, tensors) = ParseHeader(header);
        }
        catch (HeaderException e)
        {
            return [(e.Rule, e.Message)];
        }
        catch (JsonException e)
        {
            return [(Rules.HeaderJson, $"The header is not valid JSON: {e.Message}")];
        }
        var dataLength = MeasureRest(stream, 8 + (long)n);
        var problem = ValidateOffsets(tensors, out var bufferEnd);
        if (problem is not null)
        {
            return [problem.Value];
        }
        if ((ulong)dataLength != bufferEnd)
        {
            return [(Rules.IncompleteBuffer, $"The tensors end at data offset {bufferEnd:N0} but the file holds {dataLength:N0} data bytes.")];
        }
        return [];
    }

    /// <summary>Metadata::validate: sorted by offsets, contiguous from 0, each exactly as long as its shape and dtype.</summary>
    private static (string, string)? ValidateOffsets(List<TensorEntry> tensors, out ulong end)
    {
        tensors.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.End.CompareTo(b.End));
        ulong start = 0;
        end = 0;
        foreach (var tensor in tensors)
        {
            if (tensor.Start != start || tensor.End < tensor.Start)
            {
                return (Rules.InvalidOffset, $"Tensor '{tensor.Name}' spans [{tensor.Start}, {tensor.End}) where the previous one ended at {start}: a gap, an overlap or a backwards range.");
            }
            start = tensor.End;
            ulong elements = 1;
            foreach (var dim in tensor.Shape)
            {
                var product = (UInt128)elements * dim;
                if (product > ulong.MaxValue)
                {
                    return (Rules.Overflow, $"Tensor '{tensor.Name}': its shape overflows 64 bits.");
                }
                elements = (ulong)product;
            }
            var bits = (UInt128)elements * (ulong)DtypeBits[tensor.Dtype];
            if (bits > ulong.MaxValue)
            {
                return (Rules.Overflow, $"Tensor '{tensor.Name}': shape × dtype overflows 64 bits.");
            }
            if (bits % 8 != 0)
            {
                return (Rules.Misaligned, $"Tensor '{tensor.Name}': {bits} bits do not end on a byte boundary.");
            }
            if (tensor.End - tensor.Start != (ulong)(bits / 8))
            {
                return (Rules.TensorInfo, $"Tensor '{tensor.Name}' has {tensor.End - tensor.Start:N0} bytes but {tensor.Dtype} × {string.Join('x', tensor.Shape)} needs {bits / 8:N0}.");
            }
        }
        end = start;
        return null;
    }

    /// <summary>The header as serde deserializes it, plus a refusal of repeated keys.</summary>
    private static (Dictionary<string, string>? Metadata, List<TensorEntry> Tensors) ParseHeader(byte[] header)
    {
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
        Expect(ref reader, JsonTokenType.StartObject, "The header is not a JSON object.");
        Dictionary<string, string>? metadata = null;
        var tensors = new List<TensorEntry>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            if (!keys.Add(key))
            {
                throw new HeaderException(Rules.DuplicateKey, $"The key '{key}' appears twice in the header.");
            }
            if (key == "__metadata__")
            {
                metadata = ParseMetadata(ref reader);
            }
            else
            {
                tensors.Add(ParseTensor(ref reader, key));
            }
        }
        if (reader.Read())
        {
            throw new HeaderException(Rules.HeaderJson, "Data follows the header object.");
        }
        return (metadata, tensors);
    }

    private static Dictionary<string, string>? ParseMetadata(ref Utf8JsonReader reader)
    {
        var token = Next(ref reader);
        if (token == JsonTokenType.Null)
        {
            return null;
        }
        if (token != JsonTokenType.StartObject)
        {
            throw new HeaderException(Rules.HeaderJson, "__metadata__ is not an object of strings.");
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            if (Next(ref reader) != JsonTokenType.String)
            {
                throw new HeaderException(Rules.HeaderJson, $"__metadata__['{key}'] is not a string; the reference accepts only string values.");
            }
            if (!metadata.TryAdd(key, reader.GetString()!))
            {
                throw new HeaderException(Rules.DuplicateKey, $"__metadata__ has the key '{key}' twice.");
            }
        }
        return metadata;
    }

    private static TensorEntry ParseTensor(ref Utf8JsonReader reader, string name)
    {
        if (Next(ref reader) != JsonTokenType.StartObject)
        {
            throw new HeaderException(Rules.HeaderJson, $"Tensor '{name}' is not an object.");
        }
        string? dtype = null;
        ulong[]? shape = null;
        ulong[]? offsets = null;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var field = reader.GetString()!;
            switch (field)
            {
                case "dtype":
                    if (dtype is not null)
                    {
                        throw new HeaderException(Rules.DuplicateKey, $"Tensor '{name}' has dtype twice.");
                    }
                    if (Next(ref reader) != JsonTokenType.String || !DtypeBits.ContainsKey(reader.GetString()!))
                    {
                        throw new HeaderException(Rules.HeaderJson, $"Tensor '{name}' has a dtype the reference does not know.");
                    }
                    dtype = reader.GetString()!;
                    break;
                case "shape":
                    if (shape is not null)
                    {
                        throw new HeaderException(Rules.DuplicateKey, $"Tensor '{name}' has shape twice.");
                    }
                    shape = ReadUnsignedArray(ref reader, name, "shape");
                    break;
                case "data_offsets":
                    if (offsets is not null)
                    {
                        throw new HeaderException(Rules.DuplicateKey, $"Tensor '{name}' has data_offsets twice.");
                    }
                    offsets = ReadUnsignedArray(ref reader, name, "data_offsets");
                    if (offsets.Length != 2)
                    {
                        throw new HeaderException(Rules.HeaderJson, $"Tensor '{name}' has {offsets.Length} data_offsets, not 2.");
                    }
                    break;
                default:
                    // serde ignores fields it does not know.
                    reader.Read();
                    reader.Skip();
                    break;
            }
        }
        if (dtype is null || shape is null || offsets is null)
        {
            throw new HeaderException(Rules.HeaderJson, $"Tensor '{name}' lacks dtype, shape or data_offsets.");
        }
        return new TensorEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static ulong[] ReadUnsignedArray(ref Utf8JsonReader reader, string name, string field)
    {
        if (Next(ref reader) != JsonTokenType.StartArray)
        {
            throw new HeaderException(Rules.HeaderJson, $"Tensor '{name}': {field} is not an array.");
        }
        var values = new List<ulong>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt64(out var value))
            {
                throw new HeaderException(Rules.HeaderJson, $"Tensor '{name}': {field} holds something other than unsigned integers.");
            }
            if (values.Count >= 1024)
            {
                throw new HeaderException(Rules.HeaderJson, $"Tensor '{name}': {field} has more than 1024 entries.");
            }
            values.Add(value);
        }
        return values.ToArray();
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new HeaderException(Rules.HeaderJson, "The header JSON ends early.");
        }
        return reader.TokenType;
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string message)
    {
        if (Next(ref reader) != type)
        {
            throw new HeaderException(Rules.HeaderJson, message);
        }
    }

    /// <summary>The header bytes, grown as they arrive (a forward-only stream cannot tell its length up front); null if the content ends first.</summary>
    private static byte[]? ReadHeaderBytes(Stream stream, int length)
    {
        if (stream.CanSeek)
        {
            var exact = new byte[length];
            return ScanContext.ReadAtMost(stream, exact) == length ? exact : null;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        while (buffer.Length < length)
        {
            var n = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, length - buffer.Length));
            if (n == 0)
            {
                return null;
            }
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    /// <summary>The data bytes after the header: from the length when the stream can tell, else by reading through.</summary>
    private static long MeasureRest(Stream stream, long headerEnd)
    {
        if (stream.CanSeek)
        {
            return stream.Length - headerEnd;
        }
        var buffer = new byte[81920];
        long total = 0;
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            total += n;
        }
        return total;
    }

    private sealed class HeaderException(string rule, string message) : Exception(message)
    {
        public string Rule { get; } = rule;
    }
}
