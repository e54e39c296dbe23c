using System.Diagnostics.CodeAnalysis;

namespace Gatehouse.Vulnerabilities;

/// <summary>A CVSS vector's version ("3.0", "3.1", "4.0"), its score and the specification's qualitative rating (lower case: none, low, medium, high, critical).</summary>
public sealed record CvssResult(string Version, double BaseScore, string Severity);

/// <summary>
/// Scores the CVSS vectors advisories carry (OSV <c>severity[].score</c> of type CVSS_V3 or CVSS_V4), so the policy can
/// act on a number rather than trust a database's label. Base scores follow the FIRST specifications:
/// v3.1 https://www.first.org/cvss/v3.1/specification-document §7.1 and Appendix A (Roundup), v3.0
/// https://www.first.org/cvss/v3.0/specification-document §8.1, v4.0 https://www.first.org/cvss/v4.0/specification-document
/// §8 (MacroVector interpolation, as the FIRST reference calculator computes it). Temporal, threat, environmental and
/// supplemental metrics are validated; v3 scores ignore them (the base score), while a v4 score is that of the vector
/// as written (a CVSS-BT or CVSS-BE score when such metrics are present, as v4 defines a single score per vector).
/// Metrics may come in any order but each at most once; every base metric must be present.
/// </summary>
public static class CvssScore
{
    private static readonly Dictionary<string, string[]> V3Metrics = new(StringComparer.Ordinal)
    {
        ["AV"] = ["N", "A", "L", "P"], ["AC"] = ["L", "H"], ["PR"] = ["N", "L", "H"], ["UI"] = ["N", "R"], ["S"] = ["U", "C"],
        ["C"] = ["H", "L", "N"], ["I"] = ["H", "L", "N"], ["A"] = ["H", "L", "N"],
        ["E"] = ["X", "H", "F", "P", "U"], ["RL"] = ["X", "U", "W", "T", "O"], ["RC"] = ["X", "C", "R", "U"],
        ["CR"] = ["X", "H", "M", "L"], ["IR"] = ["X", "H", "M", "L"], ["AR"] = ["X", "H", "M", "L"],
        ["MAV"] = ["X", "N", "A", "L", "P"], ["MAC"] = ["X", "L", "H"], ["MPR"] = ["X", "N", "L", "H"], ["MUI"] = ["X", "N", "R"],
        ["MS"] = ["X", "U", "C"], ["MC"] = ["X", "H", "L", "N"], ["MI"] = ["X", "H", "L", "N"], ["MA"] = ["X", "H", "L", "N"],
    };

    private static readonly string[] V3Base = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];

    // CVSS v4.0 specification §7 (vector string) and Table 23: every metric and its values; the first 11 are the base.
    private static readonly Dictionary<string, string[]> V4Metrics = new(StringComparer.Ordinal)
    {
        ["AV"] = ["N", "A", "L", "P"], ["AC"] = ["L", "H"], ["AT"] = ["N", "P"], ["PR"] = ["N", "L", "H"], ["UI"] = ["N", "P", "A"],
        ["VC"] = ["H", "L", "N"], ["VI"] = ["H", "L", "N"], ["VA"] = ["H", "L", "N"], ["SC"] = ["H", "L", "N"], ["SI"] = ["H", "L", "N"],
        ["SA"] = ["H", "L", "N"],
        ["E"] = ["X", "A", "P", "U"],
        ["CR"] = ["X", "H", "M", "L"], ["IR"] = ["X", "H", "M", "L"], ["AR"] = ["X", "H", "M", "L"],
        ["MAV"] = ["X", "N", "A", "L", "P"], ["MAC"] = ["X", "L", "H"], ["MAT"] = ["X", "N", "P"], ["MPR"] = ["X", "N", "L", "H"],
        ["MUI"] = ["X", "N", "P", "A"], ["MVC"] = ["X", "H", "L", "N"], ["MVI"] = ["X", "H", "L", "N"], ["MVA"] = ["X", "H", "L", "N"],
        ["MSC"] = ["X", "H", "L", "N"], ["MSI"] = ["X", "S", "H", "L", "N"], ["MSA"] = ["X", "S", "H", "L", "N"],
        ["S"] = ["X", "N", "P"], ["AU"] = ["X", "N", "Y"], ["R"] = ["X", "A", "U", "I"], ["V"] = ["X", "D", "C"],
        ["RE"] = ["X", "L", "M", "H"], ["U"] = ["X", "Clear", "Green", "Amber", "Red"],
    };

    private static readonly string[] V4Base = ["AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"];

    /// <summary>Scores a <c>CVSS:3.0/</c>, <c>CVSS:3.1/</c> or <c>CVSS:4.0/</c> vector; false for anything else or anything malformed.</summary>
    public static bool TryCompute(string? vector, [NotNullWhen(true)] out CvssResult? result)
    {
        result = null;
        if (string.IsNullOrEmpty(vector))
        {
            return false;
        }
        var parts = vector.Split('/');
        var version = parts[0] switch
        {
            "CVSS:3.0" => "3.0",
            "CVSS:3.1" => "3.1",
            "CVSS:4.0" => "4.0",
            _ => null,
        };
        if (version is null)
        {
            return false;
        }
        var known = version == "4.0" ? V4Metrics : V3Metrics;
        if (Parse(parts.AsSpan(1), known, version == "4.0" ? V4Base : V3Base) is not { } metrics)
        {
            return false;
        }
        var score = version == "4.0" ? Cvss4.Score(metrics) : Cvss3(metrics, version == "3.1");
        result = new CvssResult(version, score, Rating(score));
        return true;
    }

    /// <summary>The qualitative rating of a score: v3.1 §5 Table 14 and v4.0 §6 use the same bands.</summary>
    public static string Rating(double score) => score switch
    {
        0.0 => "none",
        < 4.0 => "low",
        < 7.0 => "medium",
        < 9.0 => "high",
        _ => "critical",
    };

    private static Dictionary<string, string>? Parse(ReadOnlySpan<string> parts, Dictionary<string, string[]> known, string[] required)
    {
        var metrics = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !known.TryGetValue(part[..colon], out var values))
            {
                return null;
            }
            var value = part[(colon + 1)..];
            if (!values.Contains(value, StringComparer.Ordinal) || !metrics.TryAdd(part[..colon], value))
            {
                return null;
            }
        }
        return required.All(metrics.ContainsKey) ? metrics : null;
    }

    /// <summary>The v3 base score: v3.1 §7.1 (identical in v3.0 §8.1 but for Roundup).</summary>
    private static double Cvss3(Dictionary<string, string> m, bool v31)
    {
        var changed = m["S"] == "C";
        var av = m["AV"] switch { "N" => 0.85, "A" => 0.62, "L" => 0.55, _ => 0.2 };
        var ac = m["AC"] == "L" ? 0.77 : 0.44;
        var pr = m["PR"] switch { "N" => 0.85, "L" => changed ? 0.68 : 0.62, _ => changed ? 0.5 : 0.27 };
        var ui = m["UI"] == "N" ? 0.85 : 0.62;
        static double Cia(string v) => v switch { "H" => 0.56, "L" => 0.22, _ => 0.0 };
        var iss = 1 - ((1 - Cia(m["C"])) * (1 - Cia(m["I"])) * (1 - Cia(m["A"])));
        var impact = changed ? (7.52 * (iss - 0.029)) - (3.25 * Math.Pow(iss - 0.02, 15)) : 6.42 * iss;
        if (impact <= 0)
        {
            return 0.0;
        }
        var exploitability = 8.22 * av * ac * pr * ui;
        var raw = Math.Min(changed ? 1.08 * (impact + exploitability) : impact + exploitability, 10);
        return v31 ? Roundup31(raw) : Roundup30(raw);
    }

    /// <summary>
    /// v3.1 Appendix A: round to an integer of hundred-thousandths first, so a float such as 4.000000000000001 is
    /// taken as the 4.0 it stands for, then round up to one decimal.
    /// </summary>
    internal static double Roundup31(double value)
    {
        var hundredThousandths = (long)Math.Round(value * 100_000, MidpointRounding.AwayFromZero);
        return hundredThousandths % 10_000 == 0 ? hundredThousandths / 100_000.0 : (Math.Floor(hundredThousandths / 10_000.0) + 1) / 10.0;
    }

    /// <summary>
    /// v3.0 §8.1: "the smallest number, specified to one decimal place, that is equal to or higher than its input",
    /// computed on the floating-point value as the v3.0 reference calculator does (so float noise above a tenth rounds
    /// up: the difference v3.1 Appendix A was written to remove).
    /// </summary>
    internal static double Roundup30(double value) => Math.Ceiling(value * 10) / 10;
}
