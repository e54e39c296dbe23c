using System.Globalization;
using System.Text.Json.Nodes;
using Gatehouse.Licences;
using Gatehouse.Names;
using Gatehouse.Pipeline;
using Gatehouse.Versions;
using Gatehouse.Vulnerabilities;
using Microsoft.Extensions.Logging;

namespace Gatehouse.PyPI;

/// <summary>
/// What PyPI says of a file besides its bytes, for the policy. From the project page (cached with the index's TTL):
/// the upload time, PEP 740 provenance of this file and of earlier releases, the project's history for the name
/// checks. From the OSV mirror (cached per project): the advisories that affect the release. From the release's JSON
/// API document (cached like the index; only when a file is asked for, never for a whole index page): the licence
/// (PEP 639 <c>license_expression</c>, <c>license</c>, classifiers) and PyPI's own <c>vulnerabilities</c>.
/// </summary>
public sealed class PyPIFacts(SimpleIndexCache index, JsonApiCache json, VulnerabilityMirror mirror, TimeProvider time, ILogger<PyPIFacts> log)
{
    public const string VulnerabilitiesSource = "vulnerabilities";
    public const string LicenceSource = "licence";
    public const string IndexSource = "index";

    /// <summary>
    /// Every fact for one file: the project's, and (in <see cref="FactScope.Full"/>) its release's licence and PyPI
    /// advisories. Before a fetch the release's document is only asked for in the background, so a slow JSON API never
    /// delays the fetch; the decision after the scan finds it cached.
    /// </summary>
    public async Task<ReferenceFacts> GatherAsync(ArtifactReference reference, FactScope scope, CancellationToken cancellationToken)
    {
        var project = reference.Key.Partition.StartsWith("pypi:", StringComparison.Ordinal) ? reference.Key.Partition["pypi:".Length..] : reference.Key.Partition;
        var version = DistributionFile.Version(reference.FileName, project);
        var releaseTask = version is null ? Task.FromResult<JsonObject?>(null) : ReleaseAsync(project, version, scope == FactScope.Full ? cancellationToken : CancellationToken.None);
        var facts = await (await ForProjectAsync(project, null, cancellationToken)).ForFileAsync(reference.FileName, reference.UploadTime, cancellationToken);
        if (version is null || scope == FactScope.BeforeFetch)
        {
            return facts;
        }
        await releaseTask;
        if (releaseTask.Result is not { } release)
        {
            return facts with { Unavailable = [.. facts.Unavailable, LicenceSource] };
        }
        var info = release["info"] as JsonObject;
        var finding = Licence.FromPyPI(Text(info?["license_expression"]), Text(info?["license"]),
            info?["classifiers"] is JsonArray classifiers ? [.. classifiers.Select(Text).OfType<string>()] : null);
        return facts with
        {
            Licence = new LicenceInfo(finding.Expression, finding.Source, finding.Raw),
            Advisories = Merge(facts.Advisories, FromJsonApi(release)),
        };
    }

    /// <summary>
    /// The project's facts: read once per index page (or file), then applied to each file. <paramref name="page"/> is
    /// the project page when the caller has it.
    /// </summary>
    public async Task<PyPIProjectFacts> ForProjectAsync(string project, SimpleProject? page, CancellationToken cancellationToken)
    {
        List<string> unavailable = [];
        if (page is null)
        {
            var lookup = await index.GetAsync(project, cancellationToken);
            page = lookup.Value;
            if (page is null)
            {
                unavailable.Add(IndexSource);
            }
        }
        if (!await mirror.IsLoadedAsync(primaryOnly: true, cancellationToken))
        {
            unavailable.Add(VulnerabilitiesSource);
        }
        var now = time.GetUtcNow();
        NameInfo name;
        if (page is null)
        {
            name = new NameInfo(null, null, []);
        }
        else
        {
            var uploads = page.Files.Select(f => Upload(f.UploadTime)).OfType<DateTimeOffset>().ToList();
            var releases = page.Files.Select(f => DistributionFile.Version(f.Filename, project)).OfType<string>().Distinct(StringComparer.Ordinal).Count();
            var history = new ProjectHistory(uploads.Count > 0 ? uploads.Min() : null, releases);
            var squat = NameCheck.Typosquat(project, TopProjects.Bundled);
            name = new NameInfo(squat?.Target, squat?.Technique, NameCheck.Slopsquat(project, history, TopProjects.Bundled, now));
        }
        return new PyPIProjectFacts(project, page, name, unavailable, mirror, log);
    }

    private async Task<JsonObject?> ReleaseAsync(string project, string version, CancellationToken cancellationToken)
    {
        try
        {
            var lookup = await json.GetAsync(JsonApiCache.Key(project, version), cancellationToken);
            return lookup.Value;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning(e, "The JSON API document of {Project} {Version} could not be read; its licence is unknown", project, version);
            return null;
        }
    }

    /// <summary>PyPI's own advisories for a release (its JSON API <c>vulnerabilities</c>, fed from OSV), withdrawn ones left out.</summary>
    internal static IReadOnlyList<AdvisoryFact> FromJsonApi(JsonObject release)
    {
        if (release["vulnerabilities"] is not JsonArray vulnerabilities)
        {
            return [];
        }
        var advisories = new List<AdvisoryFact>();
        foreach (var node in vulnerabilities.OfType<JsonObject>())
        {
            if (Text(node["id"]) is not { Length: > 0 } id || Text(node["withdrawn"]) is { Length: > 0 })
            {
                continue;
            }
            var aliases = node["aliases"] is JsonArray a ? a.Select(Text).OfType<string>().ToList() : [];
            var fixedIn = node["fixed_in"] is JsonArray f ? f.Select(Text).OfType<string>().ToList() : [];
            var summary = Text(node["summary"]) ?? FirstLine(Text(node["details"])) ?? "";
            advisories.Add(new AdvisoryFact(id, aliases, summary, null, "unknown", id.StartsWith("MAL-", StringComparison.Ordinal), fixedIn));
        }
        return advisories;
    }

    /// <summary>The mirror's advisories, with PyPI's for the same ids (or aliases) added only where the mirror has none.</summary>
    internal static IReadOnlyList<AdvisoryFact>? Merge(IReadOnlyList<AdvisoryFact>? mirrored, IReadOnlyList<AdvisoryFact> fromPyPI)
    {
        if (fromPyPI.Count == 0)
        {
            return mirrored;
        }
        var merged = new List<AdvisoryFact>(mirrored ?? []);
        var known = merged.SelectMany(a => a.Aliases.Prepend(a.Id)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var advisory in fromPyPI)
        {
            if (!known.Contains(advisory.Id) && !advisory.Aliases.Any(known.Contains))
            {
                merged.Add(advisory);
            }
        }
        return merged;
    }

    internal static DateTimeOffset? Upload(string? uploadTime) =>
        uploadTime is not null && DateTimeOffset.TryParse(uploadTime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static string? FirstLine(string? text) => text?.Split('\n', 2)[0].Trim();
}

/// <summary>One project's facts, applied to each of its files (an index page asks for hundreds).</summary>
public sealed class PyPIProjectFacts(string project, SimpleProject? page, NameInfo name, IReadOnlyList<string> unavailable, VulnerabilityMirror mirror, ILogger log)
{
    private Lazy<Pep440Version?>? _firstAttested;

    public string Project => project;

    /// <summary>The facts of one file of the project (its licence is not among them: that needs its release's document).</summary>
    public async Task<ReferenceFacts> ForFileAsync(string filename, string? uploadTime, CancellationToken cancellationToken)
    {
        var version = DistributionFile.Version(filename, project);
        var file = page?.Find(filename);
        IReadOnlyList<AdvisoryFact>? advisories = null;
        var missing = unavailable;
        if (version is not null && !unavailable.Contains(PyPIFacts.VulnerabilitiesSource))
        {
            try
            {
                advisories = [.. (await mirror.ForAsync(project, version, cancellationToken)).Select(ToFact)];
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogWarning(e, "The OSV mirror could not be read for {Project} {Version}", project, version);
                missing = [.. unavailable, PyPIFacts.VulnerabilitiesSource];
            }
        }
        var attested = file is null ? (bool?)null : file.Provenance is not null;
        return new ReferenceFacts
        {
            Project = project,
            Version = version,
            Advisories = advisories,
            Name = name,
            PublishedAt = PyPIFacts.Upload(file?.UploadTime ?? uploadTime),
            Attested = attested,
            AttestationLost = attested == false && version is not null ? AttestedBefore(version) : null,
            Unavailable = missing,
        };
    }

    internal static AdvisoryFact ToFact(Advisory advisory) =>
        new(advisory.Id, advisory.Aliases, advisory.Summary, advisory.Cvss, advisory.Severity, advisory.Malicious, advisory.FixedIn);

    /// <summary>An earlier release (by PEP 440 order) had a file with a PEP 740 attestation.</summary>
    private bool? AttestedBefore(string version)
    {
        if (page is null || !Pep440Version.TryParse(version, out var current))
        {
            return null;
        }
        var first = _firstAttested ??= new Lazy<Pep440Version?>(() => page.Files
            .Where(f => f.Provenance is not null)
            .Select(f => DistributionFile.Version(f.Filename, project) is { } v && Pep440Version.TryParse(v, out var parsed) ? parsed : null)
            .OfType<Pep440Version>()
            .DefaultIfEmpty()
            .Min());
        return first.Value is { } earliest && earliest < current;
    }
}
