using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Gatehouse.Versions;
using Gatehouse.Vulnerabilities;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.PyPI;

/// <summary>
/// An OSV-compatible API under <c>/osv/v1</c>, so tools that take an OSV URL (pip-audit, uv) are told what Gatehouse
/// knows: the mirror's advisories and, as <c>x_GATEHOUSE-…</c> records, the PyPI files whose recorded decision refuses them.
/// Requests and answers follow https://google.github.io/osv.dev/api/ (docs/api/post-v1-query.md, post-v1-querybatch.md
/// and get-v1-vulns.md in google/osv.dev): <c>POST /v1/query</c>, <c>POST /v1/querybatch</c>, <c>GET /v1/vulns/{id}</c>.
/// Only the PyPI ecosystem is served; every match is answered at once, so no <c>next_page_token</c> is ever sent. It
/// lives with the PyPI remote because it reads PyPI's references (Core's folders may not use each other in a circle).
/// </summary>
public sealed class OsvApiEndpoint(VulnerabilityMirror mirror, IReferenceStore references, GatehouseStorage storage)
{
    /// <summary>
    /// Gatehouse's records take the <c>x_</c> prefix that docs/schema.md of ossf/osv-schema reserves for local databases
    /// not aggregated by OSV.dev, so they stay schema-valid (a bare <c>GATEHOUSE-</c> id fails the schema's id pattern).
    /// </summary>
    public const string GatehousePrefix = "x_GATEHOUSE-";

    /// <summary>The OSV schema version the answers are written to (ossf/osv-schema docs/schema.md, version 1.7.5).</summary>
    public const string SchemaVersion = "1.7.5";

    private const string PyPIEcosystem = "PyPI";

    /// <summary>Characters of a sha256 an id keeps: 64 bits, stable for one content.</summary>
    private const int IdHexChars = 16;

    /// <summary>google.rpc.Code values osv.dev answers with (INVALID_ARGUMENT, NOT_FOUND, UNIMPLEMENTED).</summary>
    private const int InvalidArgument = 3;
    private const int NotFound = 5;

    public async Task HandleAsync(HttpContext context, string? path)
    {
        var ct = context.RequestAborted;
        var post = HttpMethods.IsPost(context.Request.Method);
        if (post && path == "query")
        {
            var query = ParseBody(await ReadBodyAsync(context, ct), out var error);
            await AnswerAsync(context, query is null ? null : await QueryAsync(query, ct), error);
            return;
        }
        if (post && path == "querybatch")
        {
            var (batch, error) = await QueryBatchAsync(await ReadBodyAsync(context, ct), ct);
            await AnswerAsync(context, batch, error);
            return;
        }
        if (HttpMethods.IsGet(context.Request.Method) && path is not null && path.StartsWith("vulns/", StringComparison.Ordinal))
        {
            var id = path["vulns/".Length..];
            if (id.Length > 100)
            {
                await WriteAsync(context, StatusCodes.Status400BadRequest, Error(InvalidArgument, "ID too long"));
                return;
            }
            var record = await VulnAsync(id, ct);
            await WriteAsync(context, record is null ? StatusCodes.Status404NotFound : StatusCodes.Status200OK, record ?? Error(NotFound, "Bug not found."));
            return;
        }
        await WriteAsync(context, StatusCodes.Status404NotFound,
            Error(NotFound, "Use POST /osv/v1/query, POST /osv/v1/querybatch or GET /osv/v1/vulns/{id}"));
    }

    /// <summary>The full records for one query: <c>{"vulns": [...]}</c>, or <c>{}</c> when nothing matches.</summary>
    public async Task<JsonObject> QueryAsync(OsvQuery query, CancellationToken cancellationToken)
    {
        var records = await MatchAsync(query, cancellationToken);
        return records.Count == 0 ? [] : new JsonObject { ["vulns"] = new JsonArray([.. records]) };
    }

    /// <summary>One record by id: a mirror advisory, else a Gatehouse refusal; null when neither is known.</summary>
    public async Task<JsonObject?> VulnAsync(string id, CancellationToken cancellationToken)
    {
        var bare = id.StartsWith("x_", StringComparison.Ordinal) ? id[2..] : id;
        if (bare.StartsWith(GatehousePrefix[2..], StringComparison.Ordinal))
        {
            var hex = bare[(GatehousePrefix.Length - 2)..];
            return hex.Length == IdHexChars && hex.All(char.IsAsciiHexDigitLower) && await RefusalAsync(hex, cancellationToken) is { } found
                ? Write(found.Reference, found.Decision)
                : null;
        }
        return await mirror.GetAsync(id, cancellationToken) is { } record ? Write(record) : null;
    }

    /// <summary>Reads a query object; null with a reason when it is not one this API can answer.</summary>
    public static OsvQuery? ParseQuery(JsonElement query, out string? error)
    {
        error = null;
        if (query.ValueKind != JsonValueKind.Object)
        {
            error = "A query must be a JSON object";
            return null;
        }
        if (query.TryGetProperty("version", out var given) && given.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
        {
            error = "version must be a string";
            return null;
        }
        var version = Text(query, "version");
        if (!query.TryGetProperty("package", out var package) || package.ValueKind != JsonValueKind.Object)
        {
            error = "A query needs \"package\" (Gatehouse answers package queries only, not commit queries)";
            return null;
        }
        if (Text(package, "purl") is { Length: > 0 } purl)
        {
            if (Text(package, "name") is { Length: > 0 } || Text(package, "ecosystem") is { Length: > 0 })
            {
                error = "name and ecosystem must not be given with purl";
                return null;
            }
            if (!TryParsePurl(purl, out var type, out var purlName, out var purlVersion))
            {
                error = $"Invalid purl: {purl}";
                return null;
            }
            if (purlVersion is not null && version is not null)
            {
                error = "version must not be given both in purl and in version";
                return null;
            }
            return new OsvQuery(type == "pypi" ? PyPIEcosystem : type, purlName, purlVersion ?? version);
        }
        if (Text(package, "name") is not { Length: > 0 } name || Text(package, "ecosystem") is not { Length: > 0 } ecosystem)
        {
            error = "package needs name and ecosystem, or purl";
            return null;
        }
        return new OsvQuery(ecosystem, name, version);
    }

    /// <summary>
    /// A PyPI purl as the purl specification writes it (https://github.com/package-url/purl-spec, PURL-TYPES.rst:
    /// <c>pkg:pypi/&lt;name&gt;@&lt;version&gt;</c>, qualifiers after <c>?</c>, subpath after <c>#</c>).
    /// </summary>
    internal static bool TryParsePurl(string purl, out string type, out string name, out string? version)
    {
        type = name = "";
        version = null;
        if (!purl.StartsWith("pkg:", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var rest = purl[4..].TrimStart('/');
        var end = rest.IndexOfAny(['?', '#']);
        rest = end >= 0 ? rest[..end] : rest;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return false;
        }
        type = rest[..slash].ToLowerInvariant();
        var path = rest[(slash + 1)..];
        var at = path.LastIndexOf('@');
        if (at >= 0)
        {
            version = Uri.UnescapeDataString(path[(at + 1)..]);
            path = path[..at];
        }
        name = Uri.UnescapeDataString(path[(path.LastIndexOf('/') + 1)..]);
        return name.Length > 0 && version is not "";
    }

    private async Task<(JsonObject? Answer, string? Error)> QueryBatchAsync(JsonDocument? body, CancellationToken cancellationToken)
    {
        using (body)
        {
            if (body is null || body.RootElement.ValueKind != JsonValueKind.Object
                || !body.RootElement.TryGetProperty("queries", out var queries) || queries.ValueKind != JsonValueKind.Array)
            {
                return (null, "The body must be a JSON object with a \"queries\" array");
            }
            var results = new JsonArray();
            foreach (var element in queries.EnumerateArray())
            {
                if (ParseQuery(element, out var error) is not { } query)
                {
                    return (null, error);
                }
                var records = await MatchAsync(query, cancellationToken);
                // querybatch answers ids and modified times only; the records are read with GET /v1/vulns/{id}.
                results.Add(records.Count == 0 ? new JsonObject() : new JsonObject
                {
                    ["vulns"] = new JsonArray([.. records.Select(r => new JsonObject { ["id"] = r["id"]!.DeepClone(), ["modified"] = r["modified"]!.DeepClone() })]),
                });
            }
            return (new JsonObject { ["results"] = results }, null);
        }
    }

    /// <summary>
    /// The mirror's advisories for the package (at the version, when one is given), then Gatehouse's refusals of its
    /// files (of that version: PEP 440 equal). An ecosystem other than PyPI matches nothing.
    /// </summary>
    private async Task<List<JsonObject>> MatchAsync(OsvQuery query, CancellationToken cancellationToken)
    {
        if (query.Ecosystem != PyPIEcosystem || !ProjectName.IsValid(query.Name))
        {
            return [];
        }
        var project = ProjectName.Normalize(query.Name);
        var matching = query.Version is { } version ? await mirror.ForAsync(project, version, cancellationToken) : null;
        // Read after the match: an import in between can only have added to the project's records.
        var stored = await mirror.ForProjectAsync(project, cancellationToken);
        var records = new List<JsonObject>();
        if (matching is not null)
        {
            var byId = stored.ToDictionary(s => s.Record.Id, s => s.Record, StringComparer.Ordinal);
            records.AddRange(matching.Where(a => byId.ContainsKey(a.Id)).Select(a => Write(byId[a.Id])));
        }
        else
        {
            records.AddRange(stored.Where(s => s.Record.Withdrawn is null).Select(s => Write(s.Record)));
        }
        var wanted = query.Version is null ? null : Pep440Version.TryParse(query.Version, out var parsed) ? parsed : null;
        if (query.Version is not null && wanted is null)
        {
            return records;
        }
        foreach (var filename in (await references.RefusedAsync(PyPIRemote.Partition(project), cancellationToken)).Keys.Order(StringComparer.Ordinal))
        {
            if (await references.GetAsync(PyPIRemote.Key(project, filename), cancellationToken) is { Decision: { IsAllowed: false } decision } reference
                && (wanted is null || (Pep440Version.TryParse(DistributionFile.Version(filename, project), out var fileVersion) && fileVersion.Equals(wanted))))
            {
                records.Add(Write(reference.Reference, decision));
            }
        }
        return records;
    }

    /// <summary>
    /// The refused PyPI reference whose content's sha256 starts with <paramref name="hex"/>. The <c>verdicts</c> table's
    /// partitions are the contents' sha256, so the prefix is one range query over partition keys (hex sorts as text),
    /// then one read per reference to a matching content; nothing is scanned beyond the contents with that prefix.
    /// </summary>
    private async Task<(ArtifactReference Reference, ArtifactDecision Decision)?> RefusalAsync(string hex, CancellationToken cancellationToken)
    {
        var upper = hex + "g";
        var contents = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var row in storage.Table(GatehouseStorage.VerdictsTable).QueryAsync<TableEntity>(
            e => e.PartitionKey.CompareTo(hex) >= 0 && e.PartitionKey.CompareTo(upper) < 0, select: ["PartitionKey"], cancellationToken: cancellationToken))
        {
            contents.Add(row.PartitionKey);
        }
        foreach (var sha256 in contents)
        {
            var refused = (await references.ReferencesToAsync(sha256, cancellationToken))
                .Where(r => r.Reference.Remote == PyPIRemote.Pypi && r.Decision is { IsAllowed: false })
                .OrderBy(r => r.Reference.Key.Partition + "\n" + r.Reference.Key.Row, StringComparer.Ordinal)
                .FirstOrDefault();
            if (refused is { Decision: { } decision })
            {
                return (refused.Reference, decision);
            }
        }
        return null;
    }

    /// <summary>A mirror record as OSV JSON, with the <c>schema_version</c> the stored form leaves out.</summary>
    private static JsonObject Write(OsvRecord record)
    {
        var json = JsonNode.Parse(record.ToJson())!.AsObject();
        json.Insert(0, "schema_version", SchemaVersion);
        return json;
    }

    /// <summary>A refused file as an OSV record: what was decided, by which rule of which policy, about which file.</summary>
    private static JsonObject Write(ArtifactReference reference, ArtifactDecision decision)
    {
        var project = reference.Key.Partition[(PyPIRemote.Partition("").Length)..];
        var version = DistributionFile.Version(reference.FileName, project) ?? "";
        var when = decision.DecidedAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var decided = decision.Decision.ToString().ToLowerInvariant();
        return new JsonObject
        {
            ["schema_version"] = SchemaVersion,
            ["id"] = GatehouseId(reference.Sha256),
            ["modified"] = when,
            ["published"] = when,
            ["summary"] = decision.Reason,
            ["details"] = $"Gatehouse {decided} {reference.FileName} (sha256 {reference.Sha256}) under rule {decision.Rule} of policy {decision.PolicyVersion}: {decision.Reason}",
            ["affected"] = new JsonArray(new JsonObject
            {
                ["package"] = new JsonObject { ["ecosystem"] = PyPIEcosystem, ["name"] = project },
                ["versions"] = new JsonArray(version),
            }),
            ["database_specific"] = new JsonObject
            {
                ["gatehouse"] = new JsonObject
                {
                    ["decision"] = decision.Decision.ToString(),
                    ["rule"] = decision.Rule,
                    ["policy_version"] = decision.PolicyVersion,
                    ["sha256"] = reference.Sha256,
                    ["file"] = reference.FileName,
                },
            },
        };
    }

    /// <summary>The stable id of a refusal: the content's sha256, cut to <see cref="IdHexChars"/> characters.</summary>
    public static string GatehouseId(string sha256) => GatehousePrefix + sha256[..IdHexChars];

    private static async Task<JsonDocument?> ReadBodyAsync(HttpContext context, CancellationToken cancellationToken)
    {
        try
        {
            return await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static OsvQuery? ParseBody(JsonDocument? body, out string? error)
    {
        using (body)
        {
            if (body is null)
            {
                error = "The body is not JSON";
                return null;
            }
            return ParseQuery(body.RootElement, out error);
        }
    }

    private static Task AnswerAsync(HttpContext context, JsonObject? answer, string? error) =>
        answer is null
            ? WriteAsync(context, StatusCodes.Status400BadRequest, Error(InvalidArgument, error ?? "Invalid query"))
            : WriteAsync(context, StatusCodes.Status200OK, answer);

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>osv.dev's error body (google.rpc.Status as JSON): <c>{"code": 5, "message": "Bug not found."}</c>.</summary>
    private static JsonObject Error(int code, string message) => new() { ["code"] = code, ["message"] = message };

    private static async Task WriteAsync(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }
}

/// <summary>One OSV package query: ecosystem and name (from the fields or a purl) and an optional version.</summary>
public sealed record OsvQuery(string Ecosystem, string Name, string? Version);
