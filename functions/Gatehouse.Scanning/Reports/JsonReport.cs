using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Scanning.Reports;

/// <summary>The machine-readable report: every file, its verdict and findings, and a summary by level.</summary>
public static class JsonReport
{
    public static string Write(ScanRun run)
    {
        var files = new JsonArray();
        foreach (var file in run.Files)
        {
            var o = new JsonObject
            {
                ["path"] = file.Path,
                ["verdict"] = file.VerdictName,
                ["format"] = file.Report?.Format,
                ["size"] = file.Report?.Size,
                ["inert"] = file.Report?.IsInert ?? false,
            };
            if (file.Error is not null)
            {
                o["error"] = file.Error;
            }
            o["findings"] = new JsonArray((file.Report?.Findings ?? []).Select(f => (JsonNode)new JsonObject
            {
                ["rule"] = f.Rule,
                ["level"] = f.Level.ToString().ToUpperInvariant(),
                ["message"] = f.Message,
                ["path"] = f.Path,
                ["offset"] = f.Offset,
                ["global"] = f.Global,
                ["callSite"] = f.CallSite,
            }).ToArray());
            files.Add(o);
        }
        var summary = new JsonObject();
        foreach (var name in new[] { "SAFE", "SUSPICIOUS", "INVALID", "DANGEROUS", "ERROR" })
        {
            summary[name.ToLowerInvariant()] = run.Files.Count(f => f.VerdictName == name);
        }
        var document = new JsonObject
        {
            ["tool"] = new JsonObject { ["name"] = "gatehouse scan", ["version"] = ToolInfo.Version },
            ["summary"] = summary,
            ["files"] = files,
        };
        return document.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
