using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Gatehouse.Benchmarks;

/// <summary><c>wrk</c>: turns the text wrk prints with --latency into JSON (percentiles in ms, requests/s, errors).</summary>
public static partial class WrkCommand
{
    public static int Run(Arguments args)
    {
        var text = File.ReadAllText(args.Required("input"));
        var result = Parse(text);
        result["label"] = args.Required("label");
        result["command"] = args.Optional("command");
        if (args.Optional("host-log-lines") is { } lines && result["requests"] is { } requests)
        {
            // Every line is formatted on the request path; the console logger's bounded queue makes requests wait when it is full.
            result["hostLogLinesPerRequest"] = Results.Round(long.Parse(lines, CultureInfo.InvariantCulture) / (double)requests.GetValue<long>(), 2);
        }
        Results.Write(result, args.Optional("out"));
        return 0;
    }

    public static JsonObject Parse(string text)
    {
        var result = new JsonObject { ["kind"] = "wrk" };
        foreach (Match m in Percentile().Matches(text))
        {
            result[$"p{m.Groups[1].Value}Ms"] = Results.Round(ToMs(m.Groups[2].Value, m.Groups[3].Value), 3);
        }
        if (RequestsPerSecond().Match(text) is { Success: true } rps)
        {
            result["requestsPerSecond"] = Results.Round(double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture));
        }
        if (Total().Match(text) is { Success: true } total)
        {
            result["requests"] = long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        result["non2xx"] = NonSuccess().Match(text) is { Success: true } bad ? long.Parse(bad.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        result["socketErrors"] = SocketErrors().Match(text) is { Success: true } errors ? errors.Groups[1].Value.Trim() : null;
        return result;
    }

    private static double ToMs(string value, string unit)
    {
        var number = double.Parse(value, CultureInfo.InvariantCulture);
        return unit switch
        {
            "us" => number / 1000,
            "ms" => number,
            "s" => number * 1000,
            "m" => number * 60_000,
            _ => throw new FormatException($"unknown wrk unit '{unit}'"),
        };
    }

    [GeneratedRegex(@"^\s+(50|75|90|99)%\s+([0-9.]+)(us|ms|s|m)\s*$", RegexOptions.Multiline)]
    private static partial Regex Percentile();

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"^\s+([0-9]+) requests in", RegexOptions.Multiline)]
    private static partial Regex Total();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+([0-9]+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"Socket errors:(.*)$", RegexOptions.Multiline)]
    private static partial Regex SocketErrors();
}
