using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Policy;

/// <summary>
/// Reads a policy file (YAML) into a <see cref="PolicyDocument"/>, checking it against the policy language as the README
/// documents it. Every error names its line and column; a file with any error is refused whole, so a running policy is
/// never replaced by half of a new one.
/// </summary>
public static partial class PolicyParser
{
    private static readonly string[] TopKeys = ["version", "name", "default", "licences", "rules", "exceptions"];
    private static readonly string[] RuleKeys = ["id", "action", "when", "description", "message"];
    private static readonly string[] ExceptionKeys = ["id", "match", "rules", "expires", "reason", "owner"];
    private static readonly string[] MatchKeys = ["remote", "project", "organisation", "version", "file", "sha256"];

    /// <summary>The policy, or <see cref="InvalidPolicyException"/> with every error.</summary>
    public static PolicyDocument Parse(string text) =>
        TryParse(text, out var document, out var errors) ? document : throw new InvalidPolicyException(errors);

    public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PolicyDocument? document, out IReadOnlyList<PolicyError> errors)
    {
        var reader = new Reader();
        document = reader.Read(text);
        errors = reader.Errors;
        if (errors.Count > 0)
        {
            document = null;
        }
        return document is not null;
    }

    /// <summary>"policy-" and 12 hex digits of the text's sha256: the same text is the same version everywhere.</summary>
    public static string VersionOf(string text) => "policy-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$")]
    private static partial Regex RuleId();

    private sealed class Reader
    {
        private readonly List<PolicyError> _errors = [];

        public IReadOnlyList<PolicyError> Errors => _errors;

        public PolicyDocument? Read(string text)
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(text));
            }
            catch (YamlException e)
            {
                _errors.Add(new PolicyError((int)e.Start.Line, (int)e.Start.Column, $"not valid YAML: {e.InnerException?.Message ?? e.Message}"));
                return null;
            }
            if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            {
                _errors.Add(new PolicyError(1, 1, "a policy is one YAML mapping with at least 'version' and 'rules'"));
                return null;
            }
            CheckKeys(root, TopKeys, "the policy");
            if (Get(root, "version") is not YamlScalarNode { Value: "1" } version)
            {
                Error(Get(root, "version") ?? root, "'version' must be 1 (the policy language's version)");
            }
            var name = Scalar(Get(root, "name"), "name") ?? "";
            var defaultAction = Get(root, "default") is { } defaultNode ? Action(defaultNode, allowWarn: false) : PolicyAction.Allow;
            var licences = Get(root, "licences") is { } licenceNode ? Licences(licenceNode) : LicenceLists.Empty;
            var rules = new List<CompiledRule>();
            if (Get(root, "rules") is not YamlSequenceNode ruleNodes)
            {
                Error(Get(root, "rules") ?? root, "'rules' must be a list of rules (it may be empty: [])");
            }
            else
            {
                foreach (var node in ruleNodes)
                {
                    if (Rule(node, rules) is { } rule)
                    {
                        rules.Add(rule);
                    }
                }
            }
            var exemptions = new List<PolicyExemption>();
            if (Get(root, "exceptions") is { } exceptionNodes)
            {
                if (exceptionNodes is not YamlSequenceNode list)
                {
                    Error(exceptionNodes, "'exceptions' must be a list");
                }
                else
                {
                    var ids = rules.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
                    foreach (var node in list)
                    {
                        if (Exemption(node, ids, exemptions.Count) is { } exemption)
                        {
                            exemptions.Add(exemption);
                        }
                    }
                }
            }
            return _errors.Count > 0 ? null : new PolicyDocument(VersionOf(text), name, defaultAction ?? PolicyAction.Allow, licences, rules, exemptions, text);
        }

        private CompiledRule? Rule(YamlNode node, List<CompiledRule> earlier)
        {
            if (node is not YamlMappingNode rule)
            {
                Error(node, "a rule is a mapping with 'id', 'action' and usually 'when'");
                return null;
            }
            CheckKeys(rule, RuleKeys, "a rule");
            var id = Scalar(Get(rule, "id"), "id");
            if (id is null)
            {
                Error(rule, "a rule needs an 'id'");
            }
            else if (!RuleId().IsMatch(id))
            {
                Error(Get(rule, "id")!, $"rule id '{id}' must be lower-case letters, digits, '.', '_' or '-'");
            }
            else if (earlier.Any(r => r.Id == id))
            {
                Error(Get(rule, "id")!, $"rule id '{id}' is used twice (first on line {earlier.First(r => r.Id == id).Line})");
            }
            var action = Get(rule, "action") is { } actionNode ? Action(actionNode, allowWarn: true) : null;
            if (action is null && Get(rule, "action") is null)
            {
                Error(rule, $"rule '{id}' needs an 'action': allow, warn, quarantine or block");
            }
            var when = Get(rule, "when") is { } whenNode ? When(whenNode) : Condition.Always;
            return id is null || action is null || when is null
                ? null
                : new CompiledRule(id, action.Value, Scalar(Get(rule, "description"), "description"), Scalar(Get(rule, "message"), "message"), when, Line(rule));
        }

        private Condition? When(YamlNode node)
        {
            if (node is not YamlMappingNode map)
            {
                Error(node, "'when' is a mapping of facts to what they must be (or any:, all:, not:)");
                return null;
            }
            var parts = new List<Condition>();
            foreach (var (keyNode, value) in map.Children)
            {
                if (keyNode is not YamlScalarNode { Value: { } key })
                {
                    Error(keyNode, "a condition's key is a fact's name, or any, all, not");
                    continue;
                }
                var part = key switch
                {
                    "any" or "all" => Combination(key, value),
                    "not" => When(value) is { } inner ? new NotOf(inner) : null,
                    _ => Fact(keyNode, key, value),
                };
                if (part is not null)
                {
                    parts.Add(part);
                }
            }
            return parts.Count == 1 ? parts[0] : new AllOf(parts);
        }

        private Condition? Combination(string key, YamlNode node)
        {
            if (node is not YamlSequenceNode list || list.Children.Count == 0)
            {
                Error(node, $"'{key}' takes a list of conditions, each a mapping like a 'when'");
                return null;
            }
            var parts = list.Select(When).ToList();
            if (parts.Any(p => p is null))
            {
                return null;
            }
            return key == "any" ? new AnyOf(parts!) : new AllOf(parts!);
        }

        private Condition? Fact(YamlNode keyNode, string name, YamlNode value)
        {
            if (!PolicyFacts.All.TryGetValue(name, out var fact))
            {
                var suggestion = PolicyFacts.All.Keys.OrderBy(k => Distance(k, name)).First();
                Error(keyNode, $"unknown fact '{name}' (did you mean '{suggestion}'? the README lists every fact)");
                return null;
            }
            if (value is YamlMappingNode operators)
            {
                var parts = new List<Condition>();
                foreach (var (operatorNode, operand) in operators.Children)
                {
                    if (Operator(fact, (operatorNode as YamlScalarNode)?.Value ?? "", operatorNode, operand) is { } part)
                    {
                        parts.Add(part);
                    }
                }
                return parts.Count == 0 ? null : parts.Count == 1 ? parts[0] : new AllOf(parts);
            }
            if (value is not YamlScalarNode scalar || scalar.Value is null)
            {
                Error(value, $"'{name}' takes a value or a mapping of operators");
                return null;
            }
            var text = scalar.Value;
            switch (fact.Kind)
            {
                case FactKind.Flag:
                    return Bool(scalar) is { } flag ? new FactCondition(fact, $"{name} is {text}", v => (bool)v == flag) : null;
                case FactKind.Number:
                    return Number(scalar) is { } number ? new FactCondition(fact, $"{name} = {text}", v => Convert.ToDouble(v, CultureInfo.InvariantCulture) == number) : null;
                case FactKind.Text:
                    var glob = new Glob(text);
                    return new FactCondition(fact, $"{name} is {text}", v => glob.IsMatch((string)v));
                case FactKind.Texts:
                    var element = new Glob(text);
                    return new FactCondition(fact, $"{name} contains {text}", v => ((IReadOnlyList<string>)v).Any(element.IsMatch));
                case FactKind.Level:
                case FactKind.Licence:
                    return Rank(fact, scalar) is { } rank ? new FactCondition(fact, $"{name} is {text}", v => (int)v == rank) : null;
                default:
                    Error(value, $"'{name}' is a time since publication: use younger-than or older-than, e.g. {{ younger-than: 7d }}");
                    return null;
            }
        }

        private Condition? Operator(FactDefinition fact, string op, YamlNode opNode, YamlNode operand)
        {
            var name = fact.Name;
            if (op == "unknown")
            {
                return Bool(operand) is { } wanted ? new FactCondition(fact, $"{name} is {(wanted ? "" : "not ")}unknown", _ => false, unknownTest: true, unknownWanted: wanted) : null;
            }
            switch (fact.Kind, op)
            {
                case (FactKind.Number, "at-least" or "at-most" or "above" or "below"):
                    return Number(operand) is { } limit ? new FactCondition(fact, $"{name} {op} {limit}", v => Compare(op, Convert.ToDouble(v, CultureInfo.InvariantCulture), limit)) : null;
                case (FactKind.Level, "at-least" or "at-most" or "above" or "below"):
                    return Rank(fact, operand) is { } rank ? new FactCondition(fact, $"{name} {op} {fact.Scale[rank]}", v => Compare(op, (int)v, rank)) : null;
                case (FactKind.Level or FactKind.Licence, "in" or "not-in"):
                    var ranks = List(operand, op)?.Select(n => Rank(fact, n)).ToList();
                    if (ranks is null || ranks.Any(r => r is null))
                    {
                        return null;
                    }
                    var set = ranks.Select(r => r!.Value).ToHashSet();
                    return new FactCondition(fact, $"{name} {op} list", v => set.Contains((int)v) == (op == "in"));
                case (FactKind.Text, "in" or "not-in"):
                    var globs = List(operand, op)?.Select(n => new Glob(((YamlScalarNode)n).Value ?? "")).ToList();
                    return globs is null ? null : new FactCondition(fact, $"{name} {op} list", v => globs.Any(g => g.IsMatch((string)v)) == (op == "in"));
                case (FactKind.Text, "matches"):
                    if (Scalar(operand, op) is not { } pattern)
                    {
                        return null;
                    }
                    var matcher = new Glob(pattern);
                    return new FactCondition(fact, $"{name} matches {pattern}", v => matcher.IsMatch((string)v));
                case (FactKind.Text, "specifier") when name == "version":
                    var specifier = Scalar(operand, op);
                    if (specifier is null)
                    {
                        return null;
                    }
                    if (!VersionRanges.TryCreate(specifier, out var match, out var problem))
                    {
                        Error(operand, problem);
                        return null;
                    }
                    return new FactCondition(fact, $"version {specifier}", v => match.IsMatch((string)v));
                case (FactKind.Texts, "in" or "not-in"):
                    var patterns = List(operand, op)?.Select(n => new Glob(((YamlScalarNode)n).Value ?? "")).ToList();
                    return patterns is null ? null
                        : new FactCondition(fact, $"{name} {op} list", v => ((IReadOnlyList<string>)v).Any(e => patterns.Any(p => p.IsMatch(e))) == (op == "in"));
                case (FactKind.Texts, "empty"):
                    return Bool(operand) is { } empty ? new FactCondition(fact, $"{name} is {(empty ? "" : "not ")}empty", v => (((IReadOnlyList<string>)v).Count == 0) == empty) : null;
                case (FactKind.Age, "younger-than" or "older-than"):
                    if (Scalar(operand, op) is not { } durationText || !Duration.TryParse(durationText, out var duration))
                    {
                        Error(operand, $"'{op}' takes a duration like 90m, 12h, 7d, 2w or P7D");
                        return null;
                    }
                    return new FactCondition(fact, $"{name} {op} {durationText}", v => op == "younger-than" ? (TimeSpan)v < duration : (TimeSpan)v > duration);
                default:
                    Error(opNode, $"'{op}' does not apply to {name} ({Operators(fact)})");
                    return null;
            }
        }

        private static string Operators(FactDefinition fact) => fact.Kind switch
        {
            FactKind.Flag => "write true or false",
            FactKind.Number => "use a number, at-least, at-most, above, below or unknown",
            FactKind.Text => fact.Name == "version" ? "use a value, in, not-in, matches, specifier or unknown" : "use a value, in, not-in, matches or unknown",
            FactKind.Texts => "use a value (contained), in, not-in, empty or unknown",
            FactKind.Level => $"use one of {string.Join(", ", fact.Scale)}, at-least, at-most, above, below, in, not-in or unknown",
            FactKind.Age => "use younger-than, older-than or unknown",
            _ => $"use one of {string.Join(", ", fact.Scale)}, in, not-in or unknown",
        };

        private static bool Compare(string op, double value, double limit) => op switch
        {
            "at-least" => value >= limit,
            "at-most" => value <= limit,
            "above" => value > limit,
            _ => value < limit,
        };

        private PolicyExemption? Exemption(YamlNode node, IReadOnlySet<string> ruleIds, int index)
        {
            if (node is not YamlMappingNode map)
            {
                Error(node, "an exception is a mapping with 'match', 'expires', 'reason' and 'owner'");
                return null;
            }
            CheckKeys(map, ExceptionKeys, "an exception");
            var id = Scalar(Get(map, "id"), "id") ?? $"exception-{index + 1}";
            ExceptionMatch? match = null;
            if (Get(map, "match") is not YamlMappingNode matchNode || matchNode.Children.Count == 0)
            {
                Error(Get(map, "match") ?? map, $"exception '{id}' needs a 'match' naming at least one of {string.Join(", ", MatchKeys)}");
            }
            else
            {
                CheckKeys(matchNode, MatchKeys, "an exception's match");
                VersionMatch? version = null;
                if (Scalar(Get(matchNode, "version"), "version") is { } versionText)
                {
                    if (VersionRanges.TryCreate(versionText, out var range, out var problem))
                    {
                        version = range;
                    }
                    else
                    {
                        Error(Get(matchNode, "version")!, problem);
                    }
                }
                var remote = Scalar(Get(matchNode, "remote"), "remote");
                if (remote is not null and not "pypi" and not "hf")
                {
                    Error(Get(matchNode, "remote")!, $"remote must be pypi or hf, not '{remote}'");
                }
                match = new ExceptionMatch(remote, GlobOf(matchNode, "project"), GlobOf(matchNode, "organisation"), version, GlobOf(matchNode, "file"),
                    Scalar(Get(matchNode, "sha256"), "sha256"));
            }
            HashSet<string>? rules = null;
            if (Get(map, "rules") is { } rulesNode && List(rulesNode, "rules") is { } ruleNodes)
            {
                rules = new HashSet<string>(StringComparer.Ordinal);
                foreach (var ruleNode in ruleNodes)
                {
                    var rule = ((YamlScalarNode)ruleNode).Value ?? "";
                    if (!ruleIds.Contains(rule))
                    {
                        Error(ruleNode, $"exception '{id}' waives rule '{rule}', which the policy does not have");
                    }
                    rules.Add(rule);
                }
            }
            var expires = Get(map, "expires") is { } expiresNode ? Expiry(expiresNode) : null;
            if (expires is null && Get(map, "expires") is null)
            {
                Error(map, $"exception '{id}' needs 'expires' (a date like 2027-01-31): every exception ends");
            }
            var reason = Scalar(Get(map, "reason"), "reason");
            var owner = Scalar(Get(map, "owner"), "owner");
            if (string.IsNullOrWhiteSpace(reason))
            {
                Error(map, $"exception '{id}' needs a 'reason'");
            }
            if (string.IsNullOrWhiteSpace(owner))
            {
                Error(map, $"exception '{id}' needs an 'owner' (who asked for it)");
            }
            return match is null || expires is null || string.IsNullOrWhiteSpace(reason) || string.IsNullOrWhiteSpace(owner)
                ? null
                : new PolicyExemption(id, match, rules, expires.Value, reason, owner, Line(map));
        }

        private DateTimeOffset? Expiry(YamlNode node)
        {
            var text = Scalar(node, "expires");
            if (text is not null && DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                // A date is the last day the exception holds: it ends when the next day begins (UTC).
                return new DateTimeOffset(day.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            }
            if (text is not null && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var moment))
            {
                return moment;
            }
            Error(node, $"'expires' must be a date (2027-01-31) or a time (2027-01-31T12:00:00Z), not '{text}'");
            return null;
        }

        private LicenceLists Licences(YamlNode node)
        {
            if (node is not YamlMappingNode map)
            {
                Error(node, "'licences' is a mapping with 'allow' and 'deny' lists of SPDX ids or patterns (BSD-*)");
                return LicenceLists.Empty;
            }
            CheckKeys(map, ["allow", "deny"], "'licences'");
            IReadOnlyList<Glob> Patterns(string key) =>
                Get(map, key) is { } list && List(list, key) is { } items ? [.. items.Select(i => new Glob(((YamlScalarNode)i).Value ?? ""))] : [];
            return new LicenceLists(Patterns("allow"), Patterns("deny"));
        }

        private PolicyAction? Action(YamlNode node, bool allowWarn)
        {
            var text = Scalar(node, "action");
            PolicyAction? action = text switch
            {
                "allow" => PolicyAction.Allow,
                "warn" when allowWarn => PolicyAction.Warn,
                "quarantine" => PolicyAction.Quarantine,
                "block" => PolicyAction.Block,
                _ => null,
            };
            if (action is null && text is not null)
            {
                Error(node, allowWarn ? $"action '{text}' is not one of allow, warn, quarantine, block" : $"default '{text}' is not one of allow, quarantine, block");
            }
            return action;
        }

        private int? Rank(FactDefinition fact, YamlNode node)
        {
            var text = Scalar(node, fact.Name);
            var rank = text is null ? -1 : PolicyFacts.Rank(fact.Scale, text);
            if (rank < 0)
            {
                Error(node, $"'{text}' is not a value of {fact.Name}: use one of {string.Join(", ", fact.Scale)}");
                return null;
            }
            return rank;
        }

        private bool? Bool(YamlNode node)
        {
            var text = Scalar(node, "value");
            if (text is "true" or "false")
            {
                return text == "true";
            }
            Error(node, $"expected true or false, not '{text}'");
            return null;
        }

        private double? Number(YamlNode node)
        {
            var text = Scalar(node, "value");
            if (text is not null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                return number;
            }
            Error(node, $"expected a number, not '{text}'");
            return null;
        }

        private IReadOnlyList<YamlNode>? List(YamlNode node, string what)
        {
            if (node is YamlSequenceNode list && list.Children.All(c => c is YamlScalarNode))
            {
                return [.. list.Children];
            }
            Error(node, $"'{what}' takes a list of values, like [a, b]");
            return null;
        }

        private string? Scalar(YamlNode? node, string what)
        {
            if (node is null)
            {
                return null;
            }
            if (node is YamlScalarNode { Value: { } value })
            {
                return value;
            }
            Error(node, $"'{what}' takes a single value");
            return null;
        }

        private Glob? GlobOf(YamlMappingNode map, string key) => Scalar(Get(map, key), key) is { } pattern ? new Glob(pattern) : null;

        private void CheckKeys(YamlMappingNode map, string[] known, string what)
        {
            foreach (var key in map.Children.Keys)
            {
                if (key is not YamlScalarNode { Value: { } name } || !known.Contains(name))
                {
                    Error(key, $"unknown key '{(key as YamlScalarNode)?.Value}' in {what} (expected {string.Join(", ", known)})");
                }
            }
        }

        private static YamlNode? Get(YamlMappingNode map, string key) =>
            map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

        private void Error(YamlNode node, string message) => _errors.Add(new PolicyError(Line(node), (int)node.Start.Column, message));

        private static int Line(YamlNode node) => (int)node.Start.Line;

        private static int Distance(string a, string b)
        {
            var row = Enumerable.Range(0, b.Length + 1).ToArray();
            for (var i = 1; i <= a.Length; i++)
            {
                var previous = row[0];
                row[0] = i;
                for (var j = 1; j <= b.Length; j++)
                {
                    var current = row[j];
                    row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), previous + (a[i - 1] == b[j - 1] ? 0 : 1));
                    previous = current;
                }
            }
            return row[b.Length];
        }
    }
}
