using System.Globalization;

namespace Gatehouse.Policy;

/// <summary>A condition's value: conditions over facts that are not known are neither true nor false.</summary>
public enum Tri
{
    False,
    True,
    Unknown,
}

/// <summary>A compiled condition of a rule's <c>when</c>.</summary>
public abstract class Condition
{
    /// <summary>A condition that always holds (a rule without <c>when</c>).</summary>
    public static readonly Condition Always = new AllOf([]);

    public abstract Tri Evaluate(PolicyScope scope);

    /// <summary>The clause for a client's reason: what made this condition hold.</summary>
    public abstract string? Evidence(PolicyScope scope);

    /// <summary>The finding's rule when a content condition decided, to name in the decision.</summary>
    public virtual string? EvidenceRule(PolicyScope scope) => null;
}

/// <summary>Every part holds (a <c>when</c> map, or <c>all:</c>).</summary>
public sealed class AllOf(IReadOnlyList<Condition> parts) : Condition
{
    public IReadOnlyList<Condition> Parts { get; } = parts;

    public override Tri Evaluate(PolicyScope scope)
    {
        var result = Tri.True;
        foreach (var part in Parts)
        {
            switch (part.Evaluate(scope))
            {
                case Tri.False:
                    return Tri.False;
                case Tri.Unknown:
                    result = Tri.Unknown;
                    break;
            }
        }
        return result;
    }

    // The most telling part: a fact's own description before a plain match on names.
    public override string? Evidence(PolicyScope scope) => Parts.Select(p => p.Evidence(scope)).FirstOrDefault(e => e is not null);

    public override string? EvidenceRule(PolicyScope scope) => Parts.Select(p => p.EvidenceRule(scope)).FirstOrDefault(e => e is not null);
}

/// <summary>At least one part holds (<c>any:</c>).</summary>
public sealed class AnyOf(IReadOnlyList<Condition> parts) : Condition
{
    public override Tri Evaluate(PolicyScope scope)
    {
        var result = Tri.False;
        foreach (var part in parts)
        {
            switch (part.Evaluate(scope))
            {
                case Tri.True:
                    return Tri.True;
                case Tri.Unknown:
                    result = Tri.Unknown;
                    break;
            }
        }
        return result;
    }

    public override string? Evidence(PolicyScope scope) => parts.FirstOrDefault(p => p.Evaluate(scope) == Tri.True)?.Evidence(scope);

    public override string? EvidenceRule(PolicyScope scope) => parts.FirstOrDefault(p => p.Evaluate(scope) == Tri.True)?.EvidenceRule(scope);
}

/// <summary>The part does not hold (<c>not:</c>); unknown stays unknown.</summary>
public sealed class NotOf(Condition part) : Condition
{
    public override Tri Evaluate(PolicyScope scope) => part.Evaluate(scope) switch
    {
        Tri.True => Tri.False,
        Tri.False => Tri.True,
        _ => Tri.Unknown,
    };

    public override string? Evidence(PolicyScope scope) => null;
}

/// <summary>One fact compared with one operand.</summary>
public sealed class FactCondition(FactDefinition fact, string description, Func<object, bool> test, bool unknownTest = false, bool? unknownWanted = null) : Condition
{
    public FactDefinition Fact { get; } = fact;

    public override Tri Evaluate(PolicyScope scope)
    {
        var value = Fact.Read(scope);
        if (unknownTest)
        {
            return (value is null) == unknownWanted ? Tri.True : Tri.False;
        }
        return value is null ? Tri.Unknown : test(value) ? Tri.True : Tri.False;
    }

    public override string? Evidence(PolicyScope scope)
    {
        if (unknownTest)
        {
            return unknownWanted == true ? $"its {Fact.Name} is not known" + (scope.Facts.Unavailable.Count > 0 ? $" (could not learn: {string.Join(", ", scope.Facts.Unavailable)})" : "") : null;
        }
        return Fact.Describe?.Invoke(scope);
    }

    public override string? EvidenceRule(PolicyScope scope)
    {
        if (unknownTest || !Fact.Name.StartsWith("content.", StringComparison.Ordinal))
        {
            return null;
        }
        if (Fact.Name == "content.check-failed")
        {
            return DeclarativePolicy.CheckFailedRule;
        }
        var check = Fact.Name switch
        {
            "content.archive" => ContentCheck.Archive,
            "content.install" => ContentCheck.Install,
            "content.model" => ContentCheck.Model,
            _ => null,
        };
        // The most severe finding the condition could have seen, first in the order the checks reported.
        return scope.Findings.Where(f => check is null || ContentCheck.Of(f) == check).OrderByDescending(f => f.Severity).FirstOrDefault()?.Rule;
    }

    public override string ToString() => description;
}

/// <summary>Durations as a policy writes them: <c>90m</c>, <c>12h</c>, <c>7d</c>, <c>2w</c>, or ISO 8601 (<c>P7D</c>, <c>PT12H</c>).</summary>
public static class Duration
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = default;
        text = text.Trim();
        if (text.StartsWith('P'))
        {
            try
            {
                duration = System.Xml.XmlConvert.ToTimeSpan(text);
                return duration >= TimeSpan.Zero;
            }
            catch (FormatException)
            {
                return false;
            }
        }
        if (text.Length < 2 || !double.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }
        duration = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMinutes(amount),
            'h' => TimeSpan.FromHours(amount),
            'd' => TimeSpan.FromDays(amount),
            'w' => TimeSpan.FromDays(7 * amount),
            _ => TimeSpan.MinValue,
        };
        return duration >= TimeSpan.Zero;
    }

    /// <summary>"3 min", "5 h", "2 d": the coarsest unit that is at least one.</summary>
    public static string Describe(TimeSpan duration) =>
        duration.TotalDays >= 1 ? Count(Math.Floor(duration.TotalDays), "day")
        : duration.TotalHours >= 1 ? Count(Math.Floor(duration.TotalHours), "hour")
        : Count(Math.Max(0, Math.Floor(duration.TotalMinutes)), "minute");

    private static string Count(double n, string unit) => n == 1 ? $"1 {unit}" : $"{n.ToString(CultureInfo.InvariantCulture)} {unit}s";
}
