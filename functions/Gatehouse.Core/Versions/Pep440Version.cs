using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Gatehouse.Versions;

/// <summary>
/// A Python package version as PEP 440 defines it (https://peps.python.org/pep-0440/, kept current as the PyPA
/// "Version specifiers" specification), so that policies about PyPI releases compare and match versions the way pip
/// does: every accepted spelling is normalised, and ordering and equality follow the specification (1.0 == 1.0.0).
/// </summary>
public sealed partial class Pep440Version : IComparable<Pep440Version>, IEquatable<Pep440Version>
{
    // The accepted spellings, after the specification's appendix "Parsing version strings with regular expressions"
    // and its "Normalization" section: an optional leading v, epoch, release, pre, post (including the implicit "-N"
    // form), dev and local, with optional separators and implicit numbers. Only ASCII is accepted (checked before), so
    // case-insensitivity cannot match look-alike letters such as the Kelvin sign.
    [GeneratedRegex(
        @"^v?(?:(?<epoch>[0-9]+)!)?(?<release>[0-9]+(?:\.[0-9]+)*)" +
        @"(?<pre>[-_.]?(?<prel>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pren>[0-9]+)?)?" +
        @"(?<post>-(?<postn1>[0-9]+)|[-_.]?(?:post|rev|r)[-_.]?(?<postn2>[0-9]+)?)?" +
        @"(?<dev>[-_.]?dev[-_.]?(?<devn>[0-9]+)?)?" +
        @"(?:\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\z",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex Syntax();

    private static readonly char[] LocalSeparators = ['-', '_', '.'];

    private readonly long[] _release;
    private readonly string[] _local;
    private readonly int _significant;
    private readonly string _text;

    private Pep440Version(int epoch, long[] release, (string Label, long Number)? pre, long? post, long? dev, string[] local)
    {
        Epoch = epoch;
        _release = release;
        Pre = pre;
        Post = post;
        Dev = dev;
        _local = local;
        // Trailing zeros of the release are not significant for comparison (PEP 440, "Final releases").
        _significant = release.Length;
        while (_significant > 1 && release[_significant - 1] == 0)
        {
            _significant--;
        }
        Public = PublicText();
        Local = local.Length == 0 ? null : string.Join('.', local);
        _text = Local is null ? Public : Public + "+" + Local;
    }

    /// <summary>The epoch (N! prefix), 0 when absent; a higher epoch sorts after any version of a lower one.</summary>
    public int Epoch { get; }

    /// <summary>The release numbers as written (trailing zeros kept, so 1.0.0 keeps three).</summary>
    public IReadOnlyList<long> Release => _release;

    /// <summary>The pre-release, normalised to "a", "b" or "rc" and its number, or null for none.</summary>
    public (string Label, long Number)? Pre { get; }

    /// <summary>The post-release number, or null for none.</summary>
    public long? Post { get; }

    /// <summary>The development release number, or null for none.</summary>
    public long? Dev { get; }

    /// <summary>The normalised local label (lower case, "." separators, numbers without leading zeros), or null.</summary>
    public string? Local { get; }

    /// <summary>The normalised public version: everything but the local label.</summary>
    public string Public { get; }

    /// <summary>Whether installers leave this version out by default: a pre-release or a development release.</summary>
    public bool IsPrerelease => Pre is not null || Dev is not null;

    /// <summary>Whether this is a post-release (matters to the exclusive &gt; comparison).</summary>
    public bool IsPostRelease => Post is not null;

    /// <summary>Whether this is a development release.</summary>
    public bool IsDevRelease => Dev is not null;

    /// <summary>This version's first development release (.dev0, no local label): the earliest of its pre-releases.</summary>
    internal Pep440Version FirstDevRelease => new(Epoch, _release, Pre, Post, 0, []);

    /// <summary>Epoch, release and pre-release only: what this version is a post-release of, when it is one.</summary>
    internal Pep440Version WithoutPostRelease => new(Epoch, _release, Pre, null, null, []);

    /// <summary>This version without its local label, which most clauses compare.</summary>
    internal Pep440Version PublicVersion => _local.Length == 0 ? this : new(Epoch, _release, Pre, Post, Dev, []);

    /// <summary>Parses <paramref name="text"/>, accepting every spelling PEP 440 says to normalise.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out Pep440Version? version)
    {
        version = null;
        if (text is null)
        {
            return false;
        }
        // Leading and trailing whitespace is ignored (PEP 440, "Leading and Trailing Whitespace").
        var trimmed = text.Trim();
        if (trimmed.Length == 0 || !Ascii.IsValid(trimmed))
        {
            return false;
        }
        var match = Syntax().Match(trimmed);
        if (!match.Success)
        {
            return false;
        }
        var epoch = 0;
        if (match.Groups["epoch"].Success
            && !int.TryParse(match.Groups["epoch"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out epoch))
        {
            return false;
        }
        var parts = match.Groups["release"].Value.Split('.');
        var release = new long[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!TryNumber(parts[i], out release[i]))
            {
                return false;
            }
        }
        (string, long)? pre = null;
        if (match.Groups["pre"].Success)
        {
            // alpha → a, beta → b, and c, pre, preview → rc; a missing number is 0 (PEP 440, "Pre-release spelling",
            // "Implicit pre-release number").
            var label = match.Groups["prel"].Value.ToLowerInvariant() switch
            {
                "a" or "alpha" => "a",
                "b" or "beta" => "b",
                _ => "rc",
            };
            long number = 0;
            if (match.Groups["pren"].Success && !TryNumber(match.Groups["pren"].Value, out number))
            {
                return false;
            }
            pre = (label, number);
        }
        long? post = null;
        if (match.Groups["post"].Success)
        {
            // post, rev, r and the bare "-N" form are all post-releases; a missing number is 0.
            var digits = match.Groups["postn1"].Success ? match.Groups["postn1"] : match.Groups["postn2"];
            long number = 0;
            if (digits.Success && !TryNumber(digits.Value, out number))
            {
                return false;
            }
            post = number;
        }
        long? dev = null;
        if (match.Groups["dev"].Success)
        {
            long number = 0;
            if (match.Groups["devn"].Success && !TryNumber(match.Groups["devn"].Value, out number))
            {
                return false;
            }
            dev = number;
        }
        var local = match.Groups["local"].Success
            ? match.Groups["local"].Value.ToLowerInvariant().Split(LocalSeparators).Select(NormaliseLocalSegment).ToArray()
            : [];
        version = new Pep440Version(epoch, release, pre, post, dev, local);
        return true;
    }

    /// <summary>Parses <paramref name="text"/> or throws <see cref="FormatException"/> saying why.</summary>
    public static Pep440Version Parse(string text) =>
        TryParse(text, out var version)
            ? version
            : throw new FormatException($"'{text}' is not a valid PEP 440 version (https://peps.python.org/pep-0440/).");

    /// <summary>Orders by epoch, release (trailing zeros ignored), then dev &lt; pre &lt; final &lt; post, then local.</summary>
    public int CompareTo(Pep440Version? other)
    {
        if (other is null)
        {
            return 1;
        }
        var c = Epoch.CompareTo(other.Epoch);
        if (c != 0)
        {
            return c;
        }
        c = CompareRelease(other);
        if (c != 0)
        {
            return c;
        }
        c = PreRank().CompareTo(other.PreRank());
        if (c != 0)
        {
            return c;
        }
        if (Pre is { } mine && other.Pre is { } theirs)
        {
            c = mine.Number.CompareTo(theirs.Number);
            if (c != 0)
            {
                return c;
            }
        }
        // No post-release sorts before post0; no dev release sorts after every dev release.
        c = (Post ?? -1).CompareTo(other.Post ?? -1);
        if (c != 0)
        {
            return c;
        }
        c = (Dev is null).CompareTo(other.Dev is null);
        if (c != 0)
        {
            return c;
        }
        c = (Dev ?? 0).CompareTo(other.Dev ?? 0);
        return c != 0 ? c : CompareLocal(_local, other._local);
    }

    /// <summary>Equal when the ordering says so (1.0 equals 1.0.0, 1.0+Ubuntu.01 equals 1.0+ubuntu.1).</summary>
    public bool Equals(Pep440Version? other) => other is not null && CompareTo(other) == 0;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Pep440Version other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Epoch);
        for (var i = 0; i < _significant; i++)
        {
            hash.Add(_release[i]);
        }
        hash.Add(Pre);
        hash.Add(Post);
        hash.Add(Dev);
        hash.Add(Local, StringComparer.Ordinal);
        return hash.ToHashCode();
    }

    /// <summary>The normalised form (PEP 440, "Normalization").</summary>
    public override string ToString() => _text;

    /// <summary>Compares by version order; null sorts first.</summary>
    public static bool operator <(Pep440Version? left, Pep440Version? right) => Compare(left, right) < 0;

    /// <summary>Compares by version order; null sorts first.</summary>
    public static bool operator <=(Pep440Version? left, Pep440Version? right) => Compare(left, right) <= 0;

    /// <summary>Compares by version order; null sorts first.</summary>
    public static bool operator >(Pep440Version? left, Pep440Version? right) => Compare(left, right) > 0;

    /// <summary>Compares by version order; null sorts first.</summary>
    public static bool operator >=(Pep440Version? left, Pep440Version? right) => Compare(left, right) >= 0;

    /// <summary>Version equality (1.0 == 1.0.0).</summary>
    public static bool operator ==(Pep440Version? left, Pep440Version? right) => Compare(left, right) == 0;

    /// <summary>Version inequality.</summary>
    public static bool operator !=(Pep440Version? left, Pep440Version? right) => Compare(left, right) != 0;

    /// <summary>Whether the release, padded with zeros, starts with <paramref name="prefix"/> (for ==V.* matching).</summary>
    internal bool ReleaseStartsWith(IReadOnlyList<long> prefix)
    {
        for (var i = 0; i < prefix.Count; i++)
        {
            if ((i < _release.Length ? _release[i] : 0) != prefix[i])
            {
                return false;
            }
        }
        return true;
    }

    private static int Compare(Pep440Version? left, Pep440Version? right) =>
        left is null ? (right is null ? 0 : -1) : left.CompareTo(right);

    private static bool TryNumber(string digits, out long value) =>
        long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static string NormaliseLocalSegment(string segment)
    {
        if (!segment.All(char.IsAsciiDigit))
        {
            return segment;
        }
        var trimmed = segment.TrimStart('0');
        return trimmed.Length == 0 ? "0" : trimmed;
    }

    // A dev release with neither pre nor post sorts before every pre-release of its release; no pre-release sorts
    // after them all (PEP 440, "Summary of permitted suffixes and relative ordering").
    private int PreRank() => Pre is { } pre
        ? pre.Label switch { "a" => 1, "b" => 2, _ => 3 }
        : Post is null && Dev is not null ? 0 : 4;

    private int CompareRelease(Pep440Version other)
    {
        var length = Math.Max(_significant, other._significant);
        for (var i = 0; i < length; i++)
        {
            var c = (i < _significant ? _release[i] : 0).CompareTo(i < other._significant ? other._release[i] : 0);
            if (c != 0)
            {
                return c;
            }
        }
        return 0;
    }

    // No label sorts first; segment by segment, numbers compare as numbers and sort after any alphanumeric segment,
    // alphanumeric segments compare lexicographically, and a shorter label that is a prefix sorts first
    // (PEP 440, "Local version identifiers").
    private static int CompareLocal(string[] left, string[] right)
    {
        for (var i = 0; i < Math.Min(left.Length, right.Length); i++)
        {
            var leftNumeric = left[i].All(char.IsAsciiDigit);
            var rightNumeric = right[i].All(char.IsAsciiDigit);
            int c;
            if (leftNumeric && rightNumeric)
            {
                // Normalised numbers have no leading zeros, so a longer one is larger; digits compare without overflow.
                c = left[i].Length.CompareTo(right[i].Length);
                if (c == 0)
                {
                    c = string.CompareOrdinal(left[i], right[i]);
                }
            }
            else if (leftNumeric != rightNumeric)
            {
                c = leftNumeric ? 1 : -1;
            }
            else
            {
                c = string.CompareOrdinal(left[i], right[i]);
            }
            if (c != 0)
            {
                return c;
            }
        }
        return left.Length.CompareTo(right.Length);
    }

    private string PublicText()
    {
        var text = new StringBuilder();
        if (Epoch != 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{Epoch}!");
        }
        text.AppendJoin('.', _release.Select(n => n.ToString(CultureInfo.InvariantCulture)));
        if (Pre is { } pre)
        {
            text.Append(CultureInfo.InvariantCulture, $"{pre.Label}{pre.Number}");
        }
        if (Post is { } post)
        {
            text.Append(CultureInfo.InvariantCulture, $".post{post}");
        }
        if (Dev is { } dev)
        {
            text.Append(CultureInfo.InvariantCulture, $".dev{dev}");
        }
        return text.ToString();
    }
}
