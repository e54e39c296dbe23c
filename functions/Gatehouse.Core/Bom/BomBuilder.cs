using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using Gatehouse.Pipeline;

namespace Gatehouse.Bom;

/// <summary>
/// A CycloneDX 1.6 bill of materials (JSON, https://cyclonedx.org/docs/1.6/json/) of everything Gatehouse recorded for
/// one PyPI project or Hugging Face repository: one component per file with its sha256, purl, licence and the
/// recorded verdict (as <c>gatehouse:*</c> properties), the model card for Hugging Face models, and the advisories
/// the remote knows, each pointing at the files it affects. Read-only: nothing is fetched, scanned or decided again.
/// </summary>
public sealed class BomBuilder(IReferenceStore references, IFactsStore facts, RemoteRegistry remotes, IModelCards cards, TimeProvider time)
{
    /// <summary>The media type CycloneDX registers for its JSON form.</summary>
    public const string MediaType = "application/vnd.cyclonedx+json; version=1.6";

    private static readonly string ToolVersion =
        typeof(BomBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(BomBuilder).Assembly.GetName().Version?.ToString() ?? "0";

    /// <summary>The BOM of <paramref name="subject"/>; null when Gatehouse recorded no file of it.</summary>
    public async Task<JsonObject?> BuildAsync(BomSubject subject, CancellationToken cancellationToken)
    {
        var stored = new List<StoredReference>();
        await foreach (var reference in references.ListAsync(subject.Partition, cancellationToken))
        {
            stored.Add(reference);
        }
        if (stored.Count == 0)
        {
            return null;
        }

        // Remote facts (advisories, licence) and cards belong to a release: gathered once per subject ("name version", "repo@commit").
        var releases = new Dictionary<string, ReferenceFacts>(StringComparer.Ordinal);
        var modelCards = new Dictionary<string, JsonObject?>(StringComparer.Ordinal);
        var components = new JsonArray();
        var vulnerabilities = new SortedDictionary<string, (AdvisoryFact Advisory, List<string> Refs)>(StringComparer.Ordinal);
        foreach (var (reference, decision) in stored.OrderBy(s => s.Reference.Subject, StringComparer.Ordinal).ThenBy(s => s.Reference.Key.Row, StringComparer.Ordinal))
        {
            if (!releases.TryGetValue(reference.Subject, out var release))
            {
                release = releases[reference.Subject] = await remotes[reference.Remote].GatherAsync(reference, FactScope.Full, cancellationToken);
            }
            JsonObject? card = null;
            if (subject.RepoType == "models" && !modelCards.TryGetValue(reference.Subject, out card))
            {
                card = modelCards[reference.Subject] = await cards.CardDataAsync(reference.Subject, cancellationToken);
            }
            var content = await facts.GetAsync(reference.Sha256, cancellationToken);
            var component = Component(subject, reference, decision, release, content, card);
            components.Add(component);
            foreach (var advisory in release.Advisories ?? [])
            {
                var entry = vulnerabilities.TryGetValue(advisory.Id, out var known) ? known : vulnerabilities[advisory.Id] = (advisory, []);
                entry.Refs.Add((string)component["bom-ref"]!);
            }
        }

        var bom = new JsonObject
        {
            ["bomFormat"] = "CycloneDX",
            ["specVersion"] = "1.6",
            ["serialNumber"] = "urn:uuid:" + Guid.NewGuid().ToString("D"),
            ["version"] = 1,
            ["metadata"] = new JsonObject
            {
                ["timestamp"] = time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                ["tools"] = new JsonObject
                {
                    ["components"] = new JsonArray(new JsonObject
                    {
                        ["type"] = "application",
                        ["name"] = "Gatehouse",
                        ["version"] = ToolVersion,
                        ["description"] = "AI supply-chain firewall: a caching proxy for PyPI and Hugging Face that scans and decides every file",
                    }),
                },
                ["component"] = Subject(subject),
            },
            ["components"] = components,
        };
        if (vulnerabilities.Count > 0)
        {
            bom["vulnerabilities"] = new JsonArray([.. vulnerabilities.Values.Select(v => Vulnerability(v.Advisory, v.Refs))]);
        }
        return bom;
    }

    /// <summary>The project or repository itself, as <c>metadata.component</c>.</summary>
    private static JsonObject Subject(BomSubject subject)
    {
        if (subject.RepoType is null)
        {
            var purl = PackageUrls.Pypi(subject.Name, null);
            return new JsonObject { ["type"] = "library", ["bom-ref"] = purl, ["name"] = subject.Name, ["purl"] = purl };
        }
        var component = new JsonObject
        {
            ["type"] = subject.IsDataset ? "data" : "machine-learning-model",
            ["bom-ref"] = "hf:" + subject.Display,
            ["name"] = subject.Display,
        };
        if (!subject.IsDataset && PackageUrls.HuggingFace(subject.Name, null) is { } repoPurl)
        {
            component["purl"] = repoPurl;
        }
        return component;
    }

    private static JsonObject Component(BomSubject subject, ArtifactReference reference, ArtifactDecision? decision, ReferenceFacts release, ContentFacts? content,
        JsonObject? card)
    {
        var component = subject.RepoType is null ? PypiComponent(subject, reference, release) : HfComponent(subject, reference);
        component["hashes"] = new JsonArray(new JsonObject { ["alg"] = "SHA-256", ["content"] = reference.Sha256 });
        if (Licences(release.Licence) is { } licences)
        {
            component["licenses"] = licences;
        }
        if (Uri.TryCreate(reference.UpstreamUrl, UriKind.Absolute, out var upstream) && upstream.Scheme is "https" or "http")
        {
            component["externalReferences"] = new JsonArray(new JsonObject { ["type"] = "distribution", ["url"] = upstream.AbsoluteUri });
        }
        if (card is not null && ModelCard(card) is { } modelCard)
        {
            component["modelCard"] = modelCard;
        }
        component["properties"] = new JsonArray([.. Properties(reference, decision, release, content)]);
        return component;
    }

    private static JsonObject PypiComponent(BomSubject subject, ArtifactReference reference, ReferenceFacts release)
    {
        // The subject is "project version" (PyPIRemote.Subject); "?" when the file name did not tell the version.
        var space = reference.Subject.LastIndexOf(' ');
        var version = release.Version ?? (space > 0 && reference.Subject[(space + 1)..] is var v && v != "?" ? v : null);
        var purl = PackageUrls.Pypi(subject.Name, version, reference.FileName);
        var component = new JsonObject { ["type"] = "library", ["bom-ref"] = purl, ["name"] = subject.Name };
        if (version is not null)
        {
            component["version"] = version;
        }
        component["description"] = reference.FileName;
        component["purl"] = purl;
        return component;
    }

    private static JsonObject HfComponent(BomSubject subject, ArtifactReference reference)
    {
        // The row is the escaped "<commit>/<path>" (HfFileDigests.ReferenceRowKey); '%' is escaped too, so unescaping is exact.
        var row = Uri.UnescapeDataString(reference.Key.Row);
        var slash = row.IndexOf('/', StringComparison.Ordinal);
        var (commit, path) = slash > 0 ? (row[..slash], row[(slash + 1)..]) : ("", row);
        var purl = subject.IsDataset ? null : PackageUrls.HuggingFace(subject.Name, commit, path);
        var component = new JsonObject
        {
            ["type"] = subject.IsDataset ? "data" : "machine-learning-model",
            ["bom-ref"] = purl ?? $"hf:{subject.Display}@{commit}#{path}",
            ["group"] = subject.Display,
            ["name"] = path,
            ["version"] = commit,
        };
        if (purl is not null)
        {
            component["purl"] = purl;
        }
        return component;
    }

    /// <summary>An SPDX expression when the licence could be read as one, else the upstream's words as a named licence.</summary>
    private static JsonArray? Licences(LicenceInfo? licence) => licence switch
    {
        { Expression: { Length: > 0 } expression } => new JsonArray(new JsonObject { ["expression"] = expression }),
        { Raw: { Length: > 0 } raw } => new JsonArray(new JsonObject { ["license"] = new JsonObject { ["name"] = raw } }),
        _ => null,
    };

    private static IEnumerable<JsonObject> Properties(ArtifactReference reference, ArtifactDecision? decision, ReferenceFacts release, ContentFacts? content)
    {
        yield return Property("gatehouse:file", reference.FileName);
        yield return Property("gatehouse:decision", decision?.Decision.ToString().ToLowerInvariant() ?? "undecided");
        if (decision is not null)
        {
            yield return Property("gatehouse:rule", decision.Rule);
            yield return Property("gatehouse:policy-rule", decision.PolicyRule);
            yield return Property("gatehouse:policy-version", decision.PolicyVersion);
            yield return Property("gatehouse:reason", decision.Reason);
            yield return Property("gatehouse:decided-at", decision.DecidedAt.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        }
        if (release.Licence is { } licence)
        {
            yield return Property("gatehouse:licence-source", licence.Source);
        }
        if (content is not null)
        {
            if (content.ModelFormat.Length > 0)
            {
                yield return Property("gatehouse:model-format", content.ModelFormat);
            }
            foreach (var finding in content.Findings)
            {
                yield return Property("gatehouse:finding", $"{finding.Rule} ({finding.Severity.ToString().ToLowerInvariant()}): {finding.Message}");
            }
        }
        foreach (var source in release.Unavailable)
        {
            yield return Property("gatehouse:unavailable", source);
        }
    }

    private static JsonObject Property(string name, string value) => new() { ["name"] = name, ["value"] = value };

    /// <summary>
    /// What a Hugging Face card's metadata (https://huggingface.co/docs/hub/model-cards#model-card-metadata) says that
    /// CycloneDX's <c>modelCard</c> has a place for: the task (<c>pipeline_tag</c>), the training datasets
    /// (<c>datasets</c>), the evaluation results (<c>model-index</c>) as performance metrics; the library, base model
    /// and languages as properties. Null when none of them is given.
    /// </summary>
    internal static JsonObject? ModelCard(JsonObject card)
    {
        var parameters = new JsonObject();
        if (Text(card["pipeline_tag"]) is { } task)
        {
            parameters["task"] = task;
        }
        var datasets = Texts(card["datasets"]).Select(d => (JsonNode)new JsonObject { ["type"] = "dataset", ["name"] = d }).ToArray();
        if (datasets.Length > 0)
        {
            parameters["datasets"] = new JsonArray(datasets);
        }
        var metrics = new JsonArray();
        foreach (var model in card["model-index"] as JsonArray ?? [])
        {
            foreach (var result in model?["results"] as JsonArray ?? [])
            {
                var slice = Text(result?["dataset"]?["name"]) ?? Text(result?["dataset"]?["type"]);
                foreach (var metric in result?["metrics"] as JsonArray ?? [])
                {
                    if ((Text(metric?["type"]) ?? Text(metric?["name"])) is { } type && metric?["value"] is JsonValue value)
                    {
                        var entry = new JsonObject { ["type"] = type, ["value"] = value.ToJsonString().Trim('"') };
                        if (slice is not null)
                        {
                            entry["slice"] = slice;
                        }
                        metrics.Add(entry);
                    }
                }
            }
        }
        var properties = new JsonArray();
        foreach (var (key, name) in new[] { ("library_name", "huggingface:library_name"), ("base_model", "huggingface:base_model"), ("language", "huggingface:language") })
        {
            if (Texts(card[key]) is { Count: > 0 } values)
            {
                properties.Add(Property(name, string.Join(", ", values)));
            }
        }
        var modelCard = new JsonObject();
        if (parameters.Count > 0)
        {
            modelCard["modelParameters"] = parameters;
        }
        if (metrics.Count > 0)
        {
            modelCard["quantitativeAnalysis"] = new JsonObject { ["performanceMetrics"] = metrics };
        }
        if (properties.Count > 0)
        {
            modelCard["properties"] = properties;
        }
        return modelCard.Count > 0 ? modelCard : null;
    }

    private static JsonObject Vulnerability(AdvisoryFact advisory, List<string> refs)
    {
        var vulnerability = new JsonObject
        {
            ["id"] = advisory.Id,
            ["source"] = OsvSource(advisory.Id),
        };
        var aliases = advisory.Aliases.Where(a => a != advisory.Id).Distinct(StringComparer.Ordinal).ToArray();
        if (aliases.Length > 0)
        {
            vulnerability["references"] = new JsonArray([.. aliases.Select(a => (JsonNode)new JsonObject { ["id"] = a, ["source"] = OsvSource(a) })]);
        }
        if (advisory.Cvss is { } score)
        {
            // The highest base score the OSV mirror computed from the record's vectors (Advisory.Cvss); the fact keeps no
            // vector, and OSV's PyPI records rate with CVSS v3.1 vectors, so the rating names that method.
            vulnerability["ratings"] = new JsonArray(new JsonObject
            {
                ["source"] = OsvSource(advisory.Id),
                ["score"] = score,
                ["severity"] = advisory.Severity is "critical" or "high" or "medium" or "low" or "none" ? advisory.Severity : "unknown",
                ["method"] = "CVSSv31",
            });
        }
        if (advisory.Summary.Length > 0)
        {
            vulnerability["description"] = advisory.Summary;
        }
        if (advisory.FixedIn.Count > 0)
        {
            vulnerability["recommendation"] = "Upgrade to a fixed version: " + string.Join(", ", advisory.FixedIn);
        }
        vulnerability["affects"] = new JsonArray([.. refs.Select(r => (JsonNode)new JsonObject { ["ref"] = r })]);
        if (advisory.Malicious)
        {
            vulnerability["properties"] = new JsonArray(Property("gatehouse:malicious", "true"));
        }
        return vulnerability;
    }

    /// <summary>OSV serves every record it holds, under its own id or an alias, at https://osv.dev/vulnerability/&lt;id&gt;.</summary>
    private static JsonObject OsvSource(string id) => new() { ["name"] = "OSV", ["url"] = "https://osv.dev/vulnerability/" + Uri.EscapeDataString(id) };

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0 ? text : null;

    /// <summary>A card field that is a string or a list of strings.</summary>
    private static List<string> Texts(JsonNode? node) => node is JsonArray list ? [.. list.Select(Text).OfType<string>()] : Text(node) is { } one ? [one] : [];
}
