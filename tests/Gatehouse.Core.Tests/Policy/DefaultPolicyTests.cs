using Gatehouse.Pipeline;
using Gatehouse.Policy;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;
using static Gatehouse.Core.Tests.Pipeline.ContentUnderTest;

namespace Gatehouse.Core.Tests.Policy;

public class DefaultPolicyTests
{
    private static readonly Finding Traversal = new("archive.path-traversal", Severity.Dangerous, "Member name ../evil.py escapes the install directory.", "../evil.py");
    private static readonly Finding Pth = new("install.pth-exec", Severity.Dangerous, "demo.pth line 1 runs code at every Python start.", "demo.pth");
    private static readonly Finding Duplicate = new("archive.duplicate-name", Severity.Suspicious, "demo/__init__.py appears more than once.", "demo/__init__.py");
    private static readonly Finding Noted = new("code.obfuscated-exec", Severity.Info, "demo/_x.py executes decoded data.", "demo/_x.py");

    /// <summary>The decision for a wheel whose checks reported <paramref name="results"/>.</summary>
    private static PolicyOutcome Decide(params CheckResult[] results) => DecidePyPI(Combine(100, results), "demo-1.0-py3-none-any.whl");

    private static CheckResult Archive(params Finding[] findings) => new(ContentChecks.ArchiveSafetyCheck, findings, Archive: ArchiveFormat.Zip);

    private static CheckResult Install(params Finding[] findings) => new(ContentChecks.InstallTimeCodeCheck, findings, IsWheel: true);

    private static CheckResult Model(params Finding[] findings) => new(nameof(ModelContentActivity), findings, ModelFormat: "zip");

    [Fact]
    public void A_clean_run_is_allowed()
    {
        var outcome = Decide(Archive(), Install(), Model());
        Assert.Equal(Decision.Allowed, outcome.Decision);
        Assert.Equal(DeclarativePolicy.CleanRule, outcome.Rule);
        Assert.Empty(outcome.Considered);
    }

    [Fact]
    public void A_dangerous_finding_blocks_with_its_rule_and_message()
    {
        var outcome = Decide(Archive(Duplicate, Traversal), Install(Noted), Model());
        Assert.Equal(Decision.Blocked, outcome.Decision);
        Assert.Equal("archive.path-traversal", outcome.Rule);
        Assert.Contains(Traversal.Message, outcome.Reason);
        Assert.Equal(3, outcome.Considered.Count);
    }

    [Fact]
    public void The_first_dangerous_finding_decides_when_there_are_several()
    {
        Assert.Equal("install.pth-exec", Decide(Install(Pth), Archive(Traversal), Model()).Rule);
    }

    [Fact]
    public void A_check_that_could_not_finish_quarantines_even_without_findings()
    {
        var outcome = Decide(Archive(), Install() with { Error = "the archive could not be read" }, Model());
        Assert.Equal(Decision.Quarantined, outcome.Decision);
        Assert.Equal(DeclarativePolicy.CheckFailedRule, outcome.Rule);
        Assert.Contains("InstallTimeCode", outcome.Reason);
        Assert.Contains("the archive could not be read", outcome.Reason);
    }

    [Fact]
    public void A_suspicious_finding_quarantines_with_its_rule()
    {
        var outcome = Decide(Archive(Noted, Duplicate), Install(), Model());
        Assert.Equal(Decision.Quarantined, outcome.Decision);
        Assert.Equal("archive.duplicate-name", outcome.Rule);
        Assert.Contains(Duplicate.Message, outcome.Reason);
    }

    [Fact]
    public void A_dangerous_finding_wins_over_a_failed_check()
    {
        var outcome = Decide(Install() with { Error = "timeout" }, Archive(Traversal), Model());
        Assert.Equal(Decision.Blocked, outcome.Decision);
        Assert.Equal("archive.path-traversal", outcome.Rule);
    }

    [Fact]
    public void A_failed_check_wins_over_a_suspicious_finding()
    {
        Assert.Equal(DeclarativePolicy.CheckFailedRule, Decide(Archive(Duplicate), Install() with { Error = "timeout" }, Model()).Rule);
    }

    [Fact]
    public void Info_findings_alone_are_allowed_and_kept()
    {
        var outcome = Decide(Install(Noted), Archive(), Model());
        Assert.Equal(Decision.Allowed, outcome.Decision);
        Assert.Equal(DeclarativePolicy.CleanRule, outcome.Rule);
        Assert.Equal([Noted with { Check = ContentChecks.InstallTimeCodeCheck }], outcome.Considered);
    }

    [Fact]
    public void A_check_that_reported_nothing_quarantines()
    {
        var outcome = Decide(Archive());
        Assert.Equal(Decision.Quarantined, outcome.Decision);
        Assert.Equal(DeclarativePolicy.CheckFailedRule, outcome.Rule);
        Assert.Contains(ContentChecks.InstallTimeCodeCheck, outcome.Reason);
    }

    [Fact]
    public void A_suspicious_model_finding_inside_a_package_is_package_data_but_holds_a_model_file()
    {
        var blob = new Finding("container.unrecognised", Severity.Suspicious, "Named 'blob.bin' but the content is none of the formats.", "demo/blob.bin");
        var facts = Combine(100, Archive(), Install(), Model(blob));
        Assert.Equal(Decision.Allowed, DecidePyPI(facts, "demo-1.0-py3-none-any.whl").Decision);
        Assert.Equal(Decision.Quarantined, DecideHf(facts, "weights.zip").Decision);
    }

    [Fact]
    public void A_dangerous_model_finding_blocks_in_a_package_too()
    {
        var pickle = new Finding("pickle.dangerous-call", Severity.Dangerous, "REDUCE calls os.system.", "demo/model.pkl");
        var facts = Combine(100, Archive(), Install(), Model(pickle));
        Assert.Equal(Decision.Blocked, DecidePyPI(facts, "demo-1.0-py3-none-any.whl").Decision);
        Assert.Equal(Decision.Blocked, DecideHf(facts, "model.zip").Decision);
    }

    [Fact]
    public void A_package_file_that_is_no_archive_or_not_the_one_its_name_promises_is_held()
    {
        var data = Combine(100, new CheckResult(ContentChecks.ArchiveSafetyCheck, []), Install(), Model() with { ModelFormat = "data" });
        Assert.Equal(ArchiveSafety.Rules.Unreadable, DecidePyPI(data, "demo-1.0.tar.gz").Rule);
        Assert.Equal(ArchiveSafety.Rules.FormatMismatch, DecidePyPI(Combine(100, Archive(), Install(), Model()), "demo-1.0.tar.gz").Rule);
        // A model repository's file promises no archive at all.
        Assert.Equal(Decision.Allowed, DecideHf(data, "notes.txt").Decision);
    }
}
