using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Bom;
using Gatehouse.Core.Tests.Pipeline;
using Gatehouse.HuggingFace;
using Gatehouse.Pipeline;
using Gatehouse.PyPI;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;
using Gatehouse.TestHelpers;
using Gatehouse.Upstream;
using Json.Schema;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Bom;

/// <summary>
/// Bills of materials built from recorded references, content facts, remote facts and model cards, each validated
/// against the published CycloneDX 1.6 JSON schema (tests/fixtures/cyclonedx, copied from CycloneDX/specification).
/// </summary>
public sealed class BomBuilderTests
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";
    private static readonly string OldWheel = new('a', 64);
    private static readonly string NewWheel = new('b', 64);
    private static readonly string Weights = new('c', 64);
    private static readonly string Config = new('d', 64);
    private static readonly string Parquet = new('e', 64);
    private static readonly Lazy<JsonSchema> Schema = new(LoadSchema);

    private readonly FakeReferences _references = new();
    private readonly FakeFacts _facts = new();
    private readonly FakeRemote _pypi = new(PyPIRemote.Pypi);
    private readonly FakeRemote _hf = new(HuggingFaceRemote.Hf);
    private readonly FakeCards _cards = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));

    private BomBuilder Builder => new(_references, _facts, new RemoteRegistry([_pypi, _hf]), _cards, _time);

    [Fact]
    public async Task A_pypi_project_lists_each_file_with_hash_purl_licence_verdict_and_the_advisories_that_affect_it()
    {
        SeedPypi();

        var bom = await BuildValidAsync(new BomSubject("pypi", "gh-dep", null));

        Assert.Equal("CycloneDX", (string?)bom["bomFormat"]);
        Assert.Equal("1.6", (string?)bom["specVersion"]);
        Assert.Matches("^urn:uuid:[0-9a-f-]{36}$", (string?)bom["serialNumber"]);
        Assert.Equal("2026-12-03T12:00:00Z", (string?)bom["metadata"]!["timestamp"]);
        Assert.Equal("Gatehouse", (string?)bom["metadata"]!["tools"]!["components"]![0]!["name"]);
        Assert.Equal("pkg:pypi/gh-dep", (string?)bom["metadata"]!["component"]!["purl"]);

        var components = bom["components"]!.AsArray();
        Assert.Equal(2, components.Count);
        var old = components.Single(c => (string?)c!["version"] == "1.0.0")!;
        var fixedOne = components.Single(c => (string?)c!["version"] == "1.1.0")!;
        Assert.Equal("library", (string?)old["type"]);
        Assert.Equal("pkg:pypi/gh-dep@1.0.0?file_name=gh_dep-1.0.0-py3-none-any.whl", (string?)old["purl"]);
        Assert.Equal("SHA-256", (string?)old["hashes"]![0]!["alg"]);
        Assert.Equal(OldWheel, (string?)old["hashes"]![0]!["content"]);
        Assert.Equal(NewWheel, (string?)fixedOne["hashes"]![0]!["content"]);
        Assert.Equal("MIT", (string?)old["licenses"]![0]!["expression"]);
        Assert.Equal("Custom Licence 1.0", (string?)fixedOne["licenses"]![0]!["license"]!["name"]);

        Assert.Equal("blocked", Property(old, "gatehouse:decision"));
        Assert.Equal("vulnerability.critical", Property(old, "gatehouse:rule"));
        Assert.Equal("pv-1", Property(old, "gatehouse:policy-version"));
        Assert.Equal("PYSEC-0000-GH-DEP-1 is critical", Property(old, "gatehouse:reason"));
        Assert.Equal("allowed", Property(fixedOne, "gatehouse:decision"));
        Assert.Contains("install.setup-network (suspicious): downloads", Properties(old, "gatehouse:finding"));

        var vulnerability = Assert.Single(bom["vulnerabilities"]!.AsArray())!;
        Assert.Equal("PYSEC-0000-GH-DEP-1", (string?)vulnerability["id"]);
        Assert.Equal("OSV", (string?)vulnerability["source"]!["name"]);
        Assert.Equal("https://osv.dev/vulnerability/PYSEC-0000-GH-DEP-1", (string?)vulnerability["source"]!["url"]);
        Assert.Equal("CVE-0000-0001", (string?)vulnerability["references"]![0]!["id"]);
        var rating = vulnerability["ratings"]![0]!;
        Assert.Equal(9.8, (double)rating["score"]!);
        Assert.Equal("critical", (string?)rating["severity"]);
        Assert.Equal("CVSSv31", (string?)rating["method"]);
        Assert.Contains("1.1.0", (string?)vulnerability["recommendation"]);
        Assert.Equal((string?)old["bom-ref"], (string?)Assert.Single(vulnerability["affects"]!.AsArray())!["ref"]);
    }

    [Fact]
    public async Task A_hugging_face_model_lists_its_files_as_models_with_commit_purls_and_the_model_card()
    {
        SeedHfModel();

        var bom = await BuildValidAsync(new BomSubject("hf", "acme/tiny-model", "models"));

        Assert.Equal("machine-learning-model", (string?)bom["metadata"]!["component"]!["type"]);
        Assert.Equal("pkg:huggingface/acme/tiny-model", (string?)bom["metadata"]!["component"]!["purl"]);
        var components = bom["components"]!.AsArray();
        Assert.Equal(2, components.Count);
        var weights = components.Single(c => (string?)c!["name"] == "weights/model.safetensors")!;
        Assert.Equal("machine-learning-model", (string?)weights["type"]);
        Assert.Equal($"pkg:huggingface/acme/tiny-model@{Commit}#weights/model.safetensors", (string?)weights["purl"]);
        Assert.Equal(Commit, (string?)weights["version"]);
        Assert.Equal(Weights, (string?)weights["hashes"]![0]!["content"]);
        Assert.Equal("Apache-2.0", (string?)weights["licenses"]![0]!["expression"]);
        Assert.Equal("safetensors", Property(weights, "gatehouse:model-format"));
        Assert.Equal("allowed", Property(weights, "gatehouse:decision"));
        var quarantined = components.Single(c => (string?)c!["name"] == "config.json")!;
        Assert.Equal("quarantined", Property(quarantined, "gatehouse:decision"));

        var card = weights["modelCard"]!;
        Assert.Equal("text-classification", (string?)card["modelParameters"]!["task"]);
        Assert.Equal("imdb", (string?)card["modelParameters"]!["datasets"]![0]!["name"]);
        var metric = card["quantitativeAnalysis"]!["performanceMetrics"]![0]!;
        Assert.Equal("accuracy", (string?)metric["type"]);
        Assert.Equal("0.93", (string?)metric["value"]);
        Assert.Equal("IMDb", (string?)metric["slice"]);
        Assert.Equal("transformers", Property(card, "huggingface:library_name"));
        Assert.Equal("en, fr", Property(card, "huggingface:language"));
        Assert.Equal(1, _cards.Calls);
        Assert.Null(bom["vulnerabilities"]);
    }

    [Fact]
    public async Task A_hugging_face_dataset_lists_its_files_as_data_without_a_model_purl_or_card()
    {
        var key = new ReferenceKey(HfFileDigests.ReferencePartition("datasets", "acme/reviews"), HfFileDigests.ReferenceRowKey(Commit, "data/train.parquet"));
        _references.Rows[key] = new StoredReference(
            new ArtifactReference(HuggingFaceRemote.Hf, key, HfFileDigests.Subject("datasets", "acme/reviews", Commit), "train.parquet", Parquet, 10,
                "https://huggingface.co/datasets/acme/reviews/resolve/x/data/train.parquet", null),
            null);

        var bom = await BuildValidAsync(new BomSubject("hf", "acme/reviews", "datasets"));

        var file = Assert.Single(bom["components"]!.AsArray())!;
        Assert.Equal("data", (string?)file["type"]);
        Assert.Equal("data", (string?)bom["metadata"]!["component"]!["type"]);
        Assert.Null(file["purl"]);
        Assert.Null(file["modelCard"]);
        Assert.Equal("undecided", Property(file, "gatehouse:decision"));
        Assert.Equal(0, _cards.Calls);
    }

    [Fact]
    public async Task Nothing_recorded_gives_no_bom_and_other_partitions_are_left_out()
    {
        SeedPypi();

        Assert.Null(await Builder.BuildAsync(new BomSubject("pypi", "gh-none", null), CancellationToken.None));
        var bom = await Builder.BuildAsync(new BomSubject("pypi", "gh-dep", null), CancellationToken.None);
        Assert.All(bom!["components"]!.AsArray(), c => Assert.StartsWith("pkg:pypi/gh-dep@", (string?)c!["purl"], StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_schema_check_refuses_a_bom_with_a_wrong_hash_algorithm()
    {
        SeedPypi();
        var bom = (await Builder.BuildAsync(new BomSubject("pypi", "gh-dep", null), CancellationToken.None))!;
        bom["components"]![0]!["hashes"]![0]!["alg"] = "sha256";

        Assert.NotEmpty(SchemaErrors(bom));
    }

    [Theory]
    [InlineData("pypi", "Gh_Dep", "pypi:gh-dep", "gh-dep")]
    [InlineData("hf", "acme/tiny-model", "hf:acme%2Ftiny-model", "acme/tiny-model")]
    [InlineData("hf", "datasets/acme/reviews", "hf:datasets%2Facme%2Freviews", "datasets/acme/reviews")]
    [InlineData("hf", "gpt2", "hf:gpt2", "gpt2")]
    public void A_subject_reads_its_remote_and_name_into_the_references_partition(string remote, string name, string partition, string display)
    {
        var subject = BomSubject.TryParse(remote, name, out var problem);

        Assert.NotNull(subject);
        Assert.Equal("", problem);
        Assert.Equal(partition, subject.Partition);
        Assert.Equal(display, subject.Display);
    }

    [Theory]
    [InlineData("npm", "left-pad")]
    [InlineData("pypi", "bad name")]
    [InlineData("hf", "a/b/c")]
    [InlineData("hf", "acme/..")]
    [InlineData("hf", "")]
    public void A_subject_that_is_no_project_or_repository_is_refused(string remote, string name)
    {
        Assert.Null(BomSubject.TryParse(remote, name, out var problem));
        Assert.NotEqual("", problem);
    }

    [Fact]
    public void Package_urls_follow_the_purl_spec_examples()
    {
        // purl-spec types/pypi-definition.json and types/huggingface-definition.json examples and tests.
        Assert.Equal("pkg:pypi/django@1.11.1?file_name=Django-1.11.1.tar.gz", PackageUrls.Pypi("django", "1.11.1", "Django-1.11.1.tar.gz"));
        Assert.Equal("pkg:pypi/django-allauth@12.23", PackageUrls.Pypi("django_allauth", "12.23"));
        Assert.Equal("pkg:pypi/demo@1.0%2Blocal", PackageUrls.Pypi("demo", "1.0+local"));
        Assert.Equal("pkg:huggingface/EleutherAI/gpt-neo-1.3B@797174552ae47f449ab70b684cabcb6603e5e85e",
            PackageUrls.HuggingFace("EleutherAI/gpt-neo-1.3B", "797174552AE47F449AB70B684CABCB6603E5E85E"));
        Assert.Equal("pkg:huggingface/acme/m@abc#dir/a%20b.bin", PackageUrls.HuggingFace("acme/m", "abc", "dir/a b.bin"));
        Assert.Null(PackageUrls.HuggingFace("gpt2", "abc"));
    }

    [Fact]
    public async Task The_endpoint_answers_the_bom_as_cyclonedx_json_and_refuses_what_it_cannot_name()
    {
        SeedPypi();
        var endpoint = new AdminBomEndpoint(Builder);

        var (status, type, body) = await CallAsync(endpoint, "GET", "pypi", "gh-dep");
        Assert.Equal(200, status);
        Assert.Equal(BomBuilder.MediaType, type);
        Assert.Empty(SchemaErrors(JsonNode.Parse(body)!));

        Assert.Equal(404, (await CallAsync(endpoint, "GET", "pypi", "gh-unknown")).Status);
        Assert.Equal(400, (await CallAsync(endpoint, "GET", "npm", "left-pad")).Status);
        Assert.Equal(405, (await CallAsync(endpoint, "POST", "pypi", "gh-dep")).Status);
    }

    private void SeedPypi()
    {
        Record(PyPIRemote.Pypi, PyPIRemote.Key("gh-dep", "gh_dep-1.0.0-py3-none-any.whl"), "gh-dep 1.0.0", OldWheel,
            new ArtifactDecision(Decision.Blocked, "vulnerability.critical", "PYSEC-0000-GH-DEP-1 is critical", "pv-1", _time.GetUtcNow()) { PolicyRule = "no-critical" });
        Record(PyPIRemote.Pypi, PyPIRemote.Key("gh-dep", "gh_dep-1.1.0-py3-none-any.whl"), "gh-dep 1.1.0", NewWheel,
            new ArtifactDecision(Decision.Allowed, "default", "allowed", "pv-1", _time.GetUtcNow()));
        Record(PyPIRemote.Pypi, PyPIRemote.Key("gh-other", "gh_other-1.0-py3-none-any.whl"), "gh-other 1.0", new string('f', 64), null);
        _pypi.Facts["gh-dep 1.0.0"] = new ReferenceFacts
        {
            Project = "gh-dep",
            Version = "1.0.0",
            Licence = new LicenceInfo("MIT", "License-Expression", "MIT"),
            Advisories = [new AdvisoryFact("PYSEC-0000-GH-DEP-1", ["CVE-0000-0001"], "Remote code execution in gh-dep", 9.8, "critical", false, ["1.1.0"])],
        };
        _pypi.Facts["gh-dep 1.1.0"] = new ReferenceFacts
        {
            Project = "gh-dep",
            Version = "1.1.0",
            Licence = new LicenceInfo(null, "License", "Custom Licence 1.0"),
            Advisories = [],
        };
        _facts.Rows[OldWheel] = Facts(OldWheel, "", [new Finding("install.setup-network", Severity.Suspicious, "downloads")]);
        _facts.Rows[NewWheel] = Facts(NewWheel, "", []);
    }

    private void SeedHfModel()
    {
        var subject = HfFileDigests.Subject("models", "acme/tiny-model", Commit);
        foreach (var (path, sha, decision) in new[]
        {
            ("weights/model.safetensors", Weights, Decision.Allowed),
            ("config.json", Config, Decision.Quarantined),
        })
        {
            var key = new ReferenceKey(HfFileDigests.ReferencePartition("models", "acme/tiny-model"), HfFileDigests.ReferenceRowKey(Commit, path));
            Record(HuggingFaceRemote.Hf, key, subject, sha, new ArtifactDecision(decision, "default", decision.ToString(), "pv-1", _time.GetUtcNow()),
                path[(path.LastIndexOf('/') + 1)..]);
        }
        _hf.Facts[subject] = new ReferenceFacts { Project = "acme/tiny-model", Version = Commit, Licence = new LicenceInfo("Apache-2.0", "model card", "apache-2.0") };
        _facts.Rows[Weights] = Facts(Weights, "safetensors", []);
        _cards.Cards[subject] = JsonNode.Parse("""
            {
              "license": "apache-2.0",
              "language": ["en", "fr"],
              "library_name": "transformers",
              "pipeline_tag": "text-classification",
              "datasets": ["imdb"],
              "model-index": [{
                "name": "tiny-model",
                "results": [{
                  "task": {"type": "text-classification"},
                  "dataset": {"name": "IMDb", "type": "imdb"},
                  "metrics": [{"type": "accuracy", "value": 0.93}]
                }]
              }]
            }
            """)!.AsObject();
    }

    private void Record(RemoteKind remote, ReferenceKey key, string subject, string sha256, ArtifactDecision? decision, string? fileName = null) =>
        _references.Rows[key] = new StoredReference(
            new ArtifactReference(remote, key, subject, fileName ?? key.Row, sha256, 1234, "https://files.example/" + (fileName ?? key.Row), null), decision);

    private static ContentFacts Facts(string sha256, string modelFormat, IReadOnlyList<Finding> findings) =>
        new(sha256, 1234, ContentFacts.CurrentVersion, ArchiveFormat.Zip, false, modelFormat, findings, [], "artifacts", DateTimeOffset.UnixEpoch);

    private async Task<JsonObject> BuildValidAsync(BomSubject subject)
    {
        var bom = await Builder.BuildAsync(subject, CancellationToken.None);
        Assert.NotNull(bom);
        var errors = SchemaErrors(bom);
        Assert.True(errors.Count == 0, "The BOM does not validate against bom-1.6.schema.json:\n" + string.Join("\n", errors) + "\n" + bom.ToJsonString());
        return bom;
    }

    private static string? Property(JsonNode owner, string name) => Properties(owner, name).FirstOrDefault();

    private static List<string?> Properties(JsonNode owner, string name) =>
        [.. owner["properties"]!.AsArray().Where(p => (string?)p!["name"] == name).Select(p => (string?)p!["value"])];

    private static List<string> SchemaErrors(JsonNode bom)
    {
        using var document = JsonDocument.Parse(bom.ToJsonString());
        var result = Schema.Value.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        return result.IsValid ? [] : [.. (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"))];
    }

    /// <summary>The BOM schema with the two schemas it refers to registered under their <c>$id</c>s.</summary>
    private static JsonSchema LoadSchema()
    {
        var folder = Path.Combine(RepositoryPaths.Fixtures, "cyclonedx");
        var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        JsonSchema.FromText(File.ReadAllText(Path.Combine(folder, "spdx.schema.json")), options);
        JsonSchema.FromText(File.ReadAllText(Path.Combine(folder, "jsf-0.82.schema.json")), options);
        return JsonSchema.FromText(File.ReadAllText(Path.Combine(folder, "bom-1.6.schema.json")), options);
    }

    private static async Task<(int Status, string? Type, string Body)> CallAsync(AdminBomEndpoint endpoint, string method, string remote, string name)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Response.Body = new MemoryStream();
        await endpoint.HandleAsync(context, remote, name);
        context.Response.Body.Position = 0;
        return (context.Response.StatusCode, context.Response.ContentType, await new StreamReader(context.Response.Body).ReadToEndAsync());
    }

    private sealed class FakeRemote(RemoteKind kind) : IRemote
    {
        public Dictionary<string, ReferenceFacts> Facts { get; } = new(StringComparer.Ordinal);

        public RemoteKind Kind => kind;

        public Task<UpstreamResponse> OpenAsync(Uri upstreamUrl, long expectedSize, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a bill of materials fetches nothing");

        public ArtifactContext ContextOf(ArtifactReference reference) => new(reference, null, false);

        public Task<ReferenceFacts> GatherAsync(ArtifactReference reference, FactScope scope, CancellationToken cancellationToken) =>
            Task.FromResult(Facts.GetValueOrDefault(reference.Subject) ?? ReferenceFacts.None);
    }

    private sealed class FakeCards : IModelCards
    {
        public Dictionary<string, JsonObject> Cards { get; } = new(StringComparer.Ordinal);

        public int Calls { get; private set; }

        public Task<JsonObject?> CardDataAsync(string subject, CancellationToken cancellationToken)
        {
            Calls++;
            return Task.FromResult(Cards.GetValueOrDefault(subject));
        }
    }
}
