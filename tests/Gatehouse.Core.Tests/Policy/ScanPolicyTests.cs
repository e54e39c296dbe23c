using Gatehouse.Policy;
using Gatehouse.Scans;

namespace Gatehouse.Core.Tests.Policy;

public class ScanPolicyTests
{
    private const string Sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private static readonly ScanRequest Request = new(Sha, "pypi", "demo 1.0", "demo-1.0-py3-none-any.whl", 1234);

    private static readonly Finding Traversal = new("archive.path-traversal", Severity.Dangerous, "Member name ../evil.py escapes the install directory.", "../evil.py");
    private static readonly Finding Pth = new("install.pth-exec", Severity.Dangerous, "demo.pth line 1 runs code at every Python start.", "demo.pth");
    private static readonly Finding Duplicate = new("archive.duplicate-name", Severity.Suspicious, "demo/__init__.py appears more than once.", "demo/__init__.py");
    private static readonly Finding Noted = new("code.obfuscated-exec", Severity.Info, "demo/_x.py executes decoded data.", "demo/_x.py");

    private static Verdict Evaluate(params CheckResult[] results) => ScanPolicy.Evaluate(Request, results);

    [Fact]
    public void A_clean_run_is_allowed()
    {
        var verdict = Evaluate(new CheckResult(nameof(ArchiveSafetyActivity), []), new CheckResult(nameof(InstallTimeCodeActivity), []), new CheckResult(nameof(ModelContentActivity), []));
        Assert.Equal(Decision.Allowed, verdict.Decision);
        Assert.Equal(ScanPolicy.CleanRule, verdict.Rule);
        Assert.Equal(Sha, verdict.Sha256);
        Assert.Empty(verdict.Findings);
    }

    [Fact]
    public void A_dangerous_finding_blocks_with_its_rule_and_message()
    {
        var verdict = Evaluate(new CheckResult(nameof(ArchiveSafetyActivity), [Duplicate, Traversal]), new CheckResult(nameof(InstallTimeCodeActivity), [Noted]));
        Assert.Equal(Decision.Blocked, verdict.Decision);
        Assert.Equal("archive.path-traversal", verdict.Rule);
        Assert.Contains(Traversal.Message, verdict.Reason);
        Assert.Equal(3, verdict.Findings.Count);
    }

    [Fact]
    public void The_first_dangerous_finding_decides_when_there_are_several()
    {
        var verdict = Evaluate(new CheckResult(nameof(InstallTimeCodeActivity), [Pth]), new CheckResult(nameof(ArchiveSafetyActivity), [Traversal]));
        Assert.Equal("install.pth-exec", verdict.Rule);
    }

    [Fact]
    public void A_check_that_could_not_finish_quarantines_even_without_findings()
    {
        var verdict = Evaluate(new CheckResult(nameof(ArchiveSafetyActivity), []), new CheckResult(nameof(InstallTimeCodeActivity), [], "the archive could not be read"));
        Assert.Equal(Decision.Quarantined, verdict.Decision);
        Assert.Equal(ScanPolicy.CheckFailedRule, verdict.Rule);
        Assert.Contains("InstallTimeCode", verdict.Reason);
        Assert.Contains("the archive could not be read", verdict.Reason);
    }

    [Fact]
    public void A_suspicious_finding_quarantines_with_its_rule()
    {
        var verdict = Evaluate(new CheckResult(nameof(ArchiveSafetyActivity), [Noted, Duplicate]), new CheckResult(nameof(InstallTimeCodeActivity), []), new CheckResult(nameof(ModelContentActivity), []));
        Assert.Equal(Decision.Quarantined, verdict.Decision);
        Assert.Equal("archive.duplicate-name", verdict.Rule);
        Assert.Contains(Duplicate.Message, verdict.Reason);
    }

    [Fact]
    public void A_dangerous_finding_wins_over_a_failed_check()
    {
        var verdict = Evaluate(new CheckResult(nameof(InstallTimeCodeActivity), [], "timeout"), new CheckResult(nameof(ArchiveSafetyActivity), [Traversal]));
        Assert.Equal(Decision.Blocked, verdict.Decision);
        Assert.Equal("archive.path-traversal", verdict.Rule);
    }

    [Fact]
    public void A_failed_check_wins_over_a_suspicious_finding()
    {
        var verdict = Evaluate(new CheckResult(nameof(ArchiveSafetyActivity), [Duplicate]), new CheckResult(nameof(InstallTimeCodeActivity), [], "timeout"));
        Assert.Equal(ScanPolicy.CheckFailedRule, verdict.Rule);
    }

    [Fact]
    public void Info_findings_alone_are_allowed_and_kept()
    {
        var verdict = Evaluate(new CheckResult(nameof(InstallTimeCodeActivity), [Noted]), new CheckResult(nameof(ArchiveSafetyActivity), []), new CheckResult(nameof(ModelContentActivity), []));
        Assert.Equal(Decision.Allowed, verdict.Decision);
        Assert.Equal(ScanPolicy.CleanRule, verdict.Rule);
        Assert.Equal([Noted], verdict.Findings);
    }

    [Fact]
    public void A_check_that_reported_nothing_quarantines()
    {
        var verdict = Evaluate(new CheckResult(nameof(ArchiveSafetyActivity), []));
        Assert.Equal(Decision.Quarantined, verdict.Decision);
        Assert.Equal(ScanPolicy.CheckFailedRule, verdict.Rule);
        Assert.Contains(nameof(InstallTimeCodeActivity), verdict.Reason);
    }
}
