using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Scanning.Reports;

/// <summary>
/// SARIF 2.1.0 (OASIS) for code-scanning tools: one run, one rule per rule id, one result per finding. Dangerous and
/// Invalid are errors, Suspicious a warning; files that could not be scanned are tool execution notifications.
/// </summary>
public static class SarifReport
{
    public const string Schema = "https://json.schemastore.org/sarif-2.1.0.json";

    public static string Write(ScanRun run, string? workingDirectory = null)
    {
        var findings = run.Files.Where(f => f.Report is not null).SelectMany(f => f.Report!.Findings.Select(x => (File: f, Finding: x))).ToList();
        var ruleIds = findings.Select(x => x.Finding.Rule).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var rules = new JsonArray(ruleIds.Select(id => (JsonNode)new JsonObject
        {
            ["id"] = id,
            ["name"] = id,
            ["shortDescription"] = new JsonObject { ["text"] = findings.First(x => x.Finding.Rule == id).Finding.Message },
        }).ToArray());
        var results = new JsonArray();
        foreach (var (file, finding) in findings)
        {
            var location = new JsonObject
            {
                ["physicalLocation"] = new JsonObject
                {
                    ["artifactLocation"] = new JsonObject { ["uri"] = Uri(file.Path) },
                },
            };
            if (finding.Offset is { } offset && finding.Path is null)
            {
                location["physicalLocation"]!["region"] = new JsonObject { ["byteOffset"] = offset, ["byteLength"] = 1 };
            }
            if (finding.Path is not null)
            {
                location["logicalLocations"] = new JsonArray(new JsonObject { ["fullyQualifiedName"] = finding.Path, ["kind"] = "member" });
            }
            results.Add(new JsonObject
            {
                ["ruleId"] = finding.Rule,
                ["ruleIndex"] = ruleIds.IndexOf(finding.Rule),
                ["level"] = finding.Level switch
                {
                    ScanLevel.Dangerous or ScanLevel.Invalid => "error",
                    ScanLevel.Suspicious => "warning",
                    _ => "note",
                },
                ["message"] = new JsonObject { ["text"] = finding.Message },
                ["locations"] = new JsonArray(location),
                ["properties"] = new JsonObject
                {
                    ["scanLevel"] = finding.Level.ToString().ToUpperInvariant(),
                    ["global"] = finding.Global,
                    ["callSite"] = finding.CallSite,
                    ["offset"] = finding.Offset,
                    ["member"] = finding.Path,
                },
            });
        }
        var notifications = new JsonArray(run.Files.Where(f => f.Error is not null).Select(f => (JsonNode)new JsonObject
        {
            ["level"] = "error",
            ["message"] = new JsonObject { ["text"] = $"{f.Path}: {f.Error}" },
        }).ToArray());
        var invocation = new JsonObject
        {
            ["executionSuccessful"] = run.Files.All(f => f.Error is null),
            ["toolExecutionNotifications"] = notifications,
        };
        if (workingDirectory is not null)
        {
            invocation["workingDirectory"] = new JsonObject { ["uri"] = new System.Uri(Path.GetFullPath(workingDirectory) + Path.DirectorySeparatorChar).AbsoluteUri };
        }
        var sarif = new JsonObject
        {
            ["$schema"] = Schema,
            ["version"] = "2.1.0",
            ["runs"] = new JsonArray(new JsonObject
            {
                ["tool"] = new JsonObject
                {
                    ["driver"] = new JsonObject
                    {
                        ["name"] = "Gatehouse",
                        ["semanticVersion"] = ToolInfo.Version,
                        ["informationUri"] = "https://github.com/gatehouse/gatehouse",
                        ["rules"] = rules,
                    },
                },
                ["invocations"] = new JsonArray(invocation),
                ["results"] = results,
            }),
        };
        return sarif.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    // SARIF wants URI references: relative paths with forward slashes, escaped.
    private static string Uri(string path) =>
        string.Join('/', path.Replace('\\', '/').Split('/').Select(System.Uri.EscapeDataString));
}
