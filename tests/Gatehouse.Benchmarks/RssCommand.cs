using System.Globalization;
using System.Text.Json.Nodes;

namespace Gatehouse.Benchmarks;

/// <summary><c>rss</c>: a process's resident set now (VmRSS) and its peak since start (VmHWM), from /proc.</summary>
public static class RssCommand
{
    public static int Run(Arguments args)
    {
        var pid = args.Long("pid");
        var status = File.ReadAllLines($"/proc/{pid}/status");
        double Mb(string field) =>
            long.Parse(status.First(l => l.StartsWith(field + ":", StringComparison.Ordinal))[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        Results.Write(new JsonObject
        {
            ["kind"] = "rss",
            ["case"] = args.Required("case"),
            ["phase"] = args.Required("phase"),
            ["pid"] = pid,
            ["vmHwmMiB"] = Results.Round(Mb("VmHWM")),
            ["vmRssMiB"] = Results.Round(Mb("VmRSS")),
            ["note"] = args.Optional("note"),
        }, args.Optional("out"));
        return 0;
    }
}
