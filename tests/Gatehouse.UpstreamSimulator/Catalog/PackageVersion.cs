using System.Text.RegularExpressions;

namespace Gatehouse.UpstreamSimulator.Catalog;

/// <summary>
/// Just enough PEP 440 ordering to pick the "latest" release like Warehouse's JSON API:
/// numeric release segments first, then pre-releases before finals. Not a full PEP 440 parser.
/// </summary>
public static partial class PackageVersion
{
    /// <summary>Orders versions ascending.</summary>
    public static readonly IComparer<string> Comparer = Comparer<string>.Create(Compare);

    /// <summary>True for a/b/rc/dev versions, which Warehouse ranks after every final release.</summary>
    public static bool IsPrerelease(string version) => PreOrDev().IsMatch(version);

    /// <summary>A conservative check for versions accepted by the synthetic endpoint.</summary>
    public static bool IsValid(string version) => Valid().IsMatch(version);

    private static int Compare(string? x, string? y)
    {
        if (x is null || y is null)
        {
            return x is null ? (y is null ? 0 : -1) : 1;
        }

        var rx = Release(x);
        var ry = Release(y);
        for (var i = 0; i < Math.Max(rx.Length, ry.Length); i++)
        {
            var a = i < rx.Length ? rx[i] : 0;
            var b = i < ry.Length ? ry[i] : 0;
            if (a != b)
            {
                return a.CompareTo(b);
            }
        }

        var px = IsPrerelease(x);
        var py = IsPrerelease(y);
        if (px != py)
        {
            return px ? -1 : 1;
        }

        return string.CompareOrdinal(x, y);
    }

    private static long[] Release(string version)
    {
        var match = ReleaseSegment().Match(version);
        return match.Success
            ? match.Value.Split('.').Select(part => long.TryParse(part, out var n) ? n : 0).ToArray()
            : [];
    }

    [GeneratedRegex(@"^\d+(\.\d+)*")]
    private static partial Regex ReleaseSegment();

    [GeneratedRegex(@"(a|b|c|rc|alpha|beta|pre|preview|dev)\d*", RegexOptions.IgnoreCase)]
    private static partial Regex PreOrDev();

    [GeneratedRegex(@"^[0-9][A-Za-z0-9.+!]*\z")]
    private static partial Regex Valid();
}
