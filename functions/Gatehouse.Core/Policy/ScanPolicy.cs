using Gatehouse.Scans;

namespace Gatehouse.Policy;

/// <summary>
/// Turns check results into a verdict, failing closed: a dangerous finding blocks, a check that could not finish or a
/// suspicious finding quarantines, and only a clean run is allowed.
/// </summary>
public static class ScanPolicy
{
    public const string CleanRule = "policy.clean";
    public const string CheckFailedRule = "policy.check-failed";

    public static Verdict Evaluate(ScanRequest request, IReadOnlyList<CheckResult> results)
    {
        var findings = results.SelectMany(r => r.Findings).ToList();
        if (findings.FirstOrDefault(f => f.Severity == Severity.Dangerous) is { } dangerous)
        {
            return new Verdict(request.Sha256, Decision.Blocked, dangerous.Rule, $"Blocked by Gatehouse: {dangerous.Message} ({dangerous.Rule})", findings);
        }
        // A check that did not report at all fails closed like one that reported an error.
        var missing = ScanTasks.Checks.Where(c => results.All(r => r.Check != c)).Select(c => new CheckResult(c, [], "it reported no result"));
        if (results.Concat(missing).FirstOrDefault(r => r.Error is not null) is { } failed)
        {
            return new Verdict(request.Sha256, Decision.Quarantined, CheckFailedRule,
                $"Quarantined by Gatehouse: the {failed.Check} check could not finish ({failed.Error}), so the file is held for review", findings);
        }
        if (findings.FirstOrDefault(f => f.Severity == Severity.Suspicious) is { } suspicious)
        {
            return new Verdict(request.Sha256, Decision.Quarantined, suspicious.Rule, $"Quarantined by Gatehouse: {suspicious.Message} ({suspicious.Rule})", findings);
        }
        return new Verdict(request.Sha256, Decision.Allowed, CleanRule, "Passed every check", findings);
    }
}
