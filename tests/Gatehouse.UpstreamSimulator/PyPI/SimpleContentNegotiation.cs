using Microsoft.Extensions.Primitives;

namespace Gatehouse.UpstreamSimulator.PyPI;

/// <summary>The three Simple API representations PyPI offers.</summary>
public enum SimpleFormat
{
    TextHtml,
    V1Html,
    V1Json,
}

/// <summary>
/// Warehouse's choice of representation (warehouse/api/simple.py): WebOb <c>acceptable_offers</c> over
/// [text/html, v1+html, v1+json], first acceptable offer wins, and nothing acceptable means text/html (never 406).
/// </summary>
public static class SimpleContentNegotiation
{
    public const string TextHtml = "text/html";
    public const string V1Html = "application/vnd.pypi.simple.v1+html";
    public const string V1Json = "application/vnd.pypi.simple.v1+json";

    private static readonly (SimpleFormat Format, string Type, string Subtype)[] Offers =
    [
        (SimpleFormat.TextHtml, "text", "html"),
        (SimpleFormat.V1Html, "application", "vnd.pypi.simple.v1+html"),
        (SimpleFormat.V1Json, "application", "vnd.pypi.simple.v1+json"),
    ];

    /// <summary>The Content-Type header value for a representation.</summary>
    public static string ContentType(SimpleFormat format) => format switch
    {
        SimpleFormat.TextHtml => "text/html; charset=utf-8",
        SimpleFormat.V1Html => V1Html,
        _ => V1Json,
    };

    /// <summary>Picks the representation for an Accept header (absent header = <c>*/*</c>).</summary>
    public static SimpleFormat Select(StringValues accept)
    {
        var ranges = Parse(accept);
        if (ranges.Count == 0)
        {
            return SimpleFormat.TextHtml;
        }

        var best = SimpleFormat.TextHtml;
        var bestQ = 0.0;
        foreach (var offer in Offers)
        {
            var q = QualityOf(offer.Type, offer.Subtype, ranges);
            // Strictly greater keeps the earlier offer on ties, like a stable sort by q.
            if (q > bestQ)
            {
                best = offer.Format;
                bestQ = q;
            }
        }

        return best;
    }

    private static double QualityOf(string type, string subtype, List<(string Type, string Subtype, double Q)> ranges)
    {
        // The most specific matching range decides (RFC 9110 §12.5.1).
        var specificity = -1;
        var quality = 0.0;
        foreach (var range in ranges)
        {
            int match;
            if (range.Type == "*" && range.Subtype == "*")
            {
                match = 0;
            }
            else if (string.Equals(range.Type, type, StringComparison.OrdinalIgnoreCase) && range.Subtype == "*")
            {
                match = 1;
            }
            else if (string.Equals(range.Type, type, StringComparison.OrdinalIgnoreCase) && string.Equals(range.Subtype, subtype, StringComparison.OrdinalIgnoreCase))
            {
                match = 2;
            }
            else
            {
                continue;
            }

            if (match > specificity)
            {
                specificity = match;
                quality = range.Q;
            }
        }

        return quality;
    }

    private static List<(string Type, string Subtype, double Q)> Parse(StringValues accept)
    {
        var ranges = new List<(string, string, double)>();
        foreach (var header in accept)
        {
            if (string.IsNullOrWhiteSpace(header))
            {
                continue;
            }

            foreach (var item in header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var parts = item.Split(';', StringSplitOptions.TrimEntries);
                var slash = parts[0].IndexOf('/');
                if (slash <= 0 || slash == parts[0].Length - 1)
                {
                    continue;
                }

                var q = 1.0;
                foreach (var parameter in parts.Skip(1))
                {
                    var eq = parameter.IndexOf('=');
                    if (eq > 0 && parameter[..eq].Trim().Equals("q", StringComparison.OrdinalIgnoreCase)
                        && double.TryParse(parameter[(eq + 1)..].Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var parsed))
                    {
                        q = Math.Clamp(parsed, 0, 1);
                    }
                }

                ranges.Add((parts[0][..slash].Trim(), parts[0][(slash + 1)..].Trim(), q));
            }
        }

        return ranges;
    }
}
