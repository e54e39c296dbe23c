using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// NumPy <c>.npy</c> files as <c>np.load</c> reads them: magic <c>\x93NUMPY</c>, version 1.0/2.0/3.0, a header that
/// is a Python dict literal (<c>descr</c>, <c>fortran_order</c>, <c>shape</c>), then the body. When the dtype has an
/// object anywhere (<c>|O</c>, a structured dtype with an object field, a subarray of objects) the body is a pickle and
/// is scanned; otherwise it is raw numbers and inert. <c>.npz</c> is a zip whose members <see cref="TorchZipReader"/>
/// sniffs for the magic regardless of their names.
/// </summary>
internal static class NpyReader
{
    /// <summary>Rules with the reason each matters.</summary>
    public static class Rules
    {
        /// <summary>A header np.load rejects: the file does not load, and a scanner that guesses may guess wrong.</summary>
        public const string BadHeader = "npy.bad-header";
        /// <summary>A dtype string the scanner cannot prove object-free: its body might be a pickle.</summary>
        public const string UnknownDtype = "npy.unknown-dtype";
    }

    public static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>np.load refuses larger headers unless pickles are allowed; when they are, the header is trusted at any size.</summary>
    private const int MaxHeaderBytes = 16 * 1024 * 1024;

    /// <summary>Reads the header from <paramref name="stream"/> and pickle-scans the body when the dtype holds objects.</summary>
    /// <param name="depth">How many containers enclose the file, for the pickle engine's nesting limit.</param>
    public static void Scan(ScanContext context, Stream stream, string? path, int depth)
    {
        Span<byte> prefix = stackalloc byte[12];
        if (ScanContext.ReadAtMost(stream, prefix[..8]) != 8 || !prefix[..6].SequenceEqual(Magic))
        {
            throw new ContainerFormatException(Rules.BadHeader, "The .npy magic is missing or truncated.");
        }
        var major = prefix[6];
        int headerLength;
        if (major == 1)
        {
            ReadExactly(stream, prefix[8..10]);
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]);
        }
        else if (major is 2 or 3)
        {
            ReadExactly(stream, prefix[8..12]);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
            if (length > MaxHeaderBytes)
            {
                throw new ScanLimitException(ContainerRules.SizeLimit, $"The .npy header claims {length:N0} bytes; more than {MaxHeaderBytes:N0} was not read.", path);
            }
            headerLength = (int)length;
        }
        else
        {
            throw new ContainerFormatException(Rules.BadHeader, $"Format version {major}.{prefix[7]} is not one np.load reads.");
        }
        var headerBytes = new byte[headerLength];
        ReadExactly(stream, headerBytes);
        // Versions 1 and 2 are latin-1, version 3 is UTF-8.
        var text = major == 3 ? Encoding.UTF8.GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);
        var header = ParseHeader(text);
        if (HasObject(header.Descr))
        {
            // np.load(allow_pickle=True) runs pickle.load on the rest of the file.
            context.AddRange(context.Pickles.Scan(stream, path, depth, "np.load(allow_pickle=True)"));
        }
    }

    /// <summary>The three keys np.load requires, and no others.</summary>
    internal sealed record Header(object Descr, bool FortranOrder, IReadOnlyList<long> Shape);

    internal static Header ParseHeader(string text)
    {
        object? parsed;
        try
        {
            parsed = PythonLiteral.Parse(StripLongSuffixes(text));
        }
        catch (FormatException e)
        {
            throw new ContainerFormatException(Rules.BadHeader, $"The header is not a Python literal: {e.Message}");
        }
        if (parsed is not Dictionary<object, object?> dict)
        {
            throw new ContainerFormatException(Rules.BadHeader, "The header is not a dict.");
        }
        if (dict.Count != 3 || !dict.ContainsKey("descr") || !dict.ContainsKey("fortran_order") || !dict.ContainsKey("shape"))
        {
            throw new ContainerFormatException(Rules.BadHeader, "The header must have exactly the keys descr, fortran_order and shape.");
        }
        if (dict["fortran_order"] is not bool fortran)
        {
            throw new ContainerFormatException(Rules.BadHeader, "fortran_order is not a bool.");
        }
        if (dict["shape"] is not PythonLiteral.Tuple shapeTuple || shapeTuple.Items.Any(d => d is not long))
        {
            throw new ContainerFormatException(Rules.BadHeader, "shape is not a tuple of ints.");
        }
        var descr = dict["descr"] ?? throw new ContainerFormatException(Rules.BadHeader, "descr is None.");
        return new Header(descr, fortran, shapeTuple.Items.Cast<long>().ToList());
    }

    /// <summary>
    /// numpy's <c>descr_to_dtype</c>, reduced to the one question that matters: does any field hold Python objects?
    /// A string is a dtype string; a tuple is (dtype, shape); a list is fields of (name, dtype) or (name, dtype, shape).
    /// </summary>
    internal static bool HasObject(object descr, int depth = 0)
    {
        if (depth > 64)
        {
            throw new ContainerFormatException(Rules.BadHeader, "descr nests deeper than any dtype numpy builds.");
        }
        switch (descr)
        {
            case string dtype:
                return DtypeStringHasObject(dtype);
            case PythonLiteral.Tuple { Items.Count: 2 } subarray:
                return HasObject(subarray.Items[0] ?? throw Bad("a subarray dtype is None"), depth + 1);
            case List<object?> fields:
                foreach (var field in fields)
                {
                    var items = field switch
                    {
                        PythonLiteral.Tuple t => t.Items,
                        List<object?> l => l,
                        _ => throw Bad("a field is not a tuple"),
                    };
                    if (items.Count is not (2 or 3) || items[0] is not (string or PythonLiteral.Tuple))
                    {
                        throw Bad("a field is not (name, dtype) or (name, dtype, shape)");
                    }
                    if (HasObject(items[1] ?? throw Bad("a field dtype is None"), depth + 1))
                    {
                        return true;
                    }
                }
                return false;
            default:
                throw Bad($"descr is a {descr.GetType().Name}");
        }
    }

    /// <summary>Kinds and names numpy accepts in a dtype string; each entry is object-free unless marked.</summary>
    private static readonly Dictionary<string, bool> NamedTypes = new(StringComparer.Ordinal)
    {
        ["O"] = true,
        ["object"] = true,
        ["object_"] = true,
        ["bool"] = false,
        ["bool_"] = false,
        ["b1"] = false,
        ["int8"] = false,
        ["int16"] = false,
        ["int32"] = false,
        ["int64"] = false,
        ["int"] = false,
        ["intp"] = false,
        ["intc"] = false,
        ["uint8"] = false,
        ["uint16"] = false,
        ["uint32"] = false,
        ["uint64"] = false,
        ["uint"] = false,
        ["uintp"] = false,
        ["uintc"] = false,
        ["float16"] = false,
        ["float32"] = false,
        ["float64"] = false,
        ["float96"] = false,
        ["float128"] = false,
        ["float"] = false,
        ["complex64"] = false,
        ["complex128"] = false,
        ["complex192"] = false,
        ["complex256"] = false,
        ["complex"] = false,
        ["half"] = false,
        ["single"] = false,
        ["double"] = false,
        ["longdouble"] = false,
        ["byte"] = false,
        ["ubyte"] = false,
        ["short"] = false,
        ["ushort"] = false,
        ["long"] = false,
        ["ulong"] = false,
        ["longlong"] = false,
        ["ulonglong"] = false,
        ["csingle"] = false,
        ["cdouble"] = false,
        ["clongdouble"] = false,
        ["str"] = false,
        ["str_"] = false,
        ["unicode"] = false,
        ["bytes"] = false,
        ["bytes_"] = false,
        ["void"] = false,
        ["datetime64"] = false,
        ["timedelta64"] = false,
    };

    /// <summary>
    /// A dtype string: comma-separated fields (<c>"i4, O"</c> is structured), each with an optional byte order, an
    /// optional subarray shape prefix <c>(2,3)</c>, then a kind with a size (<c>&lt;f4</c>, <c>|O8</c>, <c>S10</c>,
    /// <c>&lt;M8[ns]</c>) or a type name. Anything else fails closed.
    /// </summary>
    private static bool DtypeStringHasObject(string dtype)
    {
        var any = false;
        foreach (var raw in SplitFields(dtype))
        {
            var field = raw.Trim();
            if (field.Length > 0 && field[0] == '(')
            {
                var close = field.IndexOf(')');
                if (close < 0)
                {
                    throw Unknown(dtype);
                }
                field = field[(close + 1)..].Trim();
            }
            if (field.Length > 0 && field[0] is '<' or '>' or '|' or '=')
            {
                field = field[1..];
            }
            if (field.Length == 0)
            {
                throw Unknown(dtype);
            }
            if (NamedTypes.TryGetValue(field, out var isObject) || NamedTypes.TryGetValue(StripUnit(field), out isObject))
            {
                any |= isObject;
                continue;
            }
            var kind = field[0];
            var rest = StripUnit(field[1..]);
            if (!rest.All(char.IsAsciiDigit))
            {
                throw Unknown(dtype);
            }
            any |= kind switch
            {
                'O' => true,
                'b' or 'i' or 'u' or 'f' or 'c' or 'S' or 'a' or 'U' or 'V' or 'm' or 'M' or '?' or 'e' or 'd' or 'g' or 'h' or 'l' or 'q'
                    or 'B' or 'H' or 'I' or 'L' or 'Q' or 'F' or 'D' or 'G' or 'p' or 'P' => false,
                _ => throw Unknown(dtype),
            };
        }
        return any;
    }

    /// <summary>Splits at commas outside a subarray shape: <c>"(2,3)i4, O"</c> is two fields.</summary>
    private static IEnumerable<string> SplitFields(string dtype)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < dtype.Length; i++)
        {
            depth += dtype[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (dtype[i] == ',' && depth == 0)
            {
                yield return dtype[start..i];
                start = i + 1;
            }
        }
        yield return dtype[start..];
    }

    /// <summary>Datetime units: <c>M8[ns]</c>, <c>datetime64[D]</c>.</summary>
    private static string StripUnit(string field)
    {
        var open = field.IndexOf('[');
        return open >= 0 && field.EndsWith(']') && field[(open + 1)..^1].All(char.IsAsciiLetterOrDigit) ? field[..open] : field;
    }

    private static ContainerFormatException Unknown(string dtype) =>
        new(Rules.UnknownDtype, $"dtype '{dtype}' is not one the scanner can prove free of objects; its body could be a pickle.");

    private static ContainerFormatException Bad(string what) => new(Rules.BadHeader, $"descr is malformed: {what}.");

    /// <summary>numpy filters headers written by Python 2, whose ints carry an 'L' suffix (<c>(3L, 4L)</c>).</summary>
    private static string StripLongSuffixes(string text)
    {
        var builder = new StringBuilder(text.Length);
        var quote = '\0';
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote != '\0')
            {
                if (c == '\\' && i + 1 < text.Length)
                {
                    builder.Append(c).Append(text[++i]);
                    continue;
                }
                if (c == quote)
                {
                    quote = '\0';
                }
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == 'L' && i > 0 && char.IsAsciiDigit(text[i - 1]))
            {
                continue;
            }
            builder.Append(c);
        }
        return builder.ToString();
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer)
    {
        if (ScanContext.ReadAtMost(stream, buffer) != buffer.Length)
        {
            throw new ContainerFormatException(Rules.BadHeader, "The .npy header is truncated.");
        }
    }

    /// <summary>
    /// The Python literals <c>ast.literal_eval</c> accepts in a header: strings (with escapes and b/u/r prefixes),
    /// ints, floats, True/False/None, tuples, lists and dicts. Strings come back as strings, tuples as
    /// <see cref="Tuple"/>, lists as <c>List&lt;object?&gt;</c>, dicts as <c>Dictionary&lt;object, object?&gt;</c>.
    /// </summary>
    internal sealed class PythonLiteral
    {
        private const int MaxDepth = 128;

        private readonly string _text;
        private int _pos;

        private PythonLiteral(string text) => _text = text;

        /// <summary>A Python tuple: kept apart from lists because numpy gives them different meanings.</summary>
        public sealed record Tuple(List<object?> Items);

        public static object? Parse(string text)
        {
            var parser = new PythonLiteral(text);
            var value = parser.Value(0);
            parser.SkipSpace();
            if (parser._pos != text.Length)
            {
                throw new FormatException($"unexpected '{text[parser._pos]}' at {parser._pos}");
            }
            return value;
        }

        private void SkipSpace()
        {
            while (_pos < _text.Length && char.IsWhiteSpace(_text[_pos]))
            {
                _pos++;
            }
        }

        private char Peek()
        {
            SkipSpace();
            return _pos < _text.Length ? _text[_pos] : throw new FormatException("unexpected end");
        }

        private object? Value(int depth)
        {
            if (depth > MaxDepth)
            {
                throw new FormatException("nested too deeply");
            }
            var c = Peek();
            switch (c)
            {
                case '{':
                    return Dict(depth);
                case '[':
                    return new List<object?>(Sequence(']', depth, out _));
                case '(':
                    var items = Sequence(')', depth, out var trailingComma);
                    // (x) is x; (x,) and () are tuples.
                    return items.Count == 1 && !trailingComma ? items[0] : new Tuple(items);
                case '\'':
                case '"':
                    return String(raw: false);
            }
            if (char.IsAsciiLetter(c))
            {
                var start = _pos;
                while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '_'))
                {
                    _pos++;
                }
                var word = _text[start.._pos];
                if (_pos < _text.Length && _text[_pos] is '\'' or '"' && word.ToLowerInvariant() is "b" or "u" or "r" or "br" or "rb")
                {
                    return String(raw: word.Contains('r', StringComparison.OrdinalIgnoreCase));
                }
                return word switch
                {
                    "True" => true,
                    "False" => false,
                    "None" => null,
                    _ => throw new FormatException($"'{word}' is not a literal"),
                };
            }
            return Number();
        }

        private Dictionary<object, object?> Dict(int depth)
        {
            _pos++;
            var dict = new Dictionary<object, object?>();
            while (Peek() != '}')
            {
                var key = Value(depth + 1) ?? "None";
                if (Peek() != ':')
                {
                    throw new FormatException("expected ':'");
                }
                _pos++;
                // A repeated key keeps the last value, as in Python.
                dict[key] = Value(depth + 1);
                if (Peek() == ',')
                {
                    _pos++;
                }
                else if (Peek() != '}')
                {
                    throw new FormatException("expected ',' or '}'");
                }
            }
            _pos++;
            return dict;
        }

        private List<object?> Sequence(char close, int depth, out bool trailingComma)
        {
            _pos++;
            var items = new List<object?>();
            trailingComma = false;
            while (Peek() != close)
            {
                items.Add(Value(depth + 1));
                trailingComma = false;
                if (Peek() == ',')
                {
                    _pos++;
                    trailingComma = true;
                }
                else if (Peek() != close)
                {
                    throw new FormatException($"expected ',' or '{close}'");
                }
            }
            _pos++;
            return items;
        }

        private string String(bool raw)
        {
            var quote = _text[_pos];
            var triple = _pos + 2 < _text.Length && _text[_pos + 1] == quote && _text[_pos + 2] == quote;
            _pos += triple ? 3 : 1;
            var builder = new StringBuilder();
            while (true)
            {
                if (_pos >= _text.Length)
                {
                    throw new FormatException("unterminated string");
                }
                var c = _text[_pos];
                if (c == quote && (!triple || (_pos + 2 < _text.Length && _text[_pos + 1] == quote && _text[_pos + 2] == quote)))
                {
                    _pos += triple ? 3 : 1;
                    return builder.ToString();
                }
                if (c == '\n' && !triple)
                {
                    throw new FormatException("newline in string");
                }
                if (c == '\\' && !raw && _pos + 1 < _text.Length)
                {
                    _pos++;
                    builder.Append(Escape());
                    continue;
                }
                builder.Append(c);
                _pos++;
            }
        }

        private string Escape()
        {
            var c = _text[_pos++];
            switch (c)
            {
                case 'n': return "\n";
                case 't': return "\t";
                case 'r': return "\r";
                case '0' or '1' or '2' or '3' or '4' or '5' or '6' or '7':
                    {
                        var start = _pos - 1;
                        while (_pos < _text.Length && _pos - start < 3 && _text[_pos] is >= '0' and <= '7')
                        {
                            _pos++;
                        }
                        return ((char)Convert.ToInt32(_text[start.._pos], 8)).ToString();
                    }
                case 'x': return Hex(2);
                case 'u': return Hex(4);
                case 'U': return char.ConvertFromUtf32(int.Parse(TakeHex(8), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                case 'a': return "\a";
                case 'b': return "\b";
                case 'f': return "\f";
                case 'v': return "\v";
                case '\n': return "";
                case '\\' or '\'' or '"': return c.ToString();
                default: return "\\" + c;
            }
        }

        private string Hex(int digits) => ((char)int.Parse(TakeHex(digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToString();

        private string TakeHex(int digits)
        {
            if (_pos + digits > _text.Length)
            {
                throw new FormatException("truncated escape");
            }
            var hex = _text.Substring(_pos, digits);
            _pos += digits;
            return hex;
        }

        private object Number()
        {
            var start = _pos;
            if (_pos < _text.Length && _text[_pos] is '-' or '+')
            {
                _pos++;
            }
            while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] is '.' or '_'
                       || (_text[_pos] is '-' or '+' && _text[_pos - 1] is 'e' or 'E')))
            {
                _pos++;
            }
            var token = _text[start.._pos].Replace("_", "");
            if (token.Length == 0)
            {
                throw new FormatException($"unexpected '{(_pos < _text.Length ? _text[_pos] : ' ')}' at {_pos}");
            }
            if (long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            {
                return integer;
            }
            if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var real))
            {
                return real;
            }
            throw new FormatException($"'{token}' is not a number");
        }
    }
}
