using Gatehouse.Pipeline;

namespace Gatehouse.Policy;

/// <summary>What a rule does when its conditions hold.</summary>
public enum PolicyAction
{
    /// <summary>Serve the file; no later rule is asked.</summary>
    Allow,

    /// <summary>Serve the file with a warning (a <c>Warning</c> header and an audit record); later rules are still asked.</summary>
    Warn,

    /// <summary>Hold the file for review; no later rule is asked.</summary>
    Quarantine,

    /// <summary>Refuse the file; no later rule is asked.</summary>
    Block,
}

/// <summary>Where a policy error is, for the message a policy author reads.</summary>
/// <param name="Line">1-based line in the policy file (0 when the error concerns the whole file).</param>
public sealed record PolicyError(int Line, int Column, string Message)
{
    public override string ToString() => Line > 0 ? $"line {Line}, column {Column}: {Message}" : Message;
}

/// <summary>A policy that could not be read, with every error found.</summary>
public sealed class InvalidPolicyException(IReadOnlyList<PolicyError> errors)
    : Exception("The policy is not valid: " + string.Join("; ", errors.Select(e => e.ToString())))
{
    public IReadOnlyList<PolicyError> Errors { get; } = errors;
}

/// <summary>One rule of a policy, compiled.</summary>
/// <param name="Line">Where the rule starts in the policy file.</param>
public sealed record CompiledRule(string Id, PolicyAction Action, string? Description, string? Message, Condition When, int Line);

/// <summary>
/// A waiver: while it has not expired, the rules it names (or all rules) do not fire for the artifacts it matches.
/// Every exception says who asked for it and why.
/// </summary>
public sealed record PolicyExemption(string Id, ExceptionMatch Match, IReadOnlySet<string>? Rules, DateTimeOffset Expires, string Reason, string Owner, int Line)
{
    /// <summary>True when it waives <paramref name="ruleId"/> for <paramref name="input"/> at <paramref name="now"/>.</summary>
    public bool Waives(string ruleId, PolicyInput input, DateTimeOffset now) =>
        now < Expires && (Rules is null || Rules.Contains(ruleId)) && Match.Matches(input);
}

/// <summary>Which artifacts an exception covers: every given field must match.</summary>
/// <param name="Version">A PEP 440 specifier set for PyPI releases (<c>&lt;3.0</c>), an exact commit for Hugging Face.</param>
public sealed record ExceptionMatch(string? Remote, Glob? Project, Glob? Organisation, VersionMatch? Version, Glob? File, string? Sha256)
{
    public bool Matches(PolicyInput input)
    {
        var reference = input.Context.Reference;
        var facts = input.Context.Facts;
        return (Remote is null || string.Equals(Remote, reference.Remote.Name, StringComparison.OrdinalIgnoreCase))
            && (Project is null || (facts.Project is { } project && Project.IsMatch(project)))
            && (Organisation is null || (facts.Organisation is { } organisation && Organisation.IsMatch(organisation)))
            && (Version is null || (facts.Version is { } version && Version.IsMatch(version)))
            && (File is null || File.IsMatch(reference.FileName))
            && (Sha256 is null || string.Equals(Sha256, reference.Sha256, StringComparison.OrdinalIgnoreCase));
    }
}

/// <summary>A compiled policy: its rules in order, its exceptions, its licence lists, and its version (a hash of its text).</summary>
/// <param name="Version">"policy-" and the first 12 hex digits of the sha256 of the policy file's bytes.</param>
/// <param name="Default">What happens to a file no terminal rule decided.</param>
public sealed record PolicyDocument(
    string Version, string Name, PolicyAction Default, LicenceLists Licences, IReadOnlyList<CompiledRule> Rules, IReadOnlyList<PolicyExemption> Exceptions,
    string Text)
{
    /// <summary>Exceptions already past their expiry at <paramref name="now"/> (reported, never applied).</summary>
    public IEnumerable<PolicyExemption> Expired(DateTimeOffset now) => Exceptions.Where(e => e.Expires <= now);
}

/// <summary>The policy's licence lists: SPDX ids or patterns (<c>BSD-*</c>, <c>LicenseRef-*</c>) that are allowed or denied.</summary>
public sealed record LicenceLists(IReadOnlyList<Glob> Allow, IReadOnlyList<Glob> Deny)
{
    public static readonly LicenceLists Empty = new([], []);

    /// <summary>true when the id is allowed, false when denied (deny wins), null when neither list names it.</summary>
    public bool? Judge(string id) =>
        Deny.Any(g => g.IsMatch(id)) ? false : Allow.Any(g => g.IsMatch(id)) ? true : null;
}

/// <summary>What a policy evaluates: one reference in its context, and its content's facts when it has been scanned.</summary>
public sealed record PolicyInput(ArtifactContext Context, ContentFacts? Content);

/// <summary>A release filter: a PEP 440 specifier set, or an exact release name (a Hugging Face commit).</summary>
public sealed class VersionMatch(string text, Func<string, bool> isMatch)
{
    public string Text { get; } = text;

    public bool IsMatch(string version) => isMatch(version);

    public override string ToString() => Text;
}

/// <summary>A case-insensitive pattern where <c>*</c> matches any run of characters.</summary>
public sealed class Glob
{
    private readonly string[] _parts;

    public Glob(string pattern)
    {
        Pattern = pattern;
        _parts = pattern.Split('*');
    }

    public string Pattern { get; }

    public bool IsMatch(string text)
    {
        if (_parts.Length == 1)
        {
            return string.Equals(text, Pattern, StringComparison.OrdinalIgnoreCase);
        }
        if (!text.StartsWith(_parts[0], StringComparison.OrdinalIgnoreCase) || !text.EndsWith(_parts[^1], StringComparison.OrdinalIgnoreCase)
            || text.Length < _parts[0].Length + _parts[^1].Length)
        {
            return false;
        }
        var at = _parts[0].Length;
        var end = text.Length - _parts[^1].Length;
        for (var i = 1; i < _parts.Length - 1; i++)
        {
            var found = text.IndexOf(_parts[i], at, end - at, StringComparison.OrdinalIgnoreCase);
            if (found < 0)
            {
                return false;
            }
            at = found + _parts[i].Length;
        }
        return true;
    }

    public override string ToString() => Pattern;
}
