namespace Gatehouse.Scanning.Pickle;

/// <summary>
/// Cheap checks for content hidden in a bytes or str argument: a pickle (protocol marker, or a protocol-0 GLOBAL/INST line
/// pair), a zip archive (a torch checkpoint), or either of them base64- or hex-encoded.
/// </summary>
internal static class NestedContentDetector
{
    /// <summary>Shorter arguments cannot hold a pickle that imports anything ("cos\nsystem\n." is 12 bytes).</summary>
    public const int MinimumLength = 12;

    private const int HeadWindow = 4096;

    public static bool IsZip(ReadOnlySpan<byte> content) =>
        content.Length >= 4 && content[0] == (byte)'P' && content[1] == (byte)'K' && content[2] == 3 && content[3] == 4;

    public static bool LooksLikePickle(ReadOnlySpan<byte> content)
    {
        if (content.Length < 3)
        {
            return false;
        }
        if (content[0] == PickleOpcodes.PROTO && content[1] <= PickleOpcodes.HighestProtocol)
        {
            return true;
        }
        if (!PickleOpcodes.IsOpcode(content[0]) || content.IndexOf((byte)PickleOpcodes.STOP) < 0)
        {
            return false;
        }
        var head = content[..Math.Min(content.Length, HeadWindow)];
        return head.IndexOf(PickleOpcodes.STACK_GLOBAL) >= 0 || HasGlobalLines(head);
    }

    /// <summary>A GLOBAL or INST opcode followed by two identifier lines (module, then name).</summary>
    private static bool HasGlobalLines(ReadOnlySpan<byte> head)
    {
        for (var i = 0; i < head.Length - 4; i++)
        {
            if (head[i] is not ((byte)'c' or (byte)'i'))
            {
                continue;
            }
            var line1 = IdentifierLineLength(head[(i + 1)..]);
            if (line1 > 0)
            {
                var line2 = IdentifierLineLength(head[(i + 2 + line1)..]);
                if (line2 > 0)
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static int IdentifierLineLength(ReadOnlySpan<byte> span)
    {
        if (span.IsEmpty || !(char.IsAsciiLetter((char)span[0]) || span[0] == '_'))
        {
            return 0;
        }
        for (var i = 1; i < span.Length && i < 512; i++)
        {
            var c = (char)span[i];
            if (c == '\n')
            {
                return i;
            }
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '<' or '>'))
            {
                return 0;
            }
        }
        return 0;
    }

    /// <summary>Decodes base64 or hex text when the whole argument is one; null otherwise.</summary>
    public static byte[]? TryDecodeText(ReadOnlySpan<char> text)
    {
        if (text.Length < 16)
        {
            return null;
        }
        if (text.Length % 2 == 0 && IsAll(text, static c => char.IsAsciiHexDigit(c)))
        {
            return Convert.FromHexString(text);
        }
        var trimmed = text.TrimEnd('=');
        if (text.Length % 4 == 0 && text.Length - trimmed.Length <= 2 &&
            IsAll(trimmed, static c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/'))
        {
            var buffer = new byte[text.Length / 4 * 3];
            return Convert.TryFromBase64Chars(text, buffer, out var written) ? buffer[..written] : null;
        }
        return null;
    }

    public static byte[]? TryDecodeText(ReadOnlySpan<byte> ascii)
    {
        if (ascii.Length < 16 || ascii.Length > 64 * 1024 * 1024)
        {
            return null;
        }
        // Quick reject before widening: the first bytes must already be base64/hex characters.
        foreach (var b in ascii[..16])
        {
            if (!(char.IsAsciiLetterOrDigit((char)b) || b is (byte)'+' or (byte)'/' or (byte)'='))
            {
                return null;
            }
        }
        var chars = new char[ascii.Length];
        for (var i = 0; i < ascii.Length; i++)
        {
            chars[i] = (char)ascii[i];
        }
        return TryDecodeText(chars);
    }

    private static bool IsAll(ReadOnlySpan<char> text, Func<char, bool> predicate)
    {
        foreach (var c in text)
        {
            if (!predicate(c))
            {
                return false;
            }
        }
        return true;
    }
}
