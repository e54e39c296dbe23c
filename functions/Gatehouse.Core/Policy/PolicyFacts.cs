using System.Globalization;
using Gatehouse.Pipeline;
using Gatehouse.Scans;

namespace Gatehouse.Policy;

/// <summary>How a fact's value is compared.</summary>
public enum FactKind
{
    /// <summary>true or false.</summary>
    Flag,
    /// <summary>A number (a count, a CVSS score).</summary>
    Number,
    /// <summary>A string, matched case-insensitively, with <c>*</c> wildcards.</summary>
    Text,
    /// <summary>A list of strings; a pattern matches when any element does.</summary>
    Texts,
    /// <summary>A rank on a named scale (content: none &lt; info &lt; suspicious &lt; dangerous; vulnerabilities: none &lt; low &lt; … &lt; critical).</summary>
    Level,
    /// <summary>A time since publication, compared with durations (<c>7d</c>, <c>12h</c>, <c>P7D</c>).</summary>
    Age,
    /// <summary>The licence judged against the policy's lists: allowed, denied, unknown or none.</summary>
    Licence,
}

/// <summary>One fact a policy can name in a condition.</summary>
/// <param name="Scale">The names of a level's ranks, lowest first; empty for other kinds.</param>
/// <param name="Read">The fact's value for an evaluation, or null when it is not known.</param>
/// <param name="Describe">One clause for the reason a client reads, when this fact decided.</param>
public sealed record FactDefinition(string Name, FactKind Kind, string Description, IReadOnlyList<string> Scale, Func<PolicyScope, object?> Read,
    Func<PolicyScope, string>? Describe = null);

/// <summary>
/// The facts a policy can use, by name. Content facts are unknown until the file has been scanned; a remote's facts are
/// unknown when the remote could not learn them. Conditions over unknown facts never fire (except <c>unknown: true</c>).
/// </summary>
public static class PolicyFacts
{
    public static readonly IReadOnlyList<string> ContentScale = ["none", "info", "suspicious", "dangerous"];
    public static readonly IReadOnlyList<string> VulnerabilityScale = ["none", "low", "medium", "high", "critical"];
    public static readonly IReadOnlyList<string> LicenceStates = ["allowed", "denied", "unknown", "none"];

    /// <summary>Every fact, by name.</summary>
    public static IReadOnlyDictionary<string, FactDefinition> All { get; } = Define().ToDictionary(f => f.Name, StringComparer.Ordinal);

    private static IEnumerable<FactDefinition> Define()
    {
        yield return Text("remote", "the remote: pypi or hf", s => s.Reference.Remote.Name);
        yield return Text("project", "the PyPI project (normalised) or the Hugging Face repository (org/name)", s => s.Facts.Project);
        yield return Text("organisation", "the owner of a Hugging Face repository", s => s.Facts.Organisation);
        yield return Text("version", "the release: a PyPI version or a Hugging Face commit", s => s.Facts.Version);
        yield return Text("file", "the file name (a PyPI distribution, a path in a Hugging Face repository)", s => s.Reference.FileName);
        yield return new FactDefinition("package", FactKind.Flag, "the file is an installable package (PyPI)", [], s => s.Input.Context.IsPackage);

        yield return ContentLevel("content.severity", "the most severe finding of any check", null);
        yield return ContentLevel("content.archive", "the most severe finding of the archive check", ContentCheck.Archive);
        yield return ContentLevel("content.install", "the most severe finding of the install-time code check", ContentCheck.Install);
        yield return ContentLevel("content.model", "the most severe finding of the model-file scanner", ContentCheck.Model);
        yield return new FactDefinition("content.check-failed", FactKind.Flag, "a check could not finish", [], s => s.Content is null ? null : s.Content.Errors.Count > 0,
            s => s.Content!.Errors.FirstOrDefault() is { } failed
                ? $"the {failed.Check} check could not finish ({failed.Error}), so the file is held for review"
                : "a check could not finish");
        yield return new FactDefinition("content.rules", FactKind.Texts, "the rules of every finding (pickle.dangerous-global, install.pth-exec, …)", [],
            s => s.Content is null ? null : s.Findings.Select(f => f.Rule).Distinct(StringComparer.Ordinal).ToList());
        yield return Text("content.format", "what the model scanner read the file as (pickle, pytorch-zip, safetensors, data, …)", s => s.Content?.ModelFormat);

        yield return new FactDefinition("vulnerability.count", FactKind.Number, "advisories affecting the release", [], s => s.Facts.Advisories?.Count, DescribeAdvisories);
        yield return new FactDefinition("vulnerability.severity", FactKind.Level, "the highest severity of those advisories (from CVSS)", VulnerabilityScale,
            s => s.Facts.Advisories is { } advisories ? advisories.Select(a => Rank(VulnerabilityScale, a.Severity)).DefaultIfEmpty(0).Max() : null, DescribeAdvisories);
        yield return new FactDefinition("vulnerability.cvss", FactKind.Number, "the highest CVSS base score of those advisories", [],
            s => s.Facts.Advisories is { } advisories ? advisories.Select(a => a.Cvss ?? 0).DefaultIfEmpty(0).Max() : null, DescribeAdvisories);
        yield return new FactDefinition("vulnerability.ids", FactKind.Texts, "the advisories' ids and aliases (GHSA-…, PYSEC-…, CVE-…)", [],
            s => s.Facts.Advisories?.SelectMany(a => a.Aliases.Prepend(a.Id)).ToList(), DescribeAdvisories);
        yield return new FactDefinition("vulnerability.malicious", FactKind.Flag, "an advisory reports malware (OSV MAL- records)", [],
            s => s.Facts.Advisories?.Any(a => a.Malicious), s => DescribeAdvisories(s, a => a.Malicious));
        yield return new FactDefinition("vulnerability.fixable", FactKind.Flag, "a fixed release exists for an advisory", [],
            s => s.Facts.Advisories?.Any(a => a.FixedIn.Count > 0), DescribeAdvisories);

        yield return new FactDefinition("licence", FactKind.Licence, "the licence against the policy's lists: allowed, denied, unknown (not listed or not readable) or none (not declared)",
            LicenceStates, s => s.LicenceState, DescribeLicence);
        yield return Text("licence.expression", "the licence as an SPDX expression", s => s.Facts.Licence?.Expression);

        yield return new FactDefinition("name.typosquat", FactKind.Flag, "the name imitates a popular project", [], s => s.Facts.Name is { } name ? name.TyposquatOf is not null : null,
            s => $"the name {s.Facts.Project ?? s.Reference.FileName} imitates {s.Facts.Name!.TyposquatOf} ({s.Facts.Name.Technique})");
        yield return Text("name.typosquat-of", "the popular project the name imitates", s => s.Facts.Name?.TyposquatOf);
        yield return new FactDefinition("name.signals", FactKind.Texts, "slopsquatting and namespace signals (name.young, name.few-releases, name.not-popular, name.hallucination-shape, name.namespace-reused)",
            [], s => s.Facts.Name?.Signals, s => $"the name shows {string.Join(", ", s.Facts.Name!.Signals)}");

        yield return new FactDefinition("age", FactKind.Age, "the time since the file was published (PyPI upload time, Hugging Face commit date)", [],
            s => s.Facts.PublishedAt is { } published ? s.Now - published : null,
            s => $"it was published {Duration.Describe(s.Now - s.Facts.PublishedAt!.Value)} ago ({s.Facts.PublishedAt!.Value.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC)");

        yield return new FactDefinition("provenance.attested", FactKind.Flag, "a PEP 740 attestation accompanies the file", [], s => s.Facts.Attested,
            s => s.Facts.Attested == true ? "the file is attested" : "the file carries no PEP 740 attestation");
        yield return new FactDefinition("provenance.lost", FactKind.Flag, "earlier releases were attested and this one is not", [], s => s.Facts.AttestationLost,
            _ => "earlier releases carried PEP 740 attestations and this one does not");
        yield return new FactDefinition("provenance.gated", FactKind.Flag, "the Hugging Face repository is gated", [], s => s.Facts.Gated);
        yield return new FactDefinition("provenance.pinned", FactKind.Flag, "the client asked for a Hugging Face commit, not a branch", [], s => s.Facts.Pinned);

        yield return new FactDefinition("facts.unavailable", FactKind.Texts, "fact sources that failed for this file (vulnerabilities, licence, name, …)", [],
            s => s.Facts.Unavailable, s => $"Gatehouse could not learn its {string.Join(", ", s.Facts.Unavailable)}");
    }

    private static FactDefinition Text(string name, string description, Func<PolicyScope, string?> read) =>
        new(name, FactKind.Text, description, [], s => read(s));

    private static FactDefinition ContentLevel(string name, string description, string? check) =>
        new(name, FactKind.Level, description, ContentScale,
            s => s.Content is null ? null : s.Findings.Where(f => check is null || ContentCheck.Of(f) == check).Select(f => (int)f.Severity + 1).DefaultIfEmpty(0).Max(),
            s => s.Findings.Where(f => check is null || ContentCheck.Of(f) == check).OrderByDescending(f => f.Severity).FirstOrDefault()?.Message ?? "no finding");

    internal static int Rank(IReadOnlyList<string> scale, string name)
    {
        for (var i = 0; i < scale.Count; i++)
        {
            if (string.Equals(scale[i], name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return -1;
    }

    private static string DescribeAdvisories(PolicyScope scope) => DescribeAdvisories(scope, _ => true);

    private static string DescribeAdvisories(PolicyScope scope, Func<AdvisoryFact, bool> which)
    {
        var advisories = scope.Facts.Advisories!.Where(which).OrderByDescending(a => Rank(VulnerabilityScale, a.Severity)).ThenByDescending(a => a.Cvss).ToList();
        var release = scope.Facts.Project is { } project ? $"{project} {scope.Facts.Version}".Trim() : scope.Reference.FileName;
        if (advisories.Count == 0)
        {
            return $"{release} has no known advisory";
        }
        var first = advisories[0];
        var rating = first.Cvss is { } cvss ? $"{first.Severity}, CVSS {cvss.ToString("0.0", CultureInfo.InvariantCulture)}" : first.Severity;
        var fixedIn = first.FixedIn.Count > 0 ? $"; fixed in {string.Join(", ", first.FixedIn)}" : "";
        var more = advisories.Count > 1 ? $" and {advisories.Count - 1} more ({string.Join(", ", advisories.Skip(1).Take(3).Select(a => a.Id))})" : "";
        return $"{release} is affected by {first.Id} ({rating}): {first.Summary}{fixedIn}{more}";
    }

    private static string DescribeLicence(PolicyScope scope)
    {
        if (scope.Facts.Licence is not { } licence || scope.LicenceState is null)
        {
            return "its licence is not known";
        }
        var declared = licence.Expression ?? $"\"{Shorten(licence.Raw)}\"";
        return scope.LicenceState switch
        {
            0 => $"its licence {declared} is allowed",
            1 => $"its licence {declared} is denied by the policy",
            3 => "it declares no licence",
            _ => licence.Expression is null
                ? $"its licence \"{Shorten(licence.Raw)}\" ({licence.Source}) is not a licence the policy knows"
                : $"its licence {licence.Expression} is not on the policy's lists",
        };
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
}

/// <summary>The content checks, by the short names a policy uses.</summary>
public static class ContentCheck
{
    public const string Archive = "archive";
    public const string Install = "install";
    public const string Model = "model";

    /// <summary>The short name of the check that made <paramref name="finding"/>.</summary>
    public static string? Of(Finding finding) => finding.Check is { } check ? Name(check) : null;

    /// <summary>"ArchiveSafetyActivity" → "archive"; names it does not know are kept.</summary>
    public static string Name(string check) => check switch
    {
        ContentChecks.ArchiveSafetyCheck => Archive,
        ContentChecks.InstallTimeCodeCheck => Install,
        nameof(ModelContentActivity) => Model,
        // An image's findings are the model scanner's, on the files of its final filesystem.
        ContentChecks.ImageLayersCheck => Model,
        _ => check,
    };
}
