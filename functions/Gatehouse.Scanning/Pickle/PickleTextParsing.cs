using System.Globalization;
using System.Numerics;
using System.Text;

namespace Gatehouse.Scanning.Pickle;

/// <summary>
/// The text arguments of protocol 0 read the way CPython reads them: <c>int(x, 0)</c>, <c>int(x)</c>, <c>float(x)</c>,
/// <c>codecs.escape_decode</c> (STRING) and the <c>raw-unicode-escape</c> codec (UNICODE).
/// </summary>
internal static class PickleTextParsing
{
    private const int MaxDigits = 4300;

    /// <summary><c>int(text, base)</c> with base 0 (prefix decides) or 10; null when CPython would raise ValueError.</summary>
    public static BigInteger? ParseInt(ReadOnlySpan<byte> text, bool autoBase)
    {
        var s = Encoding.Latin1.GetString(text).Trim(' ', '\t', '\n', '\r', '\f', '\v');
        var negative = false;
        if (s.Length > 0 && s[0] is '+' or '-')
        {
            negative = s[0] == '-';
            s = s[1..];
        }
        var radix = 10;
        if (autoBase && s.Length > 1 && s[0] == '0' && s[1] is 'x' or 'X' or 'o' or 'O' or 'b' or 'B')
        {
            radix = s[1] is 'x' or 'X' ? 16 : s[1] is 'o' or 'O' ? 8 : 2;
            s = s[2..];
            if (s.StartsWith('_'))
            {
                s = s[1..];
            }
        }
        if (s.Length == 0 || s[0] == '_' || s[^1] == '_' || s.Contains("__", StringComparison.Ordinal))
        {
            return null;
        }
        s = s.Replace("_", "", StringComparison.Ordinal);
        if (autoBase && radix == 10 && s.Length > 1 && s[0] == '0' && s.Any(c => c != '0'))
        {
            return null; // int("010", 0) is an error: leading zeros are ambiguous in base 0
        }
        if (radix == 16)
        {
            return s.All(char.IsAsciiHexDigit) && BigInteger.TryParse("0" + s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex)
                ? (negative ? -hex : hex)
                : null;
        }
        if (s.Length > MaxDigits)
        {
            return null; // CPython 3.11+ refuses int() of more than 4300 digits (sys.int_info.default_max_str_digits)
        }
        BigInteger value = 0;
        foreach (var c in s)
        {
            var digit = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'z' => c - 'a' + 10,
                >= 'A' and <= 'Z' => c - 'A' + 10,
                _ => 99,
            };
            if (digit >= radix)
            {
                return null;
            }
            value = value * radix + digit;
        }
        return negative ? -value : value;
    }

    /// <summary><c>float(text)</c>; null when CPython would raise ValueError.</summary>
    public static double? ParseFloat(ReadOnlySpan<byte> text)
    {
        var s = Encoding.Latin1.GetString(text).Trim(' ', '\t', '\n', '\r', '\f', '\v');
        var lower = s.ToLowerInvariant().TrimStart('+');
        var sign = lower.StartsWith('-') ? -1.0 : 1.0;
        var body = lower.TrimStart('-');
        if (body is "inf" or "infinity")
        {
            return sign * double.PositiveInfinity;
        }
        if (body == "nan")
        {
            return double.NaN;
        }
        if (s.Length == 0 || s.Contains("__", StringComparison.Ordinal) || s.StartsWith('_') || s.EndsWith('_'))
        {
            return null;
        }
        return double.TryParse(s.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;
    }

    /// <summary><c>codecs.escape_decode</c>: Python bytes-literal escapes; null on a malformed \x escape or a trailing \.</summary>
    public static byte[]? EscapeDecode(ReadOnlySpan<byte> data)
    {
        var output = new List<byte>(data.Length);
        for (var i = 0; i < data.Length; i++)
        {
            var b = data[i];
            if (b != '\\')
            {
                output.Add(b);
                continue;
            }
            if (++i >= data.Length)
            {
                return null; // "Trailing \ in string"
            }
            var e = data[i];
            switch ((char)e)
            {
                case '\n': break;
                case '\\': output.Add((byte)'\\'); break;
                case '\'': output.Add((byte)'\''); break;
                case '"': output.Add((byte)'"'); break;
                case 'a': output.Add(7); break;
                case 'b': output.Add(8); break;
                case 'f': output.Add(12); break;
                case 'n': output.Add(10); break;
                case 'r': output.Add(13); break;
                case 't': output.Add(9); break;
                case 'v': output.Add(11); break;
                case >= '0' and <= '7':
                    var octal = e - '0';
                    for (var k = 0; k < 2 && i + 1 < data.Length && data[i + 1] is >= (byte)'0' and <= (byte)'7'; k++)
                    {
                        octal = octal * 8 + (data[++i] - '0');
                    }
                    output.Add((byte)(octal & 0xFF));
                    break;
                case 'x':
                    if (i + 2 >= data.Length || !char.IsAsciiHexDigit((char)data[i + 1]) || !char.IsAsciiHexDigit((char)data[i + 2]))
                    {
                        return null;
                    }
                    output.Add(Convert.ToByte(Encoding.ASCII.GetString(data.Slice(i + 1, 2)), 16));
                    i += 2;
                    break;
                default:
                    output.Add((byte)'\\');
                    output.Add(e);
                    break;
            }
        }
        return [.. output];
    }

    /// <summary>The <c>raw-unicode-escape</c> codec: Latin-1 except \uXXXX and \UXXXXXXXX; null on a bad escape.</summary>
    public static string? RawUnicodeEscapeDecode(ReadOnlySpan<byte> data)
    {
        var sb = new StringBuilder(data.Length);
        var backslashes = 0;
        for (var i = 0; i < data.Length; i++)
        {
            var b = data[i];
            if (b == '\\')
            {
                backslashes++;
                sb.Append('\\');
                continue;
            }
            if ((b == 'u' || b == 'U') && backslashes % 2 == 1)
            {
                var digits = b == 'u' ? 4 : 8;
                if (i + digits > data.Length - 1)
                {
                    return null;
                }
                var hex = Encoding.ASCII.GetString(data.Slice(i + 1, digits));
                if (!uint.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code) || code > 0x10FFFF)
                {
                    return null;
                }
                sb.Length--; // drop the escaping backslash
                if (code is >= 0xD800 and <= 0xDFFF)
                {
                    sb.Append((char)code);
                }
                else
                {
                    sb.Append(char.ConvertFromUtf32((int)code));
                }
                i += digits;
                backslashes = 0;
                continue;
            }
            backslashes = 0;
            sb.Append((char)b);
        }
        return sb.ToString();
    }
}
