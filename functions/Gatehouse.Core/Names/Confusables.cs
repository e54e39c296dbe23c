using System.Collections.Frozen;
using System.Text;

namespace Gatehouse.Names;

/// <summary>
/// Non-ASCII letters that look like ASCII ones, so <c>rеquests</c> with a Cyrillic <c>е</c> reads as <c>requests</c>.
/// A curated subset of Unicode's confusables (https://www.unicode.org/Public/security/latest/confusables.txt, UTS #39):
/// the Cyrillic and Greek letters whose prototype there is a single Latin letter, and the full-width forms (U+FF01–FF5E,
/// whose compatibility decomposition is the ASCII character 0xFEE0 below).
/// </summary>
internal static class Confusables
{
    private static readonly FrozenDictionary<char, char> Latin = new Dictionary<char, char>
    {
        // Cyrillic lower case.
        ['а'] = 'a', ['е'] = 'e', ['һ'] = 'h', ['і'] = 'i', ['ј'] = 'j', ['ӏ'] = 'l', ['о'] = 'o', ['р'] = 'p', ['ԛ'] = 'q',
        ['г'] = 'r', ['ѕ'] = 's', ['у'] = 'y', ['ԝ'] = 'w', ['х'] = 'x', ['с'] = 'c', ['ԁ'] = 'd', ['ѵ'] = 'v',
        // Cyrillic upper case.
        ['А'] = 'a', ['В'] = 'b', ['Е'] = 'e', ['Н'] = 'h', ['І'] = 'i', ['Ј'] = 'j', ['К'] = 'k', ['М'] = 'm', ['О'] = 'o',
        ['Р'] = 'p', ['Ѕ'] = 's', ['Т'] = 't', ['Х'] = 'x', ['С'] = 'c', ['Ү'] = 'y', ['Ԛ'] = 'q', ['Ԝ'] = 'w',
        // Greek lower case.
        ['α'] = 'a', ['ο'] = 'o', ['ν'] = 'v', ['ι'] = 'i', ['ρ'] = 'p', ['γ'] = 'y', ['ϲ'] = 'c', ['ϳ'] = 'j',
        // Greek upper case.
        ['Α'] = 'a', ['Β'] = 'b', ['Ε'] = 'e', ['Ζ'] = 'z', ['Η'] = 'h', ['Ι'] = 'i', ['Κ'] = 'k', ['Μ'] = 'm', ['Ν'] = 'n',
        ['Ο'] = 'o', ['Ρ'] = 'p', ['Τ'] = 't', ['Υ'] = 'y', ['Χ'] = 'x',
        // Latin letters outside ASCII that read as ASCII ones.
        ['ı'] = 'i', ['ȷ'] = 'j', ['ℓ'] = 'l', ['ɡ'] = 'g', ['ɑ'] = 'a',
    }.ToFrozenDictionary();

    /// <summary>True when the name has a character outside ASCII.</summary>
    public static bool HasNonAscii(string name) => !Ascii.IsValid(name);

    /// <summary>
    /// The name with each known lookalike replaced by its ASCII letter; null when a non-ASCII character remains that is
    /// not known here (no PyPI name can hold it, and there is no ASCII name to compare).
    /// </summary>
    public static string? Skeleton(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            if (char.IsAscii(c))
            {
                sb.Append(c);
            }
            else if (c is >= '\uFF01' and <= '\uFF5E')
            {
                sb.Append((char)(c - 0xFEE0));
            }
            else if (Latin.TryGetValue(c, out var ascii))
            {
                sb.Append(ascii);
            }
            else
            {
                return null;
            }
        }
        return sb.ToString();
    }
}
