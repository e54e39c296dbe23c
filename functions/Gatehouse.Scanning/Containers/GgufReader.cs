using System.Text;
using System.Text.RegularExpressions;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// GGUF (llama.cpp) files: magic <c>GGUF</c>, version 2 or 3 (either byte order), tensor and metadata counts, then the
/// metadata key/value pairs, every type walked by its length (scalars, strings, arrays, arrays of arrays) without
/// reading what is not needed. Weights cannot run code; the chat template can: <c>tokenizer.chat_template</c> (and the
/// named <c>tokenizer.chat_template.&lt;name&gt;</c>) is a Jinja2 template that llama-cpp-python rendered without a
/// sandbox (CVE-2024-34359), so constructs that climb from a template object to Python internals are Dangerous.
/// Ordinary templates (loops over messages, <c>bos_token</c>, <c>raise_exception</c>, <c>namespace(...)</c>) are Safe.
/// </summary>
internal static class GgufReader
{
    /// <summary>Rules with the reason each matters.</summary>
    public static class Rules
    {
        /// <summary>The chat template reaches Python internals: code runs when the template renders (CVE-2024-34359).</summary>
        public const string TemplateInjection = "gguf.chat-template-injection";
        /// <summary>The header or metadata breaks the format: llama.cpp refuses it, and other readers may read it differently.</summary>
        public const string Corrupt = "gguf.corrupt";
    }

    /// <summary>Constructs that have no use in a chat template but to escape the Jinja sandbox; each with why.</summary>
    internal static readonly IReadOnlyList<(Regex Pattern, string Reason)> TemplateRules =
    [
        (Dunder("class"), "reaches the Python class of a template value, the first step of every sandbox escape"),
        (Dunder("mro"), "climbs the class hierarchy to object"),
        (Dunder("base"), "climbs the class hierarchy to object"),
        (Dunder("bases"), "climbs the class hierarchy to object"),
        (Dunder("subclasses"), "lists every loaded class, including subprocess.Popen"),
        (Dunder("globals"), "opens a function's module globals (os, builtins)"),
        (Dunder("builtins"), "opens eval, exec and __import__"),
        (Dunder("init"), "reaches a class initializer, the usual road to __globals__"),
        (Dunder("import"), "imports any module"),
        (Dunder("getattribute"), "reads any attribute by name"),
        (Dunder("code"), "reaches a function's bytecode"),
        (Dunder("dict"), "reads an object's attribute table"),
        (Dunder("reduce(_ex)?"), "reaches pickling hooks that return callables"),
        (new Regex(@"\|\s*attr\s*\(", RegexOptions.Compiled), "reads an attribute by a computed name, hiding dunders from filters"),
        (new Regex(@"\blipsum\b", RegexOptions.Compiled), "a Jinja global whose __globals__ holds os; no chat template needs lorem ipsum"),
        (new Regex(@"\b(cycler|joiner|namespace)\s*\.\s*_", RegexOptions.Compiled), "attributes of a Jinja global's class lead to its module globals"),
        (new Regex(@"\b(cycler|joiner)\s*\.", RegexOptions.Compiled), "attributes of a Jinja global's class lead to its module globals"),
        (new Regex(@"\brequest\s*\.", RegexOptions.Compiled), "the web framework's request object: environment and application internals"),
        (new Regex(@"\bconfig\s*\.", RegexOptions.Compiled), "the web framework's config object, a known route to os through its class"),
        (new Regex(@"\\x5[fF]|\\u005[fF]|\\137|\\N\{LOW LINE\}", RegexOptions.Compiled), "an escaped underscore builds a dunder name that a plain search would miss"),
        (new Regex(@"\b(os|subprocess|posix|builtins|importlib|sys)\s*\.\s*\w+\s*\(", RegexOptions.Compiled), "calls into a module that runs commands"),
        (new Regex(@"\b(popen|eval|exec|getattr|setattr)\s*\(", RegexOptions.Compiled), "calls a function that runs code or commands"),
    ];

    private static Regex Dunder(string name) => new(@"__\s*" + name + @"\s*__", RegexOptions.Compiled);

    public static ReadOnlySpan<byte> Magic => "GGUF"u8;

    /// <summary>More metadata pairs than any model has (real files have dozens).</summary>
    private const ulong MaxPairs = 1_000_000;

    /// <summary>Nesting of arrays in arrays beyond this is refused.</summary>
    private const int MaxArrayDepth = 8;

    /// <summary>Keys are at most 65,535 bytes by the spec.</summary>
    private const ulong MaxKeyBytes = 65_535;

    private enum ValueType : uint
    {
        UInt8 = 0,
        Int8 = 1,
        UInt16 = 2,
        Int16 = 3,
        UInt32 = 4,
        Int32 = 5,
        Float32 = 6,
        Bool = 7,
        String = 8,
        Array = 9,
        UInt64 = 10,
        Int64 = 11,
        Float64 = 12,
    }

    public static void Scan(ScanContext context, Stream stream, string? path)
    {
        var cursor = new ByteCursor(stream, stream.CanSeek ? stream.Length - stream.Position : long.MaxValue);
        if (cursor.ReadUInt32() != 0x46554747)
        {
            throw new ContainerFormatException(Rules.Corrupt, "The GGUF magic is missing.");
        }
        var version = cursor.ReadUInt32();
        if (version is not (2 or 3))
        {
            var swapped = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(version);
            if (swapped is not (2 or 3))
            {
                throw new ContainerFormatException(Rules.Corrupt, $"GGUF version {version} is not one llama.cpp reads (2 or 3).");
            }
            cursor.BigEndian = true;
        }
        cursor.ReadUInt64(); // tensor count: the tensor infos after the metadata hold no code
        var pairs = cursor.ReadUInt64();
        if (pairs > MaxPairs)
        {
            throw new ContainerFormatException(Rules.Corrupt, $"The header claims {pairs:N0} metadata pairs.");
        }
        for (ulong i = 0; i < pairs; i++)
        {
            context.ThrowIfCancelled();
            var keyLength = cursor.ReadUInt64();
            if (keyLength > MaxKeyBytes)
            {
                throw new ContainerFormatException(Rules.Corrupt, $"Metadata key {i} is {keyLength:N0} bytes long.");
            }
            var key = Encoding.UTF8.GetString(cursor.ReadBytes((int)keyLength));
            var type = (ValueType)cursor.ReadUInt32();
            if (IsChatTemplate(key) && type == ValueType.String)
            {
                var length = cursor.ReadUInt64();
                cursor.Require((long)Math.Min(length, long.MaxValue));
                if (length > (ulong)context.Limits.MaxInspectedArgumentBytes)
                {
                    context.Add(ContainerRules.SizeLimit, ScanLevel.Suspicious, $"The chat template '{key}' is {length:N0} bytes, more than is inspected.", path);
                    cursor.Skip((long)length);
                    continue;
                }
                CheckTemplate(context, key, Encoding.UTF8.GetString(cursor.ReadBytes((int)length)), path);
                continue;
            }
            SkipValue(cursor, type, 0);
        }
    }

    /// <summary>Judges one chat template; Safe unless a sandbox-escape construct appears.</summary>
    internal static void CheckTemplate(ScanContext context, string key, string template, string? path)
    {
        foreach (var (pattern, reason) in TemplateRules)
        {
            var match = pattern.Match(template);
            if (match.Success)
            {
                context.Add(new ModelFinding(Rules.TemplateInjection, ScanLevel.Dangerous,
                    $"The chat template '{key}' contains '{match.Value}', which {reason}.", path, match.Index));
            }
        }
    }

    private static bool IsChatTemplate(string key) => key == "tokenizer.chat_template" || key.StartsWith("tokenizer.chat_template.", StringComparison.Ordinal);

    private static void SkipValue(ByteCursor cursor, ValueType type, int depth)
    {
        switch (type)
        {
            case ValueType.UInt8 or ValueType.Int8 or ValueType.Bool:
                cursor.Skip(1);
                break;
            case ValueType.UInt16 or ValueType.Int16:
                cursor.Skip(2);
                break;
            case ValueType.UInt32 or ValueType.Int32 or ValueType.Float32:
                cursor.Skip(4);
                break;
            case ValueType.UInt64 or ValueType.Int64 or ValueType.Float64:
                cursor.Skip(8);
                break;
            case ValueType.String:
                cursor.Skip(CheckedLength(cursor.ReadUInt64()));
                break;
            case ValueType.Array:
                if (depth >= MaxArrayDepth)
                {
                    throw new ContainerFormatException(Rules.Corrupt, $"Arrays nest deeper than {MaxArrayDepth}.");
                }
                var elementType = (ValueType)cursor.ReadUInt32();
                var count = cursor.ReadUInt64();
                var fixedSize = FixedSize(elementType);
                if (fixedSize > 0)
                {
                    // Fixed-size elements are skipped in one step; the product is checked against what is left.
                    var bytes = (UInt128)count * (ulong)fixedSize;
                    cursor.Skip(bytes > long.MaxValue ? -1 : (long)bytes);
                    break;
                }
                if (elementType is not (ValueType.String or ValueType.Array))
                {
                    throw new ContainerFormatException(Rules.Corrupt, $"Array element type {(uint)elementType} is unknown.");
                }
                // Each string or array costs at least 8 bytes, so a count beyond what is left is a lie.
                var minimum = (UInt128)count * 8;
                cursor.Require(minimum > long.MaxValue ? -1 : (long)minimum);
                for (ulong i = 0; i < count; i++)
                {
                    SkipValue(cursor, elementType, depth + 1);
                }
                break;
            default:
                throw new ContainerFormatException(Rules.Corrupt, $"Metadata value type {(uint)type} is unknown.");
        }
    }

    private static int FixedSize(ValueType type) => type switch
    {
        ValueType.UInt8 or ValueType.Int8 or ValueType.Bool => 1,
        ValueType.UInt16 or ValueType.Int16 => 2,
        ValueType.UInt32 or ValueType.Int32 or ValueType.Float32 => 4,
        ValueType.UInt64 or ValueType.Int64 or ValueType.Float64 => 8,
        _ => 0,
    };

    private static long CheckedLength(ulong length) => length > long.MaxValue ? -1 : (long)length;
}
