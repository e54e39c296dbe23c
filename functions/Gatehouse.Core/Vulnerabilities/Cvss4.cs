namespace Gatehouse.Vulnerabilities;

/// <summary>
/// The CVSS v4.0 score (https://www.first.org/cvss/v4.0/specification-document §8.2): the vector falls into a
/// MacroVector (six equivalence classes, EQ1..EQ6, Table 24-29), whose highest-severity vector has a score FIRST
/// published (<see cref="Cvss4MacroVectors"/>); the vector's score is that minus the mean, over the EQs that have a
/// lower MacroVector, of the score step to it times how far the vector lies from the highest one. The steps, the
/// highest vectors per EQ and the depths below follow the FIRST reference calculator (cvss40.js, BSD-2-Clause).
/// </summary>
internal static class Cvss4
{
    // Severity distance levels per metric value (cvss40.js METRIC_LEVELS).
    private static readonly Dictionary<string, Dictionary<string, double>> Levels = new(StringComparer.Ordinal)
    {
        ["AV"] = new() { ["N"] = 0.0, ["A"] = 0.1, ["L"] = 0.2, ["P"] = 0.3 },
        ["PR"] = new() { ["N"] = 0.0, ["L"] = 0.1, ["H"] = 0.2 },
        ["UI"] = new() { ["N"] = 0.0, ["P"] = 0.1, ["A"] = 0.2 },
        ["AC"] = new() { ["L"] = 0.0, ["H"] = 0.1 },
        ["AT"] = new() { ["N"] = 0.0, ["P"] = 0.1 },
        ["VC"] = new() { ["H"] = 0.0, ["L"] = 0.1, ["N"] = 0.2 },
        ["VI"] = new() { ["H"] = 0.0, ["L"] = 0.1, ["N"] = 0.2 },
        ["VA"] = new() { ["H"] = 0.0, ["L"] = 0.1, ["N"] = 0.2 },
        ["SC"] = new() { ["H"] = 0.1, ["L"] = 0.2, ["N"] = 0.3 },
        ["SI"] = new() { ["S"] = 0.0, ["H"] = 0.1, ["L"] = 0.2, ["N"] = 0.3 },
        ["SA"] = new() { ["S"] = 0.0, ["H"] = 0.1, ["L"] = 0.2, ["N"] = 0.3 },
        ["CR"] = new() { ["H"] = 0.0, ["M"] = 0.1, ["L"] = 0.2 },
        ["IR"] = new() { ["H"] = 0.0, ["M"] = 0.1, ["L"] = 0.2 },
        ["AR"] = new() { ["H"] = 0.0, ["M"] = 0.1, ["L"] = 0.2 },
        ["E"] = new() { ["U"] = 0.2, ["P"] = 0.1, ["A"] = 0.0 },
    };

    // The highest-severity vectors of each EQ's classes (cvss40.js MAX_COMPOSED); EQ3 is keyed by EQ3 then EQ6.
    private static readonly string[][] Eq1Max = [["AV:N/PR:N/UI:N"], ["AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"], ["AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"]];
    private static readonly string[][] Eq2Max = [["AC:L/AT:N"], ["AC:H/AT:N", "AC:L/AT:P"]];
    private static readonly string[][][] Eq3Eq6Max =
    [
        [["VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"], ["VC:H/VI:H/VA:L/CR:M/IR:M/AR:H", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M"]],
        [["VC:L/VI:H/VA:H/CR:H/IR:H/AR:H", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H"],
         ["VC:L/VI:H/VA:L/CR:H/IR:M/AR:H", "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M", "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M", "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H", "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M"]],
        [[], ["VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"]],
    ];
    private static readonly string[][] Eq4Max = [["SC:H/SI:S/SA:S"], ["SC:H/SI:H/SA:H"], ["SC:L/SI:L/SA:L"]];
    private static readonly string[][] Eq5Max = [["E:A"], ["E:P"], ["E:U"]];

    // How many 0.1 steps deep each class is, plus one (cvss40.js MAX_SEVERITY).
    private static readonly int[] Eq1Depth = [1, 4, 5];
    private static readonly int[] Eq2Depth = [1, 2];
    private static readonly int[][] Eq3Eq6Depth = [[7, 6], [8, 8], [0, 10]];
    private static readonly int[] Eq4Depth = [6, 5, 4];

    public static double Score(IReadOnlyDictionary<string, string> metrics)
    {
        string Value(string metric)
        {
            var own = metrics.GetValueOrDefault(metric, "X");
            // Unset threat and security-requirement metrics take their worst case (§8.1: E:X is E:A, CR:X is CR:H).
            if (own == "X" && metric is "E" or "CR" or "IR" or "AR")
            {
                return metric == "E" ? "A" : "H";
            }
            return metrics.TryGetValue("M" + metric, out var modified) && modified != "X" ? modified : own;
        }

        // §8.2: a vector with no impact on the vulnerable or any subsequent system scores 0.
        if (new[] { "VC", "VI", "VA", "SC", "SI", "SA" }.All(m => Value(m) == "N"))
        {
            return 0.0;
        }
        var (av, pr, ui) = (Value("AV"), Value("PR"), Value("UI"));
        var eq1 = av == "N" && pr == "N" && ui == "N" ? 0 : (av == "N" || pr == "N" || ui == "N") && av != "P" ? 1 : 2;
        var eq2 = Value("AC") == "L" && Value("AT") == "N" ? 0 : 1;
        var (vc, vi, va) = (Value("VC"), Value("VI"), Value("VA"));
        var eq3 = vc == "H" && vi == "H" ? 0 : vc == "H" || vi == "H" || va == "H" ? 1 : 2;
        var eq4 = Value("MSI") == "S" || Value("MSA") == "S" ? 0 : Value("SC") == "H" || Value("SI") == "H" || Value("SA") == "H" ? 1 : 2;
        var eq5 = Value("E") switch { "A" => 0, "P" => 1, _ => 2 };
        var eq6 = (Value("CR") == "H" && vc == "H") || (Value("IR") == "H" && vi == "H") || (Value("AR") == "H" && va == "H") ? 0 : 1;

        double? Macro(int e1, int e2, int e3, int e4, int e5, int e6) =>
            Cvss4MacroVectors.Scores.TryGetValue(string.Concat(e1, e2, e3, e4, e5, e6), out var s) ? s : null;
        var value = Macro(eq1, eq2, eq3, eq4, eq5, eq6) ?? 0.0;

        // The next lower MacroVector of each EQ (EQ3 and EQ6 move together); null where there is none.
        var lowerEq1 = Macro(eq1 + 1, eq2, eq3, eq4, eq5, eq6);
        var lowerEq2 = Macro(eq1, eq2 + 1, eq3, eq4, eq5, eq6);
        var lowerEq3Eq6 = (eq3, eq6) switch
        {
            (0, 0) => Max(Macro(eq1, eq2, eq3, eq4, eq5, eq6 + 1), Macro(eq1, eq2, eq3 + 1, eq4, eq5, eq6)),
            (1, 0) => Macro(eq1, eq2, eq3, eq4, eq5, eq6 + 1),
            (0 or 1, 1) => Macro(eq1, eq2, eq3 + 1, eq4, eq5, eq6),
            _ => Macro(eq1, eq2, eq3 + 1, eq4, eq5, eq6 + 1),
        };
        var lowerEq4 = Macro(eq1, eq2, eq3, eq4 + 1, eq5, eq6);
        var lowerEq5 = Macro(eq1, eq2, eq3, eq4, eq5 + 1, eq6);

        // The first highest-severity vector of the MacroVector that is at least as severe as this one in every metric.
        Dictionary<string, double> distances = [];
        foreach (var candidate in
                 from a in Eq1Max[eq1]
                 from b in Eq2Max[eq2]
                 from c in Eq3Eq6Max[eq3][eq6]
                 from d in Eq4Max[eq4]
                 from e in Eq5Max[eq5]
                 select string.Join('/', a, b, c, d, e))
        {
            var max = candidate.Split('/').Select(p => p.Split(':')).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
            distances = Levels.ToDictionary(l => l.Key, l => l.Value[Value(l.Key)] - l.Value[max[l.Key]], StringComparer.Ordinal);
            if (distances.Values.All(d => d >= 0))
            {
                break;
            }
        }

        const double Step = 0.1;
        var available = 0;
        var sum = 0.0;
        void Add(double? lower, double distance, int depth)
        {
            if (lower is { } l)
            {
                available++;
                sum += (value - l) * (distance / (depth * Step));
            }
        }
        Add(lowerEq1, distances["AV"] + distances["PR"] + distances["UI"], Eq1Depth[eq1]);
        Add(lowerEq2, distances["AC"] + distances["AT"], Eq2Depth[eq2]);
        Add(lowerEq3Eq6, distances["VC"] + distances["VI"] + distances["VA"] + distances["CR"] + distances["IR"] + distances["AR"], Eq3Eq6Depth[eq3][eq6]);
        Add(lowerEq4, distances["SC"] + distances["SI"] + distances["SA"], Eq4Depth[eq4]);
        // EQ5's proportion is always 0 (one vector per class), but a lower class still counts in the mean.
        Add(lowerEq5, 0, 1);
        var mean = available == 0 ? 0 : sum / available;
        // Rounded half up to one decimal, with the reference calculator's 1e-6 guard against float noise (8.6 - 7.15).
        return Math.Floor(((Math.Clamp(value - mean, 0, 10) + 1e-6) * 10) + 0.5) / 10;
    }

    // Both lower MacroVectors must exist for EQ3+EQ6 at (0,0) (cvss40.js takes Math.max, which is NaN if either is missing).
    private static double? Max(double? a, double? b) => a is { } x && b is { } y ? Math.Max(x, y) : null;
}
