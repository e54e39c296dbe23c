namespace Gatehouse.Vulnerabilities;

/// <summary>
/// A Debian package version, <c>[epoch:]upstream[-revision]</c>, ordered as dpkg orders it (Debian Policy §5.6.12,
/// https://www.debian.org/doc/debian-policy/ch-controlfields.html#version; dpkg's lib/dpkg/version.c): the epoch as a
/// number, then upstream and revision alike, alternating non-digit runs (letters before other characters, <c>~</c>
/// before everything, even the end) and digit runs compared as numbers.
/// </summary>
public sealed class DebianVersion : IComparable<DebianVersion>
{
    private DebianVersion(int epoch, string upstream, string revision)
    {
        Epoch = epoch;
        Upstream = upstream;
        Revision = revision;
    }

    public int Epoch { get; }

    public string Upstream { get; }

    public string Revision { get; }

    /// <summary>
    /// Parses as dpkg's parseversion does, treating its warnings as errors too (as Dpkg::Version's is_valid does): the
    /// epoch is a number, upstream starts with a digit and holds only alphanumerics and <c>. + ~ - :</c>, the revision
    /// only alphanumerics and <c>. + ~</c>, and neither is empty.
    /// </summary>
    public static bool TryParse(string? text, out DebianVersion version)
    {
        version = null!;
        var s = text?.Trim() ?? "";
        if (s.Length == 0 || s.Any(char.IsWhiteSpace))
        {
            return false;
        }
        var epoch = 0;
        var colon = s.IndexOf(':');
        if (colon >= 0)
        {
            if (!int.TryParse(s.AsSpan(0, colon), System.Globalization.NumberStyles.None, null, out epoch) || colon == s.Length - 1)
            {
                return false;
            }
            s = s[(colon + 1)..];
        }
        var hyphen = s.LastIndexOf('-');
        var revision = "";
        if (hyphen >= 0)
        {
            revision = s[(hyphen + 1)..];
            s = s[..hyphen];
            if (revision.Length == 0)
            {
                return false;
            }
        }
        if (s.Length == 0 || !char.IsAsciiDigit(s[0]) || !s.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '+' or '~' or '-' or ':')
            || !revision.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '+' or '~'))
        {
            return false;
        }
        version = new DebianVersion(epoch, s, revision);
        return true;
    }

    public int CompareTo(DebianVersion? other)
    {
        if (other is null)
        {
            return 1;
        }
        if (Epoch != other.Epoch)
        {
            return Epoch.CompareTo(other.Epoch);
        }
        var upstream = Compare(Upstream, other.Upstream);
        return upstream != 0 ? upstream : Compare(Revision, other.Revision);
    }

    public override string ToString() => (Epoch > 0 ? $"{Epoch}:" : "") + Upstream + (Revision.Length > 0 ? "-" + Revision : "");

    /// <summary>dpkg's verrevcmp.</summary>
    private static int Compare(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            var firstDiff = 0;
            while ((i < a.Length && !char.IsAsciiDigit(a[i])) || (j < b.Length && !char.IsAsciiDigit(b[j])))
            {
                var ac = Order(i < a.Length ? a[i] : '\0');
                var bc = Order(j < b.Length ? b[j] : '\0');
                if (ac != bc)
                {
                    return ac - bc;
                }
                i++;
                j++;
            }
            while (i < a.Length && a[i] == '0')
            {
                i++;
            }
            while (j < b.Length && b[j] == '0')
            {
                j++;
            }
            while (i < a.Length && j < b.Length && char.IsAsciiDigit(a[i]) && char.IsAsciiDigit(b[j]))
            {
                if (firstDiff == 0)
                {
                    firstDiff = a[i] - b[j];
                }
                i++;
                j++;
            }
            if (i < a.Length && char.IsAsciiDigit(a[i]))
            {
                return 1;
            }
            if (j < b.Length && char.IsAsciiDigit(b[j]))
            {
                return -1;
            }
            if (firstDiff != 0)
            {
                return firstDiff;
            }
        }
        return 0;
    }

    /// <summary>The weight of a character: digits and the end 0, letters themselves, '~' below all, the rest above letters.</summary>
    private static int Order(char c) => c switch
    {
        '\0' => 0,
        _ when char.IsAsciiDigit(c) => 0,
        _ when char.IsAsciiLetter(c) => c,
        '~' => -1,
        _ => c + 256,
    };
}
