using Gatehouse.Pipeline;

namespace Gatehouse.Policy;

/// <summary>
/// A policy file in force: its rules are asked in order, and the first rule that holds with allow, quarantine or block
/// decides (warn rules only add a warning and the next rules are asked). A rule waived for the file by a live
/// exception is passed over. When no rule decides, the policy's default does. Conditions over facts not yet known
/// (content before the file is scanned, data a remote could not learn) do not hold, so a decision made on metadata
/// alone is made again once the content's facts exist.
/// </summary>
public sealed class DeclarativePolicy(PolicyDocument document, TimeProvider time) : IDecisionPolicy
{
    /// <summary>The rule named when no rule decided and the default allows.</summary>
    public const string CleanRule = "policy.clean";

    /// <summary>The rule named when a check could not finish.</summary>
    public const string CheckFailedRule = "policy.check-failed";

    /// <summary>The rule named when no rule decided and the default does not allow.</summary>
    public const string DefaultRule = "policy.default";

    public PolicyDocument Document { get; } = document;

    /// <summary>The built-in default policy (what runs when no policy file is configured).</summary>
    public static DeclarativePolicy Default(TimeProvider time) => new(PolicyParser.Parse(PolicyProvider.DefaultText), time);

    public string Version => Document.Version;

    public PolicyOutcome Decide(ContentFacts? content, ArtifactContext context) => Evaluate(new PolicyInput(context, content), time.GetUtcNow());

    /// <summary>The outcome at <paramref name="now"/> (exceptions expire, files age).</summary>
    public PolicyOutcome Evaluate(PolicyInput input, DateTimeOffset now)
    {
        var scope = new PolicyScope(input, now, Document.Licences);
        List<string>? warnings = null;
        foreach (var rule in Document.Rules)
        {
            if (rule.When.Evaluate(scope) != Tri.True)
            {
                continue;
            }
            if (Waiver(rule, input, now) is { } waiver)
            {
                (warnings ??= []).Add($"Rule {rule.Id} waived by exception {waiver.Id} until {waiver.Expires.AddTicks(-1):yyyy-MM-dd} ({waiver.Owner}: {waiver.Reason})");
                continue;
            }
            if (rule.Action == PolicyAction.Warn)
            {
                (warnings ??= []).Add(Reason(rule, scope));
                continue;
            }
            return new PolicyOutcome(Decision(rule.Action), rule.When.EvidenceRule(scope) ?? rule.Id, Reason(rule, scope), scope.Findings)
            {
                PolicyRule = rule.Id,
                Warnings = warnings ?? [],
            };
        }
        return Document.Default == PolicyAction.Allow
            ? new PolicyOutcome(Pipeline.Decision.Allowed, CleanRule, "Passed every check", scope.Findings) { PolicyRule = "default", Warnings = warnings ?? [] }
            : new PolicyOutcome(Decision(Document.Default), DefaultRule, $"{Verb(Document.Default)} by Gatehouse: no rule of the policy allows it ({DefaultRule})", scope.Findings)
            {
                PolicyRule = "default",
                Warnings = warnings ?? [],
            };
    }

    private PolicyExemption? Waiver(CompiledRule rule, PolicyInput input, DateTimeOffset now)
    {
        foreach (var exemption in Document.Exceptions)
        {
            if (exemption.Waives(rule.Id, input, now))
            {
                return exemption;
            }
        }
        return null;
    }

    private static string Reason(CompiledRule rule, PolicyScope scope)
    {
        var evidence = rule.When.Evidence(scope) ?? rule.Description ?? $"it matches the policy rule {rule.Id}";
        var named = rule.When.EvidenceRule(scope) ?? rule.Id;
        if (rule.Message is { } template)
        {
            return template.Replace("{project}", scope.Facts.Project ?? "", StringComparison.Ordinal)
                .Replace("{version}", scope.Facts.Version ?? "", StringComparison.Ordinal)
                .Replace("{file}", scope.Reference.FileName, StringComparison.Ordinal)
                .Replace("{evidence}", evidence, StringComparison.Ordinal)
                .Replace("{rule}", named, StringComparison.Ordinal);
        }
        return rule.Action switch
        {
            PolicyAction.Allow => $"Allowed by Gatehouse policy rule {rule.Id}",
            PolicyAction.Warn => $"Gatehouse warns: {evidence} ({named})",
            _ => $"{Verb(rule.Action)} by Gatehouse: {evidence} ({named})",
        };
    }

    private static string Verb(PolicyAction action) => action switch
    {
        PolicyAction.Block => "Blocked",
        PolicyAction.Quarantine => "Quarantined",
        _ => "Allowed",
    };

    private static Decision Decision(PolicyAction action) => action switch
    {
        PolicyAction.Block => Pipeline.Decision.Blocked,
        PolicyAction.Quarantine => Pipeline.Decision.Quarantined,
        _ => Pipeline.Decision.Allowed,
    };
}
