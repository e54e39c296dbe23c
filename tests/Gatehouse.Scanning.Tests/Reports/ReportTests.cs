using System.Text.Json;
using Gatehouse.Scanning.Reports;

namespace Gatehouse.Scanning.Tests.Reports;

public sealed class ReportTests
{
    private static readonly ScanRun Mixed = new(
    [
        new("models/clean.safetensors", FileReport.From("models/clean.safetensors", "safetensors", [], 100), null),
        new("models/evil.bin", FileReport.From("models/evil.bin", "pytorch-zip",
            [new("pickle.dangerous-global", ScanLevel.Dangerous, "os.system is called at load", "archive/data.pkl", 42, "os.system", "REDUCE")], 2000), null),
        new("models/odd.pt", FileReport.From("models/odd.pt", "data", [new("container.unrecognised", ScanLevel.Suspicious, "not a checkpoint format")], 10), null),
        new("models/gone.pt", null, "Permission denied"),
    ]);

    [Fact]
    public void Exit_code_is_0_when_all_safe_1_on_findings_and_2_on_errors()
    {
        Assert.Equal(0, new ScanRun([Mixed.Files[0]]).ExitCode);
        Assert.Equal(1, new ScanRun([Mixed.Files[0], Mixed.Files[1]]).ExitCode);
        Assert.Equal(2, Mixed.ExitCode);
    }

    [Fact]
    public void Sarif_is_version_2_1_0_with_one_rule_per_id_and_levels_by_severity()
    {
        using var doc = JsonDocument.Parse(SarifReport.Write(Mixed));
        var root = doc.RootElement;
        Assert.Equal("2.1.0", root.GetProperty("version").GetString());
        Assert.Equal(SarifReport.Schema, root.GetProperty("$schema").GetString());
        var run = Assert.Single(root.GetProperty("runs").EnumerateArray());
        var rules = run.GetProperty("tool").GetProperty("driver").GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        Assert.Equal(["container.unrecognised", "pickle.dangerous-global"], rules);
        var results = run.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(2, results.Count);
        var dangerous = results.Single(r => r.GetProperty("ruleId").GetString() == "pickle.dangerous-global");
        Assert.Equal("error", dangerous.GetProperty("level").GetString());
        Assert.Equal(rules.IndexOf("pickle.dangerous-global"), dangerous.GetProperty("ruleIndex").GetInt32());
        Assert.Equal("models/evil.bin", dangerous.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation").GetProperty("uri").GetString());
        Assert.Equal("archive/data.pkl", dangerous.GetProperty("locations")[0].GetProperty("logicalLocations")[0].GetProperty("fullyQualifiedName").GetString());
        Assert.Equal("os.system", dangerous.GetProperty("properties").GetProperty("global").GetString());
        Assert.Equal("warning", results.Single(r => r.GetProperty("ruleId").GetString() == "container.unrecognised").GetProperty("level").GetString());
        var invocation = run.GetProperty("invocations")[0];
        Assert.False(invocation.GetProperty("executionSuccessful").GetBoolean());
        Assert.Contains("Permission denied", invocation.GetProperty("toolExecutionNotifications")[0].GetProperty("message").GetProperty("text").GetString());
    }

    [Fact]
    public void Json_report_summarises_by_level_and_keeps_every_finding_field()
    {
        using var doc = JsonDocument.Parse(JsonReport.Write(Mixed));
        var summary = doc.RootElement.GetProperty("summary");
        Assert.Equal(1, summary.GetProperty("safe").GetInt32());
        Assert.Equal(1, summary.GetProperty("dangerous").GetInt32());
        Assert.Equal(1, summary.GetProperty("suspicious").GetInt32());
        Assert.Equal(1, summary.GetProperty("error").GetInt32());
        var evil = doc.RootElement.GetProperty("files")[1];
        Assert.Equal("DANGEROUS", evil.GetProperty("verdict").GetString());
        var finding = evil.GetProperty("findings")[0];
        Assert.Equal(42, finding.GetProperty("offset").GetInt64());
        Assert.Equal("REDUCE", finding.GetProperty("callSite").GetString());
    }

    [Fact]
    public void Text_report_is_a_table_with_each_finding_under_its_file()
    {
        var text = TextReport.Write(Mixed);
        var lines = text.Split('\n');
        Assert.StartsWith("VERDICT", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("SAFE") && l.EndsWith("models/clean.safetensors"));
        Assert.Contains(lines, l => l.StartsWith("DANGEROUS") && l.EndsWith("models/evil.bin"));
        Assert.Contains(lines, l => l.Contains("DANGEROUS pickle.dangerous-global os.system via REDUCE in archive/data.pkl @42"));
        Assert.Contains(lines, l => l.StartsWith("ERROR") && l.EndsWith("models/gone.pt"));
        Assert.Contains("4 files: 1 safe, 1 suspicious, 1 dangerous, 1 error", text);
    }
}
