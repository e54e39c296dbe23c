using Microsoft.OpenApi;

namespace Gatehouse.Admin;

/// <summary>
/// The admin API as an OpenAPI 3.0 document (https://spec.openapis.org/oas/v3.0.3), built with the Microsoft.OpenApi
/// object model because the handlers are not minimal-API endpoints that a generator could read. Each operation is
/// written here by hand; a test checks that every <c>admin/*</c> route is described, so a new route comes with its entry.
/// </summary>
public static class AdminApiDocument
{
    private const string Json = "application/json";

    private static readonly Lazy<string> Serialized = new(() => Build().SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_0).GetAwaiter().GetResult());

    /// <summary>The document as JSON, built once.</summary>
    public static string JsonText => Serialized.Value;

    /// <summary>Every admin operation: path (OpenAPI form), method, id, tag, summary, parameters, body, success status.</summary>
    private static readonly IReadOnlyList<Operation> Operations =
    [
        new("/admin/tokens", HttpMethod.Get, "listTokens", "tokens", "List entitlement tokens (ids, names, scopes; never secrets)"),
        new("/admin/tokens", HttpMethod.Post, "createToken", "tokens", "Create a token; its secret is shown once",
            Body: Object(("name", "string", true, "1 to 100 characters"),
                ("scopes", "array", false, Tokens.TokenScopes.Listing + "; a read scope may be limited: pypi:read=numpy,torch-*"),
                ("scope", "string", false, "legacy: read (default) or admin"), ("expiresAt", "string", false, "ISO 8601"),
                ("maxDownloads", "integer", false, "files served in total"), ("maxBytesPerDay", "integer", false, "bytes per rolling day"),
                ("allowedIps", "array", false, "CIDR ranges or addresses, IPv4 or IPv6")), Success: 201),
        new("/admin/tokens/{id}", HttpMethod.Get, "getToken", "tokens", "One token with its scopes, limits and usage", [Path("id", "The token's id")]),
        new("/admin/tokens/{id}", HttpMethod.Patch, "updateToken", "tokens", "Change a token's limits: a field left out stays, null lifts it",
            [Path("id", "The token's id")], Object(("expiresAt", "string", false, "ISO 8601"), ("maxDownloads", "integer", false, "files served in total"),
                ("maxBytesPerDay", "integer", false, "bytes per rolling day"), ("allowedIps", "array", false, "CIDR ranges or addresses"))),
        new("/admin/tokens/{id}/rotate", HttpMethod.Post, "rotateToken", "tokens",
            "A new secret for the token; the old one stays valid for the grace period", [Path("id", "The token's id")],
            Object(("graceHours", "number", false, "how long the old secret stays valid; 24 by default, 0 ends it now"))),
        new("/admin/tokens/{id}", HttpMethod.Delete, "revokeToken", "tokens", "Revoke a token", [Path("id", "The token's id")]),
        new("/admin/rescan", HttpMethod.Post, "startRescan", "rescan",
            "Start a rescan of the cached verdicts whose checks, policy or OSV data changed (202 with Location; 409 with the running one)", Success: 202),
        new("/admin/rescan", HttpMethod.Get, "getRescan", "rescan", "The running or last rescan's progress: examined, selected, decided, changed, by reason and decision"),
        new("/admin/rescan/{id}", HttpMethod.Get, "getRescanById", "rescan", "A rescan's progress by its id", [Path("id", "gatehouse-rescan")]),
        new("/admin/prefetch/{source}", HttpMethod.Post, "startPrefetch", "prefetch",
            "Fetch and scan every file of a Hugging Face repository at a revision (202 with Location)", [Path("source", "hf")],
            Object(("repo", "string", true, "org/name"), ("revision", "string", false, "branch, tag or commit; main by default"),
                ("repoType", "string", false, "model (default) or dataset")), 202),
        new("/admin/prefetch/{source}/{id}", HttpMethod.Get, "getPrefetch", "prefetch", "A prefetch's progress and, once done, every file's verdict",
            [Path("source", "hf"), Path("id", "The prefetch id from Location")]),
        new("/admin/prefetch/{source}/{id}", HttpMethod.Head, "headPrefetch", "prefetch", "Whether the prefetch exists", [Path("source", "hf"), Path("id", "The prefetch id")]),
        new("/admin/policy", HttpMethod.Get, "getPolicy", "policy", "The policy in force: version, source, text, and the last refused text's errors"),
        new("/admin/policy", HttpMethod.Put, "putPolicy", "policy", "Apply a policy (YAML body); refused whole (422) with every error and its line",
            Body: Text("application/yaml", "The policy")),
        new("/admin/policy/dry-run", HttpMethod.Post, "dryRunPolicy", "policy", "What a candidate policy (YAML body) would change, applied to nothing",
            Body: Text("application/yaml", "The candidate policy")),
        new("/admin/osv", HttpMethod.Get, "getOsv", "osv", "The OSV mirror's imports, the primary export's as import and every configured export's under exports: source, ETag, counts, time"),
        new("/admin/osv/refresh", HttpMethod.Post, "refreshOsv", "osv", "Fetch every OSV export (conditionally) and import each now; 502 when any failed"),
        new("/admin/bom/{remote}/{name}", HttpMethod.Get, "getBom", "bom",
            "CycloneDX 1.6 bill of materials of a PyPI project or Hugging Face repository, every file with its verdict",
            [Path("remote", "pypi or hf"), Path("name", "A PyPI project, or org/name (datasets/org/name) of a Hugging Face repository; may contain slashes")]),
        new("/admin/audit", HttpMethod.Get, "queryAudit", "audit", "Audit records, newest first, by artifact, token, time range and action (append-only: no other method)",
            [Query("artifact", "sha256, project==version, project, repo@commit, org/repo"), Query("token", "A token id"),
                Query("from", "ISO 8601 or an age (90m, 12h, 7d)"), Query("to", "ISO 8601 or an age"), Query("action", "download, decision, policy.apply, token.create, …"),
                Query("limit", "1 to 1000, default 100; with format=csv, the most rows (none: every record in the range)"),
                Query("continuation", "From the previous page's answer"),
                Query("format", "json (default) or csv: every record selected, as text/csv (RFC 4180; also chosen by Accept: text/csv)")], AlsoProduces: ["text/csv"]),
        new("/admin/audit/affected", HttpMethod.Get, "affectedConsumers", "audit",
            "Who downloaded an artifact and when, per token, with the artifact's decision now", [Query("artifact", "sha256, project==version or repo@commit")]),
        new("/admin/quarantine", HttpMethod.Get, "listQuarantine", "quarantine", "Every reference whose recorded decision refuses it, with its content's facts summarised",
            [Query("remote", "pypi or hf"), Query("rule", "The decision's rule or the policy rule that made it"), Query("severity", "Info, Suspicious or Dangerous: the least worst finding"),
                Query("since", "ISO 8601: decisions made at or after"), Query("sort", "decided (default, newest first), severity or subject"), Query("limit", "1 to 1000, default 100")]),
        new("/admin/quarantine/{sha256}", HttpMethod.Get, "showQuarantine", "quarantine",
            "A content's facts and full scan report, every reference with its decision, its overrides and the audit naming it", [Sha256()]),
        new("/admin/quarantine/{sha256}/release", HttpMethod.Post, "releaseQuarantine", "quarantine",
            "Release the content until an expiry (a waiver; the approver is the admin token's name); every reference is decided again", [Sha256()],
            Object(("reason", "string", true, "Why"), ("expires", "string", true, "ISO 8601 date or time, in the future, at most 365 days ahead"))),
        new("/admin/quarantine/{sha256}/block", HttpMethod.Post, "blockQuarantine", "quarantine", "Block the content until lifted; every reference is decided again",
            [Sha256()], Object(("reason", "string", true, "Why; clients are told it"))),
        new("/admin/quarantine/{sha256}/lift", HttpMethod.Post, "liftQuarantine", "quarantine", "Lift the release or block in force; the policy decides alone again",
            [Sha256()], Object(("reason", "string", false, "Why"))),
        new("/admin/quarantine/{sha256}/rescan", HttpMethod.Post, "rescanQuarantine", "quarantine", "Forget the content's facts and scan it again (202)", [Sha256()],
            Success: 202),
        new("/admin/openapi.json", HttpMethod.Get, "getOpenApi", "meta", "This document"),
        new("/admin/stats", HttpMethod.Get, "getStats", "console",
            "Overview: references by decision (count, bytes), decisions per UTC day for 30 days, the 10 newest refusals, and this instance's cache and scan counters"),
        new("/admin/artifacts", HttpMethod.Get, "searchArtifacts", "console",
            "References matching a sha256 (or a hex prefix of 8 or more), a subject, a file name, a version or a token id or name, newest decision first",
            [Query("q", "The text to match; empty lists the newest decisions"), Query("remote", "pypi, hf or uploads"), Query("limit", "1 to 500, default 50")]),
    ];

    /// <summary>The document, with every operation under the admin token (Bearer, or Basic with the token as password).</summary>
    public static OpenApiDocument Build()
    {
        var document = new OpenApiDocument
        {
            Info = new OpenApiInfo
            {
                Title = "Gatehouse admin API",
                Version = "1",
                Description = "Administration of Gatehouse, the supply-chain firewall for PyPI and Hugging Face. Every operation needs an admin entitlement token.",
            },
            Paths = [],
            Components = new OpenApiComponents
            {
                SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal)
                {
                    ["bearer"] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", Description = "An admin entitlement token" },
                    ["basic"] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "basic", Description = "Any user name, the admin token as password" },
                },
            },
        };
        document.Security =
        [
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] },
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("basic", document)] = [] },
        ];
        foreach (var path in Operations.GroupBy(o => o.Path, StringComparer.Ordinal))
        {
            var item = new OpenApiPathItem { Operations = [] };
            foreach (var operation in path)
            {
                item.Operations[operation.Method] = operation.ToOpenApi(document);
            }
            document.Paths.Add(path.Key, item);
        }
        return document;
    }

    private static OpenApiParameter Path(string name, string description) =>
        new() { Name = name, In = ParameterLocation.Path, Required = true, Description = description, Schema = new OpenApiSchema { Type = JsonSchemaType.String } };

    private static OpenApiParameter Query(string name, string description) =>
        new() { Name = name, In = ParameterLocation.Query, Description = description, Schema = new OpenApiSchema { Type = JsonSchemaType.String } };

    private static OpenApiParameter Sha256() => new()
    {
        Name = "sha256", In = ParameterLocation.Path, Required = true, Description = "The content's sha256, 64 lower-case hex digits",
        Schema = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^[0-9a-f]{64}$" },
    };

    private static OpenApiRequestBody Object(params (string Name, string Type, bool Required, string Description)[] properties) => new()
    {
        Required = properties.Any(p => p.Required),
        Content = new Dictionary<string, IOpenApiMediaType>(StringComparer.Ordinal)
        {
            [Json] = new OpenApiMediaType
            {
                Schema = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Properties = properties.ToDictionary(p => p.Name, p => Property(p.Type, p.Description), StringComparer.Ordinal),
                    Required = properties.Where(p => p.Required).Select(p => p.Name).ToHashSet(StringComparer.Ordinal),
                },
            },
        },
    };

    /// <summary>A body property: <c>string</c>, <c>integer</c>, <c>number</c>, <c>boolean</c>, or <c>array</c> (of strings).</summary>
    private static IOpenApiSchema Property(string type, string description) => type switch
    {
        "integer" => new OpenApiSchema { Type = JsonSchemaType.Integer, Description = description },
        "number" => new OpenApiSchema { Type = JsonSchemaType.Number, Description = description },
        "boolean" => new OpenApiSchema { Type = JsonSchemaType.Boolean, Description = description },
        "array" => new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String }, Description = description },
        _ => new OpenApiSchema { Type = JsonSchemaType.String, Description = description },
    };

    private static OpenApiRequestBody Text(string mediaType, string description) => new()
    {
        Required = true,
        Description = description,
        Content = new Dictionary<string, IOpenApiMediaType>(StringComparer.Ordinal) { [mediaType] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String } } },
    };

    private sealed record Operation(string Path, HttpMethod Method, string Id, string Tag, string Summary, OpenApiParameter[]? Parameters = null,
        OpenApiRequestBody? Body = null, int Success = 200, string[]? AlsoProduces = null)
    {
        public OpenApiOperation ToOpenApi(OpenApiDocument document)
        {
            var responses = new OpenApiResponses
            {
                [Success.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new OpenApiResponse
                {
                    Description = Summary,
                    Content = Method == HttpMethod.Head ? null : new[] { Json }.Concat(AlsoProduces ?? []).ToDictionary(m => m, IOpenApiMediaType (_) => new OpenApiMediaType(), StringComparer.Ordinal),
                },
                ["401"] = Error("No token, or an unknown or revoked one"),
                ["403"] = Error("The token is not an admin token"),
                ["503"] = Error("Gatehouse's storage is unavailable; retry after Retry-After"),
            };
            if (Parameters is { Length: > 0 } || Body is not null)
            {
                responses["400"] = Error("The request is malformed; the error says why");
            }
            return new OpenApiOperation
            {
                OperationId = Id,
                Summary = Summary,
                Tags = new HashSet<OpenApiTagReference> { new(Tag, document) },
                Parameters = [.. Parameters ?? []],
                RequestBody = Body,
                Responses = responses,
            };
        }

        /// <summary>Errors are plain text: the reason on the first line (also the status line's reason phrase).</summary>
        private static OpenApiResponse Error(string description) => new()
        {
            Description = description,
            Content = new Dictionary<string, IOpenApiMediaType>(StringComparer.Ordinal)
            {
                ["text/plain"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
            },
        };
    }
}
