using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Configuration;
using Gatehouse.Pipeline;
using Gatehouse.PyPI;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Gatehouse.Vulnerabilities;
using Json.Schema;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Vulnerabilities;

/// <summary>
/// The OSV-compatible API against Azurite with the fixture export imported and references recorded. Every record it
/// answers is validated against ossf/osv-schema's validation/schema.json (tests/fixtures/osv/schema.json). It shares the
/// <c>vulnerabilities</c> table with <see cref="VulnerabilityMirrorTests"/>, hence one collection.
/// </summary>
[Collection(VulnerabilityMirrorTests.TableCollection)]
public sealed class OsvApiEndpointTests : IAsyncLifetime
{
    private static readonly Lazy<JsonSchema> Schema = new(() => JsonSchema.FromFile(Path.Combine(OsvFixtures.Folder, "schema.json")));

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly GatehouseStorage _storage;
    private readonly ReferenceStore _references;
    private readonly OsvImporter _importer;
    private readonly OsvApiEndpoint _endpoint;

    public OsvApiEndpointTests()
    {
        var connection = TestAzurite.ConnectionString;
        _storage = new GatehouseStorage(new BlobServiceClient(connection), new TableServiceClient(connection));
        var mirror = new VulnerabilityMirror(_storage, new MemoryCache(new MemoryCacheOptions()), Options.Create(new GatehouseOptions()));
        _importer = new OsvImporter(_storage, mirror, _time, NullLogger<OsvImporter>.Instance);
        _references = new ReferenceStore(_storage);
        _endpoint = new OsvApiEndpoint(mirror, _references, _storage);
    }

    public async Task InitializeAsync()
    {
        await _storage.EnsureCreatedAsync(CancellationToken.None);
        var references = _storage.Table(GatehouseStorage.ReferencesTable);
        await foreach (var row in references.QueryAsync<TableEntity>(e => e.PartitionKey == PyPIRemote.Partition("gh-dep"), select: ["PartitionKey", "RowKey"]))
        {
            await references.DeleteEntityAsync(row.PartitionKey, row.RowKey);
        }
        await using var zip = File.OpenRead(OsvFixtures.Zip);
        await _importer.ImportAsync(zip, new OsvImportSource("https://osv.example/PyPI/all.zip", null, null), CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_query_by_name_and_version_answers_the_full_records_that_affect_that_version()
    {
        var (status, body) = await PostAsync("query", """{"package":{"name":"gh-dep","ecosystem":"PyPI"},"version":"1.0.0"}""");

        Assert.Equal(200, status);
        var record = Assert.Single(Vulns(body));
        Assert.Equal("PYSEC-0000-GH-DEP-1", (string?)record["id"]);
        Assert.Equal("2026-01-01T00:00:00Z", (string?)record["modified"]);
        Assert.Equal("CVE-0000-00001", (string?)record["aliases"]![0]);
        Assert.Equal("1.1.0", (string?)record["affected"]![0]!["ranges"]![0]!["events"]![1]!["fixed"]);
        Assert.Equal(OsvApiEndpoint.SchemaVersion, (string?)record["schema_version"]);

        var (_, fixedVersion) = await PostAsync("query", """{"package":{"name":"gh-dep","ecosystem":"PyPI"},"version":"1.1.0"}""");
        Assert.Equal("{}", fixedVersion.ToJsonString());
    }

    [Fact]
    public async Task Names_are_compared_PEP_503_normalised()
    {
        var (_, body) = await PostAsync("query", """{"package":{"name":"Jinja2","ecosystem":"PyPI"},"version":"2.11.2"}""");

        Assert.Equal(["PYSEC-2021-66"], Vulns(body).Select(v => (string?)v["id"]));
    }

    [Fact]
    public async Task A_query_by_purl_carries_name_and_version_in_the_purl_or_the_version_beside_it()
    {
        var (_, inPurl) = await PostAsync("query", """{"package":{"purl":"pkg:pypi/requests@2.30.0"}}""");
        var beside = await PostAsync("query", """{"package":{"purl":"pkg:pypi/requests"},"version":"2.30.0"}""");
        var (_, outside) = await PostAsync("query", """{"package":{"purl":"pkg:pypi/requests@2.31.0"}}""");

        Assert.Equal(["PYSEC-2023-74"], Vulns(inPurl).Select(v => (string?)v["id"]));
        Assert.Equal(inPurl.ToJsonString(), beside.Body.ToJsonString());
        Assert.Equal("{}", outside.ToJsonString());
    }

    [Fact]
    public async Task An_unknown_package_or_another_ecosystem_matches_nothing()
    {
        var unknown = await PostAsync("query", """{"package":{"name":"no-such-project","ecosystem":"PyPI"},"version":"1.0"}""");
        var npm = await PostAsync("query", """{"package":{"name":"requests","ecosystem":"npm"},"version":"2.30.0"}""");
        var npmPurl = await PostAsync("query", """{"package":{"purl":"pkg:npm/requests@2.30.0"}}""");

        Assert.Equal((200, "{}"), (unknown.Status, unknown.Body.ToJsonString()));
        Assert.Equal((200, "{}"), (npm.Status, npm.Body.ToJsonString()));
        Assert.Equal((200, "{}"), (npmPurl.Status, npmPurl.Body.ToJsonString()));
    }

    [Fact]
    public async Task A_query_without_a_version_answers_every_record_of_the_package()
    {
        var (_, body) = await PostAsync("query", """{"package":{"name":"gh-dep","ecosystem":"PyPI"}}""");

        Assert.Equal(["PYSEC-0000-GH-DEP-1"], Vulns(body).Select(v => (string?)v["id"]));
    }

    [Fact]
    public async Task A_batch_answers_one_result_per_query_in_order_with_ids_and_modified_times_only()
    {
        var (status, body) = await PostAsync("querybatch", """
            {"queries":[
              {"package":{"name":"requests","ecosystem":"PyPI"},"version":"2.30.0"},
              {"package":{"name":"no-such-project","ecosystem":"PyPI"},"version":"1.0"},
              {"package":{"purl":"pkg:pypi/gh-dep@1.0.0"}}
            ]}
            """);

        Assert.Equal(200, status);
        var results = body["results"]!.AsArray();
        Assert.Equal(3, results.Count);
        Assert.Equal("""{"vulns":[{"id":"PYSEC-2023-74","modified":"2023-06-05T01:13:00.534973Z"}]}""", results[0]!.ToJsonString());
        Assert.Equal("{}", results[1]!.ToJsonString());
        Assert.Equal("""{"vulns":[{"id":"PYSEC-0000-GH-DEP-1","modified":"2026-01-01T00:00:00Z"}]}""", results[2]!.ToJsonString());
    }

    [Fact]
    public async Task A_record_is_read_by_id_and_an_unknown_id_is_404_with_osv_devs_error()
    {
        var (status, record) = await GetAsync("vulns/PYSEC-2021-66");
        var (missingStatus, missing) = await GetAsync("vulns/PYSEC-1999-1");

        Assert.Equal(200, status);
        Assert.Equal("PYSEC-2021-66", (string?)record["id"]);
        Assert.Equal("jinja2", (string?)record["affected"]![0]!["package"]!["name"]);
        Validate(record);
        Assert.Equal(404, missingStatus);
        Assert.Equal("""{"code":5,"message":"Bug not found."}""", missing.ToJsonString());
        var (longStatus, tooLong) = await GetAsync("vulns/PYSEC-" + new string('1', 100));
        Assert.Equal((400, """{"code":3,"message":"ID too long"}"""), (longStatus, tooLong.ToJsonString()));
    }

    [Fact]
    public async Task A_blocked_file_is_answered_as_a_gatehouse_record_for_its_version_and_by_id()
    {
        var decidedAt = new DateTimeOffset(2026, 3, 2, 8, 30, 15, TimeSpan.Zero);
        var sha256 = await RecordAsync("gh_dep-1.1.0-py3-none-any.whl",
            new ArtifactDecision(Decision.Blocked, "policy:no-typos", "gh-dep 1.1.0 is blocked: a test refusal", "sha256:policy-1", decidedAt));
        await RecordAsync("gh_dep-1.0.0-py3-none-any.whl",
            new ArtifactDecision(Decision.Allowed, "policy:default", "allowed", "sha256:policy-1", decidedAt));
        var id = "x_GATEHOUSE-" + sha256[..16];

        var (_, blocked) = await PostAsync("query", """{"package":{"purl":"pkg:pypi/gh-dep@1.1.0"}}""");
        var (_, allowed) = await PostAsync("query", """{"package":{"name":"gh-dep","ecosystem":"PyPI"},"version":"1.0.0"}""");
        var (_, batch) = await PostAsync("querybatch", """{"queries":[{"package":{"name":"GH_Dep","ecosystem":"PyPI"},"version":"1.1.0"}]}""");
        var (status, byId) = await GetAsync("vulns/" + id);
        var (bareStatus, byBareId) = await GetAsync("vulns/GATEHOUSE-" + sha256[..16]);

        var record = Assert.Single(Vulns(blocked));
        Assert.Equal(id, (string?)record["id"]);
        Assert.Equal("2026-03-02T08:30:15Z", (string?)record["modified"]);
        Assert.Equal("2026-03-02T08:30:15Z", (string?)record["published"]);
        Assert.Equal("gh-dep 1.1.0 is blocked: a test refusal", (string?)record["summary"]);
        var details = (string?)record["details"];
        Assert.Contains("policy:no-typos", details, StringComparison.Ordinal);
        Assert.Contains("sha256:policy-1", details, StringComparison.Ordinal);
        Assert.Contains("gh_dep-1.1.0-py3-none-any.whl", details, StringComparison.Ordinal);
        Assert.Equal("""[{"package":{"ecosystem":"PyPI","name":"gh-dep"},"versions":["1.1.0"]}]""", record["affected"]!.ToJsonString());
        Assert.Equal(
            $$"""{"decision":"Blocked","rule":"policy:no-typos","policy_version":"sha256:policy-1","sha256":"{{sha256}}","file":"gh_dep-1.1.0-py3-none-any.whl"}""",
            record["database_specific"]!["gatehouse"]!.ToJsonString());
        Assert.Equal(["PYSEC-0000-GH-DEP-1"], Vulns(allowed).Select(v => (string?)v["id"]));
        Assert.Equal($$"""{"results":[{"vulns":[{"id":"{{id}}","modified":"2026-03-02T08:30:15Z"}]}]}""", batch.ToJsonString());
        Assert.Equal(200, status);
        Assert.Equal(record.ToJsonString(), byId.ToJsonString());
        Assert.Equal((200, record.ToJsonString()), (bareStatus, byBareId.ToJsonString()));
    }

    [Fact]
    public async Task A_quarantined_file_is_listed_among_the_package_records_and_an_unknown_gatehouse_id_is_404()
    {
        var sha256 = await RecordAsync("gh-dep-1.0.0.tar.gz",
            new ArtifactDecision(Decision.Quarantined, "scan:pickle", "held for review", "sha256:policy-2", _time.GetUtcNow()));

        var (_, body) = await PostAsync("query", """{"package":{"name":"gh-dep","ecosystem":"PyPI"},"version":"1.0"}""");
        var (status, _) = await GetAsync("vulns/x_GATEHOUSE-" + new string('0', 16));

        Assert.Equal(["PYSEC-0000-GH-DEP-1", "x_GATEHOUSE-" + sha256[..16]], Vulns(body).Select(v => (string?)v["id"]));
        Assert.Equal("Quarantined", (string?)Vulns(body)[1]["database_specific"]!["gatehouse"]!["decision"]);
        Assert.Equal(404, status);
    }

    [Theory]
    [InlineData("query", "not json")]
    [InlineData("query", "")]
    [InlineData("query", """{"package":{"name":"gh-dep"},"version":"1.0.0"}""")]
    [InlineData("query", """{"package":{"name":"gh-dep","ecosystem":"PyPI"},"version":1}""")]
    [InlineData("query", """{"commit":"6879efc2c1596d11a6a6ad296f80063b558d5e0f"}""")]
    [InlineData("query", """{"package":{"purl":"pkg:pypi/gh-dep@1.0.0"},"version":"1.0.0"}""")]
    [InlineData("query", """{"package":{"purl":"pypi/gh-dep@1.0.0"}}""")]
    [InlineData("querybatch", """{"queries":{}}""")]
    [InlineData("querybatch", """{"queries":[{"package":{"name":"gh-dep","ecosystem":"PyPI"}},{"version":"1"}]}""")]
    public async Task A_malformed_body_is_400_with_a_json_error(string path, string body)
    {
        var (status, answer) = await PostAsync(path, body);

        Assert.Equal(400, status);
        Assert.Equal(3, (int?)answer["code"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)answer["message"]));
    }

    [Fact]
    public void The_schema_rejects_what_the_api_must_not_answer()
    {
        // The validation below must be able to fail: a record without modified, and a bare GATEHOUSE- id, are invalid.
        Assert.False(Schema.Value.Evaluate(JsonDocument.Parse("""{"id":"PYSEC-1"}""").RootElement).IsValid);
        Assert.False(Schema.Value.Evaluate(JsonDocument.Parse("""{"id":"GATEHOUSE-00","modified":"2026-01-01T00:00:00Z"}""").RootElement).IsValid);
    }

    private async Task<string> RecordAsync(string filename, ArtifactDecision decision)
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(filename + Guid.NewGuid().ToString("N"))));
        var reference = new ArtifactReference(PyPIRemote.Pypi, PyPIRemote.Key("gh-dep", filename), PyPIRemote.Subject("gh-dep", filename), filename,
            sha256, 100, "https://files.example/" + filename, null);
        await _references.RecordAsync(reference, CancellationToken.None);
        await _references.RecordDecisionAsync(reference, decision, CancellationToken.None);
        return sha256;
    }

    private Task<(int Status, JsonObject Body)> PostAsync(string path, string body) => SendAsync("POST", path, body);

    private Task<(int Status, JsonObject Body)> GetAsync(string path) => SendAsync("GET", path, null);

    /// <summary>Runs the endpoint on a request and reads its JSON answer; every OSV record in it is checked against the schema.</summary>
    private async Task<(int Status, JsonObject Body)> SendAsync(string method, string path, string? body)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = "/osv/v1/" + path;
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body ?? ""));
        context.Response.Body = new MemoryStream();
        await _endpoint.HandleAsync(context, path);
        Assert.Equal("application/json", context.Response.ContentType);
        var answer = JsonNode.Parse(((MemoryStream)context.Response.Body).ToArray())!.AsObject();
        if (context.Response.StatusCode == 200 && path.StartsWith("vulns/", StringComparison.Ordinal))
        {
            Validate(answer);
        }
        if (path == "query" && answer["vulns"] is JsonArray vulns)
        {
            foreach (var record in vulns)
            {
                Validate(record!.AsObject());
            }
        }
        return (context.Response.StatusCode, answer);
    }

    private static List<JsonObject> Vulns(JsonObject body) => [.. body["vulns"]!.AsArray().Select(v => v!.AsObject())];

    private static void Validate(JsonObject record)
    {
        using var document = JsonDocument.Parse(record.ToJsonString());
        var result = Schema.Value.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"{record["id"]} does not validate against the OSV schema: " + string.Join("; ",
            (result.Details ?? []).Where(d => d.Errors is { Count: > 0 }).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))));
    }
}
