using Gatehouse.HuggingFace;
using Gatehouse.Pipeline;
using Gatehouse.Policy;
using Gatehouse.PyPI;
using Gatehouse.Scanning;
using Gatehouse.Scans;
using static Gatehouse.Core.Tests.Pipeline.ContentUnderTest;

namespace Gatehouse.Core.Tests.Policy;

/// <summary>The policy language: what a file says, what each rule decides over which facts, and the reason a client reads.</summary>
public class PolicyLanguageTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    private const string Cooldown = """
        version: 1
        name: cooldown
        rules:
          - id: cooldown
            action: quarantine
            when:
              age: { younger-than: 7d }
        exceptions:
          - id: fresh-fix
            match: { remote: pypi, project: urgent-fix }
            rules: [cooldown]
            expires: 2026-12-31
            reason: the fix for an outage
            owner: alice@example.com
          - id: old-waiver
            match: { project: stale-* }
            expires: 2026-11-30
            reason: a waiver that ran out
            owner: bob@example.com
          - id: model-waiver
            match: { remote: hf, organisation: trusted-org }
            expires: 2027-01-31
            reason: our own org's models
            owner: carol@example.com
        """;

    private static DeclarativePolicy Policy(string yaml) => new(PolicyParser.Parse(yaml), TimeProvider.System);

    private static ArtifactContext PyPIFile(string project, string version, ReferenceFacts? facts = null)
    {
        var file = $"{project.Replace('-', '_')}-{version}-py3-none-any.whl";
        var reference = new ArtifactReference(PyPIRemote.Pypi, PyPIRemote.Key(project, file), $"{project} {version}", file, Sha, 100, "https://files.example/" + file, null);
        return PyPIRemote.Context(reference) with { Facts = (facts ?? new ReferenceFacts()) with { Project = project, Version = version } };
    }

    private static ArtifactContext HfFile(string repo, DateTimeOffset committed)
    {
        var reference = new ArtifactReference(HuggingFaceRemote.Hf, new ReferenceKey("hf:" + repo.Replace("/", "%2F", StringComparison.Ordinal), "c0ffee%2Fmodel.safetensors"),
            repo + "@c0ffee", "model.safetensors", Sha, 100, "https://hub.example/model.safetensors", null);
        return HuggingFaceRemote.Context(reference) with
        {
            Facts = new ReferenceFacts { Project = repo, Organisation = repo.Split('/')[0], Version = "c0ffee", PublishedAt = committed },
        };
    }

    [Theory]
    [InlineData("gh-new", -1, Decision.Quarantined)]
    [InlineData("gh-old", -30, Decision.Allowed)]
    [InlineData("urgent-fix", -1, Decision.Allowed)]
    [InlineData("stale-thing", -1, Decision.Quarantined)]
    public void A_seven_day_cooldown_holds_young_files_unless_a_live_exception_waives_it(string project, int uploadedDaysAgo, Decision expected)
    {
        var context = PyPIFile(project, "1.0", new ReferenceFacts { PublishedAt = Now.AddDays(uploadedDaysAgo) });
        var outcome = Policy(Cooldown).Evaluate(new PolicyInput(context, null), Now);
        Assert.Equal(expected, outcome.Decision);
        if (expected == Decision.Quarantined)
        {
            Assert.Equal("cooldown", outcome.Rule);
            Assert.Contains("published 1 day ago", outcome.Reason);
            Assert.StartsWith("Quarantined by Gatehouse:", outcome.Reason);
        }
    }

    [Fact]
    public void A_waived_rule_is_named_among_the_warnings_with_its_owner_and_expiry()
    {
        var outcome = Policy(Cooldown).Evaluate(new PolicyInput(PyPIFile("urgent-fix", "1.0", new ReferenceFacts { PublishedAt = Now.AddHours(-3) }), null), Now);
        var warning = Assert.Single(outcome.Warnings);
        Assert.Contains("fresh-fix", warning);
        Assert.Contains("alice@example.com", warning);
        Assert.Contains("2026-12-31", warning);
    }

    [Fact]
    public void An_exception_ends_when_its_last_day_ends()
    {
        var policy = Policy(Cooldown);
        var input = new PolicyInput(PyPIFile("urgent-fix", "1.0", new ReferenceFacts { PublishedAt = new DateTimeOffset(2026, 12, 31, 12, 0, 0, TimeSpan.Zero) }), null);
        Assert.Equal(Decision.Allowed, policy.Evaluate(input, new DateTimeOffset(2026, 12, 31, 23, 59, 0, TimeSpan.Zero)).Decision);
        Assert.Equal(Decision.Quarantined, policy.Evaluate(input, new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)).Decision);
    }

    [Theory]
    [InlineData("someone/model", -2, Decision.Quarantined)]
    [InlineData("someone/model", -40, Decision.Allowed)]
    [InlineData("trusted-org/model", -2, Decision.Allowed)]
    public void The_cooldown_holds_a_young_Hugging_Face_commit_as_it_holds_a_PyPI_upload(string repo, int committedDaysAgo, Decision expected)
    {
        var outcome = Policy(Cooldown).Evaluate(new PolicyInput(HfFile(repo, Now.AddDays(committedDaysAgo)), null), Now);
        Assert.Equal(expected, outcome.Decision);
    }

    [Fact]
    public void A_file_whose_age_is_unknown_is_not_held_by_an_age_rule()
    {
        Assert.Equal(Decision.Allowed, Policy(Cooldown).Evaluate(new PolicyInput(PyPIFile("gh-new", "1.0"), null), Now).Decision);
    }

    private const string Layered = """
        version: 1
        licences:
          allow: [MIT, Apache-2.0, BSD-*]
          deny: [GPL-3.0-*, AGPL-*]
        rules:
          - id: malware
            action: block
            when: { vulnerability.malicious: true }
          - id: critical
            action: block
            when: { vulnerability.severity: { at-least: critical } }
          - id: some-vulnerability
            action: warn
            when: { vulnerability.count: { at-least: 1 } }
          - id: licence-denied
            action: block
            when: { licence: denied }
          - id: licence-unknown
            action: quarantine
            when: { licence: { in: [unknown, none] } }
          - id: typosquat
            action: quarantine
            when: { name.typosquat: true }
          - id: old-django
            action: block
            when:
              project: django
              version: { specifier: "<3.2" }
        """;

    private static AdvisoryFact Advisory(string id, string severity, double? cvss, params string[] fixedIn) =>
        new(id, ["CVE-2024-0001"], "remote code execution in the parser", cvss, severity, id.StartsWith("MAL-", StringComparison.Ordinal), fixedIn);

    [Fact]
    public void A_critical_advisory_blocks_and_the_reason_names_it_with_its_score_and_its_fix()
    {
        var context = PyPIFile("gh-dep", "1.0.0", new ReferenceFacts { Advisories = [Advisory("GHSA-aaaa-bbbb-cccc", "critical", 9.8, "1.1.0")], Licence = new("MIT", "License-Expression", "MIT") });
        var outcome = Policy(Layered).Evaluate(new PolicyInput(context, null), Now);
        Assert.Equal(Decision.Blocked, outcome.Decision);
        Assert.Equal("critical", outcome.Rule);
        Assert.Equal("Blocked by Gatehouse: gh-dep 1.0.0 is affected by GHSA-aaaa-bbbb-cccc (critical, CVSS 9.8): remote code execution in the parser; fixed in 1.1.0 (critical)", outcome.Reason);
    }

    [Fact]
    public void A_lesser_advisory_warns_and_the_file_is_served()
    {
        var context = PyPIFile("gh-dep", "1.0.0", new ReferenceFacts { Advisories = [Advisory("PYSEC-2024-1", "medium", 5.3)], Licence = new("MIT", "License-Expression", "MIT") });
        var outcome = Policy(Layered).Evaluate(new PolicyInput(context, null), Now);
        Assert.Equal(Decision.Allowed, outcome.Decision);
        Assert.Contains(outcome.Warnings, w => w.Contains("PYSEC-2024-1", StringComparison.Ordinal) && w.StartsWith("Gatehouse warns:", StringComparison.Ordinal));
    }

    [Fact]
    public void Malware_reports_block_before_anything_else_is_asked()
    {
        var context = PyPIFile("gh-typo", "0.1", new ReferenceFacts { Advisories = [Advisory("MAL-2025-1234", "unknown", null)] });
        var outcome = Policy(Layered).Evaluate(new PolicyInput(context, null), Now);
        Assert.Equal(Decision.Blocked, outcome.Decision);
        Assert.Equal("malware", outcome.Rule);
        Assert.Contains("MAL-2025-1234", outcome.Reason);
    }

    [Theory]
    [InlineData("MIT OR GPL-3.0-only", Decision.Allowed, "default")]
    [InlineData("MIT AND GPL-3.0-only", Decision.Blocked, "licence-denied")]
    [InlineData("BSD-3-Clause", Decision.Allowed, "default")]
    [InlineData("AGPL-3.0-or-later", Decision.Blocked, "licence-denied")]
    [InlineData("MPL-2.0", Decision.Quarantined, "licence-unknown")]
    [InlineData(null, Decision.Quarantined, "licence-unknown")]
    public void Licence_expressions_are_judged_as_expressions(string? expression, Decision expected, string policyRule)
    {
        var context = PyPIFile("demo", "1.0", new ReferenceFacts { Licence = new(expression, expression is null ? "License" : "License-Expression", expression ?? "Proprietary, see LICENSE") });
        var outcome = Policy(Layered).Evaluate(new PolicyInput(context, null), Now);
        Assert.Equal(expected, outcome.Decision);
        Assert.Equal(policyRule, outcome.PolicyRule);
    }

    [Fact]
    public void A_typosquat_is_held_and_the_reason_names_the_project_it_imitates()
    {
        var context = PyPIFile("reqeusts", "2.0", new ReferenceFacts { Name = new NameInfo("requests", "swapped", []), Licence = new("MIT", "License", "MIT") });
        var outcome = Policy(Layered).Evaluate(new PolicyInput(context, null), Now);
        Assert.Equal(Decision.Quarantined, outcome.Decision);
        Assert.Equal("Quarantined by Gatehouse: the name reqeusts imitates requests (swapped) (typosquat)", outcome.Reason);
    }

    [Theory]
    [InlineData("3.1.14", Decision.Blocked)]
    [InlineData("3.2", Decision.Allowed)]
    [InlineData("3.1.14rc1", Decision.Blocked)]
    // PEP 440: "<V" does not match pre-releases of V itself unless V is one.
    [InlineData("3.2rc1", Decision.Allowed)]
    [InlineData("4.2.1", Decision.Allowed)]
    public void Version_conditions_are_PEP_440_specifiers(string version, Decision expected)
    {
        var context = PyPIFile("django", version, new ReferenceFacts { Licence = new("BSD-3-Clause", "License-Expression", "BSD-3-Clause") });
        Assert.Equal(expected, Policy(Layered).Evaluate(new PolicyInput(context, null), Now).Decision);
    }

    [Fact]
    public void Content_rules_do_not_fire_before_the_content_is_scanned_and_do_after()
    {
        var policy = DeclarativePolicy.Default(TimeProvider.System);
        var context = PyPIFile("demo", "1.0");
        var evil = Combine(100, new CheckResult(ContentChecks.InstallTimeCodeCheck,
            [new Finding("install.pth-exec", Severity.Dangerous, "demo.pth runs code at every start", "demo.pth")], IsWheel: true));
        Assert.Equal(Decision.Allowed, policy.Evaluate(new PolicyInput(context, null), Now).Decision);
        var scanned = policy.Evaluate(new PolicyInput(context, evil), Now);
        Assert.Equal(Decision.Blocked, scanned.Decision);
        Assert.Equal("install.pth-exec", scanned.Rule);
        Assert.Equal("content-dangerous", scanned.PolicyRule);
    }

    [Fact]
    public void The_version_is_the_texts_hash_and_changes_with_any_byte()
    {
        var first = PolicyParser.Parse(Cooldown);
        Assert.Equal(first.Version, PolicyParser.Parse(Cooldown).Version);
        Assert.Matches("^policy-[0-9a-f]{12}$", first.Version);
        Assert.NotEqual(first.Version, PolicyParser.Parse(Cooldown + "\n# a comment\n").Version);
    }

    [Fact]
    public void The_default_policy_parses_and_says_which_rules_it_has()
    {
        var document = PolicyParser.Parse(PolicyProvider.DefaultText);
        Assert.Equal("gatehouse-default", document.Name);
        Assert.Contains(document.Rules, r => r.Id == "content-dangerous" && r.Action == PolicyAction.Block);
        Assert.Contains(document.Rules, r => r.Id == "vulnerable-high" && r.Action == PolicyAction.Block);
        Assert.Contains(document.Rules, r => r.Id == "typosquat" && r.Action == PolicyAction.Quarantine);
    }

    [Theory]
    [InlineData("version: 1\nrules:\n  - id: a\n    action: block\n    when:\n      vulnerabilty.count: 1\n", 6, "unknown fact 'vulnerabilty.count' (did you mean 'vulnerability.count'?")]
    [InlineData("version: 1\nrules:\n  - id: a\n    action: reject\n", 4, "action 'reject' is not one of allow, warn, quarantine, block")]
    [InlineData("version: 1\nrules:\n  - id: a\n    action: block\n  - id: a\n    action: warn\n", 5, "rule id 'a' is used twice (first on line 3)")]
    [InlineData("version: 1\nrules:\n  - id: a\n    action: block\n    when:\n      age: { younger-than: soon }\n", 6, "'younger-than' takes a duration")]
    [InlineData("version: 1\nrules:\n  - id: a\n    action: block\n    when:\n      version: { specifier: \"~=1\" }\n", 6, "'~=1' is not a PEP 440 specifier set")]
    [InlineData("version: 1\nrules: []\nexceptions:\n  - match: { project: x }\n    reason: r\n    owner: o\n", 4, "needs 'expires'")]
    [InlineData("version: 1\nrules: []\nexceptions:\n  - match: { project: x }\n    rules: [nope]\n    expires: 2027-01-01\n    reason: r\n    owner: o\n", 5, "waives rule 'nope', which the policy does not have")]
    [InlineData("version: 1\nrules:\n  - id: a\n    action: block\n    when: { content.severity: terrible }\n", 5, "'terrible' is not a value of content.severity")]
    [InlineData("version: 2\nrules: []\n", 1, "'version' must be 1")]
    [InlineData("version: 1\nrules:\n  - id: a\n    action: block\n   when: {\n", 5, "not valid YAML")]
    [InlineData("version: 1\nrulez: []\n", 2, "unknown key 'rulez' in the policy")]
    public void A_malformed_policy_is_refused_with_the_line_and_the_reason(string yaml, int line, string message)
    {
        Assert.False(PolicyParser.TryParse(yaml, out var document, out var errors));
        Assert.Null(document);
        Assert.Contains(errors, e => e.Line == line && e.Message.Contains(message, StringComparison.Ordinal));
        var thrown = Assert.Throws<InvalidPolicyException>(() => PolicyParser.Parse(yaml));
        Assert.Contains($"line {line}", thrown.Message);
    }
}
