using System.Text;

namespace Gatehouse.Scanning.Reports;

/// <summary>The human report: a table of files with their verdicts, then each finding under its file.</summary>
public static class TextReport
{
    public static string Write(ScanRun run)
    {
        var sb = new StringBuilder();
        var width = Math.Max(4, run.Files.Count == 0 ? 4 : run.Files.Max(f => f.Path.Length));
        var formatWidth = Math.Max(6, run.Files.Count == 0 ? 6 : run.Files.Max(f => (f.Report?.Format ?? "-").Length));
        sb.Append("VERDICT     ").Append("FORMAT".PadRight(formatWidth + 2)).Append("FILE\n");
        foreach (var file in run.Files)
        {
            sb.Append(file.VerdictName.PadRight(12)).Append((file.Report?.Format ?? "-").PadRight(formatWidth + 2)).Append(file.Path).Append('\n');
            if (file.Error is not null)
            {
                sb.Append("            ! ").Append(file.Error).Append('\n');
            }
            foreach (var f in file.Report?.Findings ?? [])
            {
                var inert = f.Level == ScanLevel.Safe && f.Rule == InertContent.Rule;
                if (f.Level == ScanLevel.Safe && !inert)
                {
                    continue;
                }
                sb.Append("            ").Append(inert ? "INERT" : f.Level.ToString().ToUpperInvariant()).Append(' ').Append(f.Rule);
                if (f.Global is not null)
                {
                    sb.Append(' ').Append(f.Global);
                }
                if (f.CallSite is not null)
                {
                    sb.Append(" via ").Append(f.CallSite);
                }
                if (f.Path is not null)
                {
                    sb.Append(" in ").Append(f.Path);
                }
                if (f.Offset is { } offset)
                {
                    sb.Append(" @").Append(offset);
                }
                sb.Append(": ").Append(f.Message).Append('\n');
            }
        }
        var counts = string.Join(", ", new[] { "SAFE", "SUSPICIOUS", "INVALID", "DANGEROUS", "ERROR" }
            .Select(n => (n, c: run.Files.Count(f => f.VerdictName == n))).Where(x => x.c > 0).Select(x => $"{x.c} {x.n.ToLowerInvariant()}{InertCount(run, x.n)}"));
        sb.Append('\n').Append(run.Files.Count).Append(run.Files.Count == 1 ? " file" : " files").Append(counts.Length > 0 ? ": " + counts : "").Append('\n');
        return sb.ToString();
    }

    private static string InertCount(ScanRun run, string verdict)
    {
        var inert = verdict == "SAFE" ? run.Files.Count(f => f.Report?.IsInert == true) : 0;
        return inert > 0 ? $" ({inert} inert)" : "";
    }
}
