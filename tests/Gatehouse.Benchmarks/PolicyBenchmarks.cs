using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using Gatehouse.Pipeline;
using Gatehouse.Policy;
using Gatehouse.PyPI;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;

namespace Gatehouse.Benchmarks;

/// <summary>
/// One policy decision for one PyPI file under a generated policy of 200 rules and 50 exceptions, in the worst case:
/// no allow, quarantine or block rule holds, so every rule is asked, and the warn rules that do hold each look through
/// all 50 exceptions for a waiver. Two inputs: metadata only (what an index page and the gate before download ask),
/// and the same file with its scanned content's facts.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PercentileConfig))]
public class PolicyBenchmarks
{
    public const int RuleCount = 200;
    public const int ExceptionCount = 50;

    /// <summary>Every this many rules one is a warn rule that holds for the benchmark's file.</summary>
    public const int HoldingWarnEvery = 20;

    public const string MetadataMethod = "metadata only (index page, gate before download)";
    public const string ContentMethod = "metadata + scanned content facts";

    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    private DeclarativePolicy _policy = null!;
    private PolicyInput _metadataOnly = null!;
    private PolicyInput _withContent = null!;

    [GlobalSetup]
    public void Setup()
    {
        _policy = new DeclarativePolicy(PolicyParser.Parse(GeneratePolicy()), TimeProvider.System);
        (_metadataOnly, _withContent) = Inputs();
    }

    [Benchmark(Baseline = true, Description = MetadataMethod)]
    public PolicyOutcome MetadataOnly() => _policy.Evaluate(_metadataOnly, Now);

    [Benchmark(Description = ContentMethod)]
    public PolicyOutcome WithContent() => _policy.Evaluate(_withContent, Now);

    /// <summary>The time the benchmark evaluates at.</summary>
    public static DateTimeOffset EvaluatedAt => Now;

    /// <summary>
    /// A policy of <see cref="RuleCount"/> rules cycling through the kinds a real policy file has (a project's bad
    /// releases by version specifier, advisory ids, CVSS per project family, licences, typosquat targets, content rules,
    /// cooldowns, provenance, any/all/not combinations), and <see cref="ExceptionCount"/> exceptions for other projects
    /// matched by remote, project glob and version specifier, each waiving a few rules.
    /// </summary>
    public static string GeneratePolicy()
    {
        var yaml = new StringBuilder();
        yaml.AppendLine("version: 1");
        yaml.AppendLine("name: bench-200-rules");
        yaml.AppendLine("default: allow");
        yaml.AppendLine("licences:");
        yaml.AppendLine("  allow: [MIT, Apache-2.0, BSD-*, ISC, PSF-2.0, MPL-2.0]");
        yaml.AppendLine("  deny: [GPL-3.0-*, AGPL-*, SSPL-1.0]");
        yaml.AppendLine("rules:");
        for (var i = 0; i < RuleCount; i++)
        {
            var id = RuleId(i);
            if (i % HoldingWarnEvery == HoldingWarnEvery - 1)
            {
                // Holds for the benchmark's file (it has one low advisory), so the exceptions are searched for a waiver.
                Rule(yaml, id, "warn", $"vulnerability.count: {{ at-least: 1 }}");
                continue;
            }
            var n = i.ToString(CultureInfo.InvariantCulture);
            switch (i % 10)
            {
                case 0:
                    Rule(yaml, id, "block", $"project: legacy-{n}", $"version: {{ specifier: \"<{i % 7 + 1}.{i % 3}\" }}");
                    break;
                case 1:
                    Rule(yaml, id, "block", $"vulnerability.ids: {{ in: [GHSA-bench-{n}-*, CVE-2024-{1000 + i}, PYSEC-2023-{n}] }}");
                    break;
                case 2:
                    Rule(yaml, id, "block", $"project: \"corp-{n}-*\"", "vulnerability.cvss: { at-least: 7.0 }");
                    break;
                case 3:
                    Rule(yaml, id, "quarantine", "licence: denied", $"project: {{ in: [copyleft-{n}, gpl-tool-{n}*] }}");
                    break;
                case 4:
                    Rule(yaml, id, "quarantine", $"name.typosquat-of: {{ in: [popular-{n}, famous-{n}] }}");
                    break;
                case 5:
                    Rule(yaml, id, "block", $"content.rules: {{ in: [\"custom.rule-{n}.*\"] }}");
                    break;
                case 6:
                    Rule(yaml, id, "quarantine", $"age: {{ younger-than: {i % 14 + 1}d }}", $"project: \"new-{n}-*\"");
                    break;
                case 7:
                    yaml.AppendLine(CultureInfo.InvariantCulture, $"  - id: {id}");
                    yaml.AppendLine("    action: quarantine");
                    yaml.AppendLine("    when:");
                    yaml.AppendLine("      any:");
                    yaml.AppendLine(CultureInfo.InvariantCulture, $"        - all: [{{ project: team-{n} }}, {{ provenance.attested: false }}]");
                    yaml.AppendLine(CultureInfo.InvariantCulture, $"        - all: [{{ project: internal-{n}-* }}, {{ not: {{ licence: {{ in: [allowed] }} }} }}]");
                    break;
                case 8:
                    Rule(yaml, id, "block", $"version: {{ specifier: \"=={n}.*\" }}", $"file: \"*-{n}-*.whl\"");
                    break;
                default:
                    Rule(yaml, id, "warn", $"name.signals: {{ in: [name.hallucination-shape] }}", $"project: \"ai-{n}-*\"");
                    break;
            }
        }
        yaml.AppendLine("exceptions:");
        for (var j = 0; j < ExceptionCount; j++)
        {
            var n = j.ToString(CultureInfo.InvariantCulture);
            yaml.AppendLine(CultureInfo.InvariantCulture, $"  - id: waiver-{n}");
            yaml.AppendLine(CultureInfo.InvariantCulture, $"    match: {{ remote: pypi, project: \"vendor-{n}-*\", version: \"<{j % 5 + 2}.0\" }}");
            yaml.AppendLine(CultureInfo.InvariantCulture, $"    rules: [{RuleId(j * 4 % RuleCount)}, {RuleId((j * 4 + 19) % RuleCount)}]");
            yaml.AppendLine(CultureInfo.InvariantCulture, $"    expires: 2027-{j % 12 + 1:00}-28");
            yaml.AppendLine(CultureInfo.InvariantCulture, $"    reason: vendor {n} ships a patched build until the upstream fix");
            yaml.AppendLine(CultureInfo.InvariantCulture, $"    owner: team-{j % 7}@example.com");
        }
        return yaml.ToString();
    }

    /// <summary>The benchmark's file (an established project, MIT, one low advisory, published long ago), without and with content facts.</summary>
    public static (PolicyInput MetadataOnly, PolicyInput WithContent) Inputs()
    {
        const string Project = "steady-lib";
        const string Version = "2.3.1";
        const string File = "steady_lib-2.3.1-py3-none-any.whl";
        var sha = new string('a', 64);
        var reference = new ArtifactReference(PyPIRemote.Pypi, PyPIRemote.Key(Project, File), PyPIRemote.Subject(Project, File), File, sha, 48_213,
            "https://files.example/" + File, "2025-10-01T09:00:00.000000Z");
        var advisory = new AdvisoryFact("PYSEC-2025-77", ["CVE-2025-40077"], "a crafted header slows the parser down", 3.1, "low", false, ["2.3.2"]);
        var context = PyPIRemote.Context(reference) with
        {
            Facts = new ReferenceFacts
            {
                Project = Project,
                Version = Version,
                Advisories = [advisory],
                Licence = new LicenceInfo("MIT", "License-Expression", "MIT"),
                Name = new NameInfo(null, null, ["name.few-releases"]),
                PublishedAt = new DateTimeOffset(2025, 10, 1, 9, 0, 0, TimeSpan.Zero),
                Attested = true,
                AttestationLost = false,
            },
        };
        Finding[] findings =
        [
            new("archive.symlink-inside", Severity.Info, "a symlink that stays inside the archive", "steady_lib/data/link", Check: "ArchiveSafetyActivity"),
            new("install.entry-point", Severity.Info, "console script steady-lib", Check: "InstallTimeCodeActivity"),
        ];
        var content = new ContentFacts(sha, 48_213, ContentFacts.CurrentVersion, ArchiveFormat.Zip, true, "data", findings, [], "artifacts", Now.AddDays(-30));
        return (new PolicyInput(context, null), new PolicyInput(context, content));
    }

    private static string RuleId(int i) => string.Create(CultureInfo.InvariantCulture, $"r{i:000}");

    private static void Rule(StringBuilder yaml, string id, string action, params string[] conditions)
    {
        yaml.AppendLine(CultureInfo.InvariantCulture, $"  - id: {id}");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"    action: {action}");
        yaml.AppendLine("    when:");
        foreach (var condition in conditions)
        {
            yaml.AppendLine(CultureInfo.InvariantCulture, $"      {condition}");
        }
    }

    /// <summary>Percentiles of the iteration means next to mean and median (the p99 is computed into the JSON result).</summary>
    private sealed class PercentileConfig : ManualConfig
    {
        public PercentileConfig() => AddColumn(StatisticColumn.Median, StatisticColumn.P95, StatisticColumn.P100);
    }
}
