using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.HuggingFace;
using Gatehouse.Storage;
using Gatehouse.Tokens;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;
using static Gatehouse.TestHelpers.ResponseHeaders;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Whole-repository prefetch (issue 4, item 5) through the real host: <c>POST /admin/prefetch/hf</c> pins the revision
/// to a commit, fetches and scans every file once, and reports each file's verdict with its sha256; afterwards downloads
/// are served from Gatehouse's cache without going upstream again. Posting the same repository twice joins one run;
/// bad input is refused before anything reaches the Hub; moving the branch mid-run does not move the prefetch; and
/// <c>gatehouse prefetch hf</c> prints progress, the verdict table and an exit code that says whether all was allowed.
/// Every prefetch changes cache state, so each test starts its own Gatehouse, and demo content starts cold.
/// </summary>
public sealed class HuggingFacePrefetchTests(ITestOutputHelper output)
{
    private const string Model = "gatehouse-demo/tiny-model";
    private const string Dataset = "gatehouse-demo/tiny-dataset";
    private const string DangerousGlobal = "pickle.dangerous-global";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    // ---------------------------------------------------------------------------------------------------------------
    // 1. The demo model over HTTP, then served from the cache
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Prefetching_the_demo_model_reports_every_file_with_its_sha256_and_verdict_and_later_downloads_never_go_upstream()
    {
        var model = Fixtures.Repo(Model);
        var commit = model.Branches["main"];
        var files = model.Commits[commit];
        await using var stack = await GatehouseStack.StartAsync("hfprefetch");
        await stack.RunAsync(output, async () =>
        {
            await ForgetAsync(stack, "models", Model, files);
            await SimPostAsync(stack, "_sim/hf/page-size?n=2"); // 5 files → 3 tree pages: the listing follows Link rel="next"
            var adminToken = await CreateAdminTokenAsync("e2e prefetch admin");
            using var admin = AdminClient(stack, adminToken);

            var (response, accepted) = await PostAsync(admin, new { repo = Model, revision = "main", repoType = "model" });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.StartsWith("prefetch-", accepted.Id, StringComparison.Ordinal);
            Assert.Equal((Model, "model", "main", commit), (accepted.Repo, accepted.RepoType, accepted.Revision, accepted.Commit));
            Assert.Equal($"/admin/prefetch/hf/{accepted.Id}", accepted.StatusUrl);
            Assert.Equal(accepted.StatusUrl, response.Headers.Location?.OriginalString);
            Assert.False(accepted.Joined);

            var report = await WaitForCompletionAsync(admin, accepted.StatusUrl);
            Assert.Equal((accepted.Id, Model, "model", "main", commit), (report.Id, report.Repo, report.RepoType, report.Revision, report.Commit));
            Assert.Null(report.Error);
            AssertFilesMatchFixture(files, report);
            foreach (var file in report.Files!)
            {
                var (decision, rule) = file.Path == "evil.bin" ? ("Blocked", DangerousGlobal) : ("Allowed", "policy.clean");
                Assert.True(file.Decision == decision && file.Rule == rule, $"{file.Path}: {file.Decision} by {file.Rule} ({file.Reason}), expected {decision} by {rule}");
            }
            Assert.Equal(new Progress(files.Count, files.Count, files.Sum(f => f.Size), files.Sum(f => f.Size)), report.Progress);
            Assert.Equal(new Dictionary<string, int> { ["Allowed"] = 4, ["Blocked"] = 1 }, report.Summary);
            Assert.Equal(3, (await HfStatsAsync(stack)).GetProperty("apiCalls").GetProperty("tree").GetInt32());
            foreach (var file in files)
            {
                // Promoted by the verdict: allowed content to artifacts, the blocked one to quarantine, nothing left in staging.
                var container = file.Path == "evil.bin" ? StorageProbe.Quarantine : StorageProbe.Artifacts;
                Assert.True(await stack.Storage.BlobExistsAsync(container, file.Sha256), $"{file.Path} is not in {container}");
                Assert.False(await stack.Storage.BlobExistsAsync(StorageProbe.Staging, file.Sha256), $"{file.Path} was left in staging");
            }

            // Downloads: by commit straight from the references (nothing upstream at all), by branch after one HEAD.
            using var reader = ReaderClient(stack);
            var beforePinned = await HfStatsAsync(stack);
            await AssertServedFromCacheAsync(reader, "models", Model, commit, commit, files);
            var afterPinned = await HfStatsAsync(stack);
            AssertSameCounters(beforePinned, afterPinned, "resolveGets", "cdnFetches", "resolveHeads", "apiCalls");

            await AssertServedFromCacheAsync(reader, "models", Model, "main", commit, files);
            AssertSameCounters(afterPinned, await HfStatsAsync(stack), "resolveGets", "cdnFetches");

            // Neither the admin's token nor the reader's ever went upstream.
            var sent = (await SimGetAsync(stack, "_sim/hf/auth")).EnumerateObject().Select(p => p.Value.ToString()).ToList();
            Assert.NotEmpty(sent);
            Assert.DoesNotContain(sent, v => v.Contains(adminToken, StringComparison.Ordinal) || v.Contains(stack.Token, StringComparison.Ordinal));
        });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 2. One run per (repository, commit); each content fetched once
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Posting_the_same_repository_twice_joins_one_prefetch_and_every_content_is_fetched_from_upstream_once()
    {
        var model = Fixtures.Repo(Model);
        var commit = model.Branches["main"];
        var files = model.Commits[commit];
        await using var stack = await GatehouseStack.StartAsync("hfprefetchdedup");
        await stack.RunAsync(output, async () =>
        {
            await ForgetAsync(stack, "models", Model, files);
            using var admin = AdminClient(stack, await CreateAdminTokenAsync("e2e prefetch dedup"));
            // Every upstream body waits 1.5 s, so the first run is certainly still fetching when the second POST lands.
            await stack.Sim.DelayAsync(1500);

            var body = new { repo = Model, revision = "main", repoType = "model" };
            var (firstResponse, first) = await PostAsync(admin, body);
            var (secondResponse, second) = await PostAsync(admin, body);
            Assert.Equal(HttpStatusCode.Accepted, firstResponse.StatusCode);
            Assert.Equal(HttpStatusCode.Accepted, secondResponse.StatusCode);
            Assert.Equal(first.Id, second.Id);
            Assert.Equal(first.StatusUrl, second.StatusUrl);
            Assert.Equal(commit, second.Commit);
            Assert.False(first.Joined);
            Assert.True(second.Joined, "the second POST should join the run in progress");
            // The run is keyed by the commit, however the revision is named.
            var (_, byCommit) = await PostAsync(admin, new { repo = Model, revision = commit, repoType = "model" });
            Assert.Equal((first.Id, true), (byCommit.Id, byCommit.Joined));

            var report = await WaitForCompletionAsync(admin, first.StatusUrl);
            AssertFilesMatchFixture(files, report);
            await stack.Sim.DelayAsync(0);
            var stats = await HfStatsAsync(stack);
            AssertEachFetchedOnce(stats, "models", Model, files);

            // A POST after completion reruns under the same id; every content is already decided, so nothing is fetched.
            var (againResponse, again) = await PostAsync(admin, body);
            Assert.Equal(HttpStatusCode.Accepted, againResponse.StatusCode);
            Assert.Equal(first.Id, again.Id);
            var rerun = await WaitForCompletionAsync(admin, again.StatusUrl);
            Assert.Equal(
                report.Files!.Select(f => (f.Path, f.Sha256, f.Decision, f.Rule)),
                rerun.Files!.Select(f => (f.Path, f.Sha256, f.Decision, f.Rule)));
            AssertSameCounters(stats, await HfStatsAsync(stack), "resolveGets", "cdnFetches");
        });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 3. The CLI
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task The_cli_prefetches_a_synthetic_repository_with_progress_and_a_table_and_exits_1_when_the_demo_model_has_a_blocked_file()
    {
        await using var stack = await GatehouseStack.StartAsync("hfprefetchcli");
        await stack.RunAsync(output, async () =>
        {
            // Seeds unique to this run: the contents are new even on a reused test Azurite.
            var seed = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) >> 8;
            var repo = $"e2e-prefetch/synthetic-{TestEnvironment.UniqueSuffix()}";
            var synthetic = await SyntheticRepoAsync(stack, repo,
            [
                new("model.safetensors", 4096, "safetensors", seed),
                new("shards/model-copy.safetensors", 4096, "safetensors", seed), // same bytes as model.safetensors
                new("weights.pkl", 3000, "pickle", seed + 1),
                new("tokenizer.json", 2048, "text", seed + 2),
                new("data/blob.dat", 1500, "random", seed + 3),
                new("config.json", 200, "text", seed + 4),
                new("README.md", 640, "text", seed + 5),
                new("vocab.txt", 128, "text", seed + 6),
            ]);
            var paths = synthetic.Files.Select(f => f.Path).ToList();
            var duplicate = synthetic.Files.Single(f => f.Path == "model.safetensors").Sha256;
            Assert.Equal(duplicate, synthetic.Files.Single(f => f.Path == "shards/model-copy.safetensors").Sha256);
            var adminToken = await CreateAdminTokenAsync("e2e prefetch cli");
            var url = stack.BaseAddress.AbsoluteUri;

            var text = await CliAsync(adminToken, 0, "prefetch", "hf", repo, "--url", url, "--admin-token", adminToken, "--timeout", "120");
            var rows = TableRows(text.StandardOutput);
            foreach (var path in paths)
            {
                Assert.True(rows.Count(r => r.Contains(path)) == 1 && rows.Single(r => r.Contains(path))[0] == "allowed",
                    $"the table should list {path} once as allowed:\n{text.StandardOutput}");
            }
            Assert.Contains($"{paths.Count} files", text.StandardOutput, StringComparison.Ordinal);
            Assert.Contains($"{paths.Count} allowed", text.StandardOutput, StringComparison.Ordinal);
            var progress = text.StandardError.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith('[') && l.Contains(" files ", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(progress);
            Assert.Contains($"] {paths.Count}/{paths.Count} files ", progress[^1], StringComparison.Ordinal);
            Assert.Contains($"Prefetching model {repo}@{synthetic.Commit[..12]} (main)", text.StandardError, StringComparison.Ordinal);
            // The two paths with one content were scanned once (one set of facts recorded), and each decided for itself.
            Assert.Equal(1, await stack.Storage.AuditCountAsync("facts", duplicate));

            var json = await CliAsync(adminToken, 0, "prefetch", "hf", repo + "@main", "--format", "json", "--url", url, "--admin-token", adminToken, "--timeout", "120");
            var report = JsonSerializer.Deserialize<Report>(json.StandardOutput, Json)!;
            Assert.Equal("Completed", report.Status);
            Assert.Equal(synthetic.Commit, report.Commit);
            Assert.Equal(
                synthetic.Files.Select(f => (f.Path, f.Sha256, "Allowed")).OrderBy(f => f.Path, StringComparer.Ordinal),
                report.Files!.Select(f => (f.Path, f.Sha256!, f.Decision)).OrderBy(f => f.Path, StringComparer.Ordinal));

            // --no-wait starts (here: reruns) and returns the id; errors from Gatehouse are exit 2 with its answer.
            var noWait = await CliAsync(adminToken, 0, "prefetch", "hf", repo, "--no-wait", "--format", "json", "--url", url, "--admin-token", adminToken);
            using (var started = JsonDocument.Parse(noWait.StandardOutput))
            {
                Assert.Equal(report.Id, started.RootElement.GetProperty("id").GetString());
                Assert.Equal(synthetic.Commit, started.RootElement.GetProperty("commit").GetString());
            }
            var unknown = await CliAsync(adminToken, 2, "prefetch", "hf", "gatehouse-demo/no-such-model", "--url", url, "--admin-token", adminToken);
            Assert.Contains("404", unknown.StandardError, StringComparison.Ordinal);
            var reader = await CliAsync(adminToken, 2, "prefetch", "hf", repo, "--url", url, "--admin-token", stack.Token);
            Assert.Contains("403", reader.StandardError, StringComparison.Ordinal);

            var demo = await CliAsync(adminToken, 1, "prefetch", "hf", Model + "@v1.0", "--url", url, "--admin-token", adminToken, "--timeout", "120");
            var demoRows = TableRows(demo.StandardOutput);
            Assert.Contains(demoRows, r => r[0] == "blocked" && r.Contains("evil.bin") && r.Contains(DangerousGlobal + ":"));
            var model = Fixtures.Repo(Model);
            foreach (var path in model.Commits[model.Branches["main"]].Select(f => f.Path).Where(p => p != "evil.bin"))
            {
                Assert.Contains(demoRows, r => r[0] == "allowed" && r.Contains(path));
            }
            Assert.Contains("5 files", demo.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("4 allowed, 1 blocked", demo.StandardOutput, StringComparison.Ordinal);

            // The two paths with one content: its bytes come from the CDN once, as for two downloads of it through the gate.
            var fetches = (await HfStatsAsync(stack)).GetProperty("cdnFetches").TryGetProperty(duplicate, out var n) ? n.GetInt32() : 0;
            Assert.True(fetches == 1, $"the content of model.safetensors and shards/model-copy.safetensors ({duplicate}) was fetched {fetches} times from the CDN, expected once");
        });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 4. Datasets
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_dataset_is_prefetched_as_a_dataset_over_http_and_with_the_cli_dataset_option()
    {
        var dataset = Fixtures.Repo(Dataset);
        var commit = dataset.Branches["main"];
        var files = dataset.Commits[commit];
        await using var stack = await GatehouseStack.StartAsync("hfprefetchdataset");
        await stack.RunAsync(output, async () =>
        {
            await ForgetAsync(stack, "datasets", Dataset, files);
            var adminToken = await CreateAdminTokenAsync("e2e prefetch dataset");
            using var admin = AdminClient(stack, adminToken);

            // Without repoType the name is looked up as a model, and there is none.
            var (asModel, _) = await SendAsync(admin, HttpMethod.Post, "admin/prefetch/hf", JsonContent.Create(new { repo = Dataset }));
            Assert.Equal(HttpStatusCode.NotFound, asModel.StatusCode);

            var (response, accepted) = await PostAsync(admin, new { repo = Dataset, revision = "main", repoType = "dataset" });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Equal(("dataset", commit), (accepted.RepoType, accepted.Commit));
            var report = await WaitForCompletionAsync(admin, accepted.StatusUrl);
            Assert.Equal("dataset", report.RepoType);
            AssertFilesMatchFixture(files, report);
            Assert.All(report.Files!, f => Assert.Equal("Allowed", f.Decision));
            Assert.Equal(new Progress(files.Count, files.Count, files.Sum(f => f.Size), files.Sum(f => f.Size)), report.Progress);
            AssertEachFetchedOnce(await HfStatsAsync(stack), "datasets", Dataset, files);

            using var reader = ReaderClient(stack);
            var before = await HfStatsAsync(stack);
            await AssertServedFromCacheAsync(reader, "datasets", Dataset, commit, commit, files);
            AssertSameCounters(before, await HfStatsAsync(stack), "resolveGets", "cdnFetches", "resolveHeads");

            var cli = await CliAsync(adminToken, 0, "prefetch", "hf", Dataset, "--dataset", "--url", stack.BaseAddress.AbsoluteUri, "--admin-token", adminToken, "--timeout", "120");
            Assert.Contains($"Prefetching dataset {Dataset}@{commit[..12]} (main)", cli.StandardError, StringComparison.Ordinal);
            var rows = TableRows(cli.StandardOutput);
            Assert.All(files, f => Assert.Contains(rows, r => r[0] == "allowed" && r.Contains(f.Path)));
        });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 5. Refusals
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Bad_requests_are_refused_with_the_right_status_before_anything_reaches_the_hub()
    {
        const string unknownId = "prefetch-00000000000000000000000000000000";
        await using var stack = await GatehouseStack.StartAsync("hfprefetcherrors");
        await stack.RunAsync(output, async () =>
        {
            using var admin = AdminClient(stack, await CreateAdminTokenAsync("e2e prefetch errors"));
            using var reader = ReaderClient(stack);
            using var anonymous = stack.CreateClient(authenticated: false);
            var before = await UpstreamTraceAsync(stack);
            var valid = new { repo = Model, revision = "main", repoType = "model" };

            // Who may ask.
            await ExpectAsync(anonymous, HttpMethod.Post, "admin/prefetch/hf", JsonContent.Create(valid), HttpStatusCode.Unauthorized, "entitlement token");
            await ExpectAsync(anonymous, HttpMethod.Get, $"admin/prefetch/hf/{unknownId}", null, HttpStatusCode.Unauthorized, "entitlement token");
            await ExpectAsync(reader, HttpMethod.Post, "admin/prefetch/hf", JsonContent.Create(valid), HttpStatusCode.Forbidden, "admin scope");
            await ExpectAsync(reader, HttpMethod.Get, $"admin/prefetch/hf/{unknownId}", null, HttpStatusCode.Forbidden, "admin scope");

            // What may be asked for.
            foreach (var repo in new[] { "", "no-namespace", "a/b/c", "../etc", "gatehouse-demo/../x", "gatehouse-demo/tiny--model", "gatehouse-demo/tiny model", "/tiny-model", "gatehouse-demo/" + new string('m', 97) })
            {
                await ExpectAsync(admin, HttpMethod.Post, "admin/prefetch/hf", JsonContent.Create(new { repo, revision = "main" }), HttpStatusCode.BadRequest, "repo must be");
            }
            await ExpectAsync(admin, HttpMethod.Post, "admin/prefetch/hf", JsonContent.Create(new { revision = "main" }), HttpStatusCode.BadRequest, "repo must be");
            foreach (var revision in new[] { "../main", "main/..", "/main", "main/", "refs//pr/1", "ma\\in", "ma\nin", "ma\0in", new string('a', 257) })
            {
                await ExpectAsync(admin, HttpMethod.Post, "admin/prefetch/hf", JsonContent.Create(new { repo = Model, revision }), HttpStatusCode.BadRequest, "revision must be");
            }
            foreach (var repoType in new[] { "space", "spaces", "Model", "" })
            {
                await ExpectAsync(admin, HttpMethod.Post, "admin/prefetch/hf", JsonContent.Create(new { repo = Model, repoType }), HttpStatusCode.BadRequest, "repoType must be");
            }
            foreach (var (body, contentType) in new[] { ("not json", "application/json"), ("{\"repo\":", "application/json"), ("[]", "application/json"), ("null", "application/json"),
                         ("", "application/json"), ("{\"repo\": 5}", "application/json"), ($"{{\"repo\":\"{Model}\"}}", "text/plain") })
            {
                await ExpectAsync(admin, HttpMethod.Post, "admin/prefetch/hf", new StringContent(body, Encoding.UTF8, contentType), HttpStatusCode.BadRequest, "Body must be JSON");
            }
            // Over 16 KiB, naming a repository asked for nowhere else: a body that gets through shows up as the Hub's 404 and in its log.
            var large = JsonSerializer.Serialize(new { repo = "gatehouse-demo/too-large-body", padding = new string('x', 20_000) });
            await ExpectAsync(admin, HttpMethod.Post, "admin/prefetch/hf", new StringContent(large, Encoding.UTF8, "application/json"), HttpStatusCode.BadRequest, "too large");

            // Where and how.
            await ExpectAsync(admin, HttpMethod.Post, "admin/prefetch/pypi", JsonContent.Create(valid), HttpStatusCode.NotFound, "'hf'");
            await ExpectAsync(admin, HttpMethod.Get, $"admin/prefetch/pypi/{unknownId}", null, HttpStatusCode.NotFound, "'hf'");
            await ExpectAsync(admin, HttpMethod.Get, $"admin/prefetch/hf/{unknownId}", null, HttpStatusCode.NotFound, "No prefetch");
            await ExpectAsync(admin, HttpMethod.Get, "admin/prefetch/hf/PREFETCH-00000000000000000000000000000000", null, HttpStatusCode.NotFound, "No prefetch");
            await ExpectAsync(admin, HttpMethod.Get, "admin/prefetch/hf/0000000000000000000000000000000000000000000000000000000000000000", null, HttpStatusCode.NotFound, "No prefetch");
            var (getStart, _) = await ExpectAsync(admin, HttpMethod.Get, "admin/prefetch/hf", null, HttpStatusCode.MethodNotAllowed, "Use POST");
            Assert.Equal("POST", string.Join(", ", getStart.Content.Headers.Allow));
            var (postStatus, _) = await ExpectAsync(admin, HttpMethod.Post, $"admin/prefetch/hf/{unknownId}", JsonContent.Create(valid), HttpStatusCode.MethodNotAllowed, "Use POST");
            Assert.Equal("GET, HEAD", string.Join(", ", postStatus.Content.Headers.Allow));
            await ExpectAsync(admin, HttpMethod.Put, "admin/prefetch/hf", JsonContent.Create(valid), HttpStatusCode.MethodNotAllowed, null);
            await ExpectAsync(admin, HttpMethod.Delete, $"admin/prefetch/hf/{unknownId}", null, HttpStatusCode.MethodNotAllowed, null);

            Assert.Equal(before, await UpstreamTraceAsync(stack));

            // Well-formed but unknown to the Hub: asked upstream, refused with its 404.
            var (unknownRepo, _) = await ExpectAsync(admin, HttpMethod.Post, "admin/prefetch/hf", JsonContent.Create(new { repo = "gatehouse-demo/no-such-model" }), HttpStatusCode.NotFound, null);
            Assert.Equal("RepoNotFound", Header(unknownRepo, "X-Error-Code"));
            var (unknownBranch, _) = await ExpectAsync(admin, HttpMethod.Post, "admin/prefetch/hf", JsonContent.Create(new { repo = Model, revision = "no-such-branch" }), HttpStatusCode.NotFound, null);
            Assert.Equal("RevisionNotFound", Header(unknownBranch, "X-Error-Code"));
            await ExpectAsync(admin, HttpMethod.Post, "admin/prefetch/hf", JsonContent.Create(new { repo = Model, revision = new string('e', 40) }), HttpStatusCode.NotFound, null);
            var after = await HfStatsAsync(stack);
            Assert.False(after.TryGetProperty("resolveGets", out var gets) && gets.EnumerateObject().Any(), $"no file was fetched: {after}");
            Assert.Empty(after.GetProperty("cdnFetches").EnumerateObject());

            // Last, collected so that one failing does not hide another: revisions git's ref-name rules forbid
            // (git check-ref-format), and the over-large body sent chunked, with no Content-Length to check up front.
            var problems = new List<string>();
            var trace = await UpstreamTraceAsync(stack);
            foreach (var revision in new[] { "ma in", "main:x", "main?x", "ma~in", "main^", "ma*in", "ma[in", "main.lock", "main.", "@", "ma@{in", ".main", "refs/.pr/1" })
            {
                var (refused, text) = await SendAsync(admin, HttpMethod.Post, "admin/prefetch/hf", JsonContent.Create(new { repo = Model, revision }));
                if (refused.StatusCode != HttpStatusCode.BadRequest || !text.Contains("revision must be", StringComparison.Ordinal))
                {
                    problems.Add($"revision '{revision}': {(int)refused.StatusCode} {text.Trim()}, expected 400 'revision must be …'");
                }
            }
            var (chunked, chunkedText) = await SendAsync(admin, HttpMethod.Post, "admin/prefetch/hf", Chunked(large));
            if (chunked.StatusCode != HttpStatusCode.BadRequest || !chunkedText.Contains("too large", StringComparison.Ordinal))
            {
                problems.Add($"a {large.Length}-byte body sent chunked: {(int)chunked.StatusCode} {chunkedText.Trim()}, expected 400 'The body is too large'");
            }
            var traceAfter = await UpstreamTraceAsync(stack);
            if (traceAfter != trace)
            {
                problems.Add($"these requests reached the Hub:\nbefore {trace}\nafter  {traceAfter}");
            }
            Assert.True(problems.Count == 0, string.Join("\n", problems));
        });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 6. Pinning
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Moving_the_branch_while_a_prefetch_runs_does_not_move_it_off_the_commit_resolved_when_it_was_posted()
    {
        var model = Fixtures.Repo(Model);
        var commitA = model.Branches["main"];
        var commitB = model.Pulls["refs/pr/1"];
        var filesA = model.Commits[commitA];
        var filesB = model.Commits[commitB];
        var configA = filesA.Single(f => f.Path == "config.json");
        var configB = filesB.Single(f => f.Path == "config.json");
        Assert.NotEqual(configA.Sha256, configB.Sha256); // the commits differ in config.json only
        await using var stack = await GatehouseStack.StartAsync("hfprefetchpin");
        await stack.RunAsync(output, async () =>
        {
            await ForgetAsync(stack, "models", Model, filesA.Concat(filesB));
            using var admin = AdminClient(stack, await CreateAdminTokenAsync("e2e prefetch pinning"));
            await stack.Sim.DelayAsync(1500); // the run is still fetching when main moves

            var (_, accepted) = await PostAsync(admin, new { repo = Model, revision = "main" });
            Assert.Equal(commitA, accepted.Commit);
            await SimPostAsync(stack, $"_sim/hf/move-branch?repo={Uri.EscapeDataString(Model)}&branch=main&commit={commitB}");

            var report = await WaitForCompletionAsync(admin, accepted.StatusUrl);
            await stack.Sim.DelayAsync(0);
            Assert.Equal(("main", commitA), (report.Revision, report.Commit));
            AssertFilesMatchFixture(filesA, report);

            // Every reference the prefetch wrote is A's, and everything it asked the Hub for named A, never main or B.
            var references = await ReferenceRowsAsync("models", Model);
            Assert.Equal(filesA.Select(f => (f.Path, f.Sha256)).Order(), references.Where(r => r.Commit == commitA).Select(r => (r.Path, r.Sha256 ?? "(none)")).Order());
            Assert.DoesNotContain(references, r => r.Commit != commitA);
            var requested = (await SimGetAsync(stack, "_sim/hf/auth")).EnumerateObject().Select(p => p.Name).ToList();
            Assert.Contains($"/api/models/{Model}/tree/{commitA}", requested);
            var files = requested.Where(p => p.Contains("/resolve/", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(files);
            Assert.All(files, p => Assert.StartsWith($"/{Model}/resolve/{commitA}/", p, StringComparison.Ordinal));

            // A's config.json is served from A's reference; main now names B and a new prefetch, with its own id.
            using var reader = ReaderClient(stack);
            await AssertServedFromCacheAsync(reader, "models", Model, commitA, commitA, [configA]);
            var (_, moved) = await PostAsync(admin, new { repo = Model, revision = "main" });
            Assert.Equal(commitB, moved.Commit);
            Assert.NotEqual(accepted.Id, moved.Id);
            AssertFilesMatchFixture(filesB, await WaitForCompletionAsync(admin, moved.StatusUrl));
        });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 7. Tampered upstream bytes
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Files_whose_upstream_bytes_do_not_match_the_hub_digests_are_reported_failed_and_never_cached()
    {
        await using var stack = await GatehouseStack.StartAsync("hfprefetchtamper");
        await stack.RunAsync(output, async () =>
        {
            var seed = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) >> 8;
            var repo = $"e2e-prefetch/tampered-{TestEnvironment.UniqueSuffix()}";
            var synthetic = await SyntheticRepoAsync(stack, repo,
            [
                new("model.safetensors", 2048, "safetensors", seed), // LFS: checked against the tree's sha256
                new("config.json", 200, "text", seed + 1), // regular: checked against the tree's git sha1
                new("notes.txt", 100, "text", seed + 2),
            ]);
            foreach (var path in new[] { "model.safetensors", "config.json" })
            {
                await SimPostAsync(stack, $"_sim/hf/tamper?repo={Uri.EscapeDataString(repo)}&path={path}");
            }
            using var admin = AdminClient(stack, await CreateAdminTokenAsync("e2e prefetch tamper"));

            var (_, accepted) = await PostAsync(admin, new { repo });
            var report = await WaitForCompletionAsync(admin, accepted.StatusUrl);
            var byPath = report.Files!.ToDictionary(f => f.Path);
            Assert.Equal(("Allowed", synthetic.Files.Single(f => f.Path == "notes.txt").Sha256), (byPath["notes.txt"].Decision, byPath["notes.txt"].Sha256));
            foreach (var path in new[] { "model.safetensors", "config.json" })
            {
                Assert.True(byPath[path].Decision == "Failed" && !string.IsNullOrEmpty(byPath[path].Reason), $"{path}: {byPath[path].Decision} ({byPath[path].Reason}), expected Failed with a reason");
                var sha256 = synthetic.Files.Single(f => f.Path == path).Sha256;
                Assert.Null(await stack.Storage.FactsAsync(sha256));
                foreach (var container in new[] { StorageProbe.Staging, StorageProbe.Artifacts, StorageProbe.Quarantine })
                {
                    Assert.False(await stack.Storage.BlobExistsAsync(container, sha256), $"{path}'s content is in {container}");
                }
            }
            Assert.Equal(new Dictionary<string, int> { ["Allowed"] = 1, ["Failed"] = 2 }, report.Summary);
        });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------------------------

    private sealed record Accepted(string Id, string Repo, string RepoType, string Revision, string Commit, string StatusUrl, bool Joined);

    private sealed record Report(string Id, string Status, string? Repo, string? RepoType, string? Revision, string? Commit,
        Progress? Progress, List<FileVerdict>? Files, Dictionary<string, int>? Summary, string? Error);

    private sealed record Progress(int Files, int FilesDone, long Bytes, long BytesDone);

    private sealed record FileVerdict(string Path, long Size, string? Sha256, string Decision, string? Rule, string? Reason, double FetchMs, double ScanMs);

    private static void AssertFilesMatchFixture(IReadOnlyList<FixtureFile> expected, Report report)
    {
        Assert.Equal("Completed", report.Status);
        Assert.NotNull(report.Files);
        Assert.Equal(
            expected.Select(f => (f.Path, f.Size, f.Sha256)).OrderBy(f => f.Path, StringComparer.Ordinal),
            report.Files.Select(f => (f.Path, f.Size, f.Sha256 ?? "(none)")).OrderBy(f => f.Path, StringComparer.Ordinal));
    }

    /// <summary>GET (or HEAD) of every allowed file at <paramref name="revision"/> is 200 with the fixture's bytes; evil.bin is 403 GatedRepo.</summary>
    private async Task AssertServedFromCacheAsync(HttpClient reader, string repoType, string repoId, string revision, string commit, IReadOnlyList<FixtureFile> files)
    {
        var prefix = repoType == "datasets" ? "hf/datasets/" : "hf/";
        foreach (var file in files)
        {
            using var response = await reader.GetAsync($"{prefix}{repoId}/resolve/{revision}/{file.Path}");
            var body = await response.Content.ReadAsByteArrayAsync();
            output.WriteLine($"GET {repoId}/resolve/{revision}/{file.Path} → {(int)response.StatusCode}");
            Assert.Equal(commit, Header(response, "X-Repo-Commit"));
            if (file.Path == "evil.bin")
            {
                Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
                Assert.Equal("GatedRepo", Header(response, "X-Error-Code"));
                Assert.Contains(DangerousGlobal, Encoding.UTF8.GetString(body), StringComparison.Ordinal);
                continue;
            }
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{file.Path} at {revision}: {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
            Assert.True(file.Bytes().AsSpan().SequenceEqual(body), $"{file.Path} at {revision}: the bytes differ from the fixture");
        }
    }

    /// <summary>Each path was GET from the resolve route once, and each LFS content from the CDN once.</summary>
    private static void AssertEachFetchedOnce(JsonElement stats, string repoType, string repoId, IReadOnlyList<FixtureFile> files)
    {
        var gets = stats.GetProperty("resolveGets");
        var cdn = stats.GetProperty("cdnFetches");
        foreach (var file in files)
        {
            var key = $"{repoType}/{repoId}/{file.Path}";
            var n = gets.TryGetProperty(key, out var g) ? g.GetInt32() : 0;
            Assert.True(n == 1, $"{key} was fetched {n} times upstream, expected once: {stats}");
            if (file.LfsOid is { } sha256)
            {
                var m = cdn.TryGetProperty(sha256, out var c) ? c.GetInt32() : 0;
                Assert.True(m == 1, $"{file.Path}'s LFS content was fetched {m} times from the CDN, expected once: {stats}");
            }
        }
    }

    private static void AssertSameCounters(JsonElement before, JsonElement after, params string[] counters)
    {
        foreach (var counter in counters)
        {
            Assert.True(before.GetProperty(counter).GetRawText() == after.GetProperty(counter).GetRawText(),
                $"the simulator's {counter} moved:\nbefore {before.GetProperty(counter)}\nafter  {after.GetProperty(counter)}");
        }
    }

    private static async Task<(HttpResponseMessage Response, Accepted Accepted)> PostAsync(HttpClient admin, object body)
    {
        var (response, text) = await SendAsync(admin, HttpMethod.Post, "admin/prefetch/hf", JsonContent.Create(body));
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"POST admin/prefetch/hf: {(int)response.StatusCode} {text}");
        return (response, JsonSerializer.Deserialize<Accepted>(text, Json)!);
    }

    private async Task<Report> WaitForCompletionAsync(HttpClient admin, string statusUrl)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(90); // a guard against hanging, not an expectation
        while (true)
        {
            var (response, text) = await SendAsync(admin, HttpMethod.Get, statusUrl.TrimStart('/'), null);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {statusUrl}: {(int)response.StatusCode} {text}");
            var report = JsonSerializer.Deserialize<Report>(text, Json)!;
            if (report.Status is "Completed" or "Failed" or "Terminated")
            {
                output.WriteLine($"GET {statusUrl} → {text}");
                Assert.True(report.Status == "Completed", $"the prefetch ended {report.Status}: {text}");
                return report;
            }
            Assert.True(DateTimeOffset.UtcNow < deadline, $"the prefetch is still {report.Status} after 90 s: {text}");
            await Task.Delay(250);
        }
    }

    private async Task<(HttpResponseMessage Response, string Body)> ExpectAsync(HttpClient client, HttpMethod method, string path, HttpContent? content,
        HttpStatusCode expected, string? message)
    {
        var (response, body) = await SendAsync(client, method, path, content);
        output.WriteLine($"{method} {path} → {(int)response.StatusCode} {body.Trim()}");
        Assert.True(response.StatusCode == expected, $"{method} {path}: {(int)response.StatusCode} {body}, expected {(int)expected}");
        if (message is not null)
        {
            Assert.Contains(message, body, StringComparison.Ordinal);
        }
        return (response, body);
    }

    private static async Task<(HttpResponseMessage Response, string Body)> SendAsync(HttpClient client, HttpMethod method, string path, HttpContent? content)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        var response = await client.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A JSON body sent with <c>Transfer-Encoding: chunked</c>, so the server sees no Content-Length.</summary>
    private static StreamContent Chunked(string json)
    {
        var content = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes(json)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>A read-only stream with no length, so HttpClient cannot compute a Content-Length.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public override bool CanSeek => false;
    }

    private static HttpClient AdminClient(GatehouseStack stack, string adminToken)
    {
        var client = stack.CreateClient(authenticated: false);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        return client;
    }

    /// <summary>A Hugging Face client's view: the stack's read token as Bearer.</summary>
    private static HttpClient ReaderClient(GatehouseStack stack) => AdminClient(stack, stack.Token);

    /// <summary>An admin token made with the product's token service, straight in storage (as <c>token create --storage</c> does).</summary>
    private static Task<string> CreateAdminTokenAsync(string name) => GatehouseStack.CreateTokenAsync(TestEnvironment.StorageConnectionString, name, TokenScope.Admin);

    /// <summary>
    /// A reused test Azurite may hold these contents' verdicts, blobs and this repository's references from an earlier
    /// run: forget them, so the prefetch meets the repository cold, as on a fresh account.
    /// </summary>
    private static async Task ForgetAsync(GatehouseStack stack, string repoType, string repoId, IEnumerable<FixtureFile> files)
    {
        foreach (var sha256 in files.Select(f => f.Sha256).Distinct())
        {
            await stack.Storage.ForgetContentAsync(sha256);
        }
        var table = new TableClient(TestEnvironment.StorageConnectionString, GatehouseStorage.ReferencesTable);
        var partition = HfFileDigests.ReferencePartition(repoType, repoId);
        await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == partition, select: ["PartitionKey", "RowKey"]))
        {
            await table.DeleteEntityAsync(row.PartitionKey, row.RowKey);
        }
    }

    /// <summary>The repository's reference rows: (commit, path) → sha256, keys unescaped.</summary>
    private static async Task<List<(string Commit, string Path, string? Sha256)>> ReferenceRowsAsync(string repoType, string repoId)
    {
        var table = new TableClient(TestEnvironment.StorageConnectionString, GatehouseStorage.ReferencesTable);
        var rows = new List<(string, string, string?)>();
        await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == HfFileDigests.ReferencePartition(repoType, repoId)))
        {
            var key = Uri.UnescapeDataString(row.RowKey); // commit/path, escaped as %XX
            rows.Add((key[..40], key[41..], row.GetString("Sha256")));
        }
        return rows;
    }

    /// <summary>Everything the Hub saw from Gatehouse: counters, and the raw path of every request (the Authorization log).</summary>
    private static async Task<string> UpstreamTraceAsync(GatehouseStack stack)
    {
        var stats = await HfStatsAsync(stack);
        var counters = string.Join("\n", new[] { "resolveHeads", "resolveGets", "cdnFetches", "apiCalls" }.Select(c => $"{c} {stats.GetProperty(c)}"));
        return counters + "\nauth " + await SimGetAsync(stack, "_sim/hf/auth") + "\npypi " + await stack.Sim.StatsAsync();
    }

    private static Task<JsonElement> HfStatsAsync(GatehouseStack stack) => SimGetAsync(stack, "_sim/hf/stats");

    private static async Task<JsonElement> SimGetAsync(GatehouseStack stack, string path)
    {
        using var sim = new HttpClient { BaseAddress = stack.Simulator.BaseAddress };
        return await sim.GetFromJsonAsync<JsonElement>(path);
    }

    private static async Task<string> SimPostAsync(GatehouseStack stack, string path, HttpContent? content = null)
    {
        using var sim = new HttpClient { BaseAddress = stack.Simulator.BaseAddress };
        using var response = await sim.PostAsync(path, content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path} answered {(int)response.StatusCode}: {body}");
        return body;
    }

    private sealed record SyntheticSpec(string Path, long Size, string Kind, ulong Seed);

    private sealed record SyntheticFile(string Path, string Sha256);

    private sealed record SyntheticRepo(string Commit, List<SyntheticFile> Files);

    private static async Task<SyntheticRepo> SyntheticRepoAsync(GatehouseStack stack, string repo, SyntheticSpec[] files)
    {
        var body = await SimPostAsync(stack, "_sim/hf/synthetic", JsonContent.Create(new { repo, type = "model", files }, options: Json));
        return JsonSerializer.Deserialize<SyntheticRepo>(body, Json)!;
    }

    /// <summary>Runs <c>gatehouse</c> (as <see cref="TokenCliTests"/> does); no token reaches the test output.</summary>
    private async Task<ProcessResult> CliAsync(string adminToken, int expectedExit, params string[] args)
    {
        var result = await PythonVenv.RunAsync("dotnet", [TestEnvironment.CliDll, .. args]);
        var shown = Regex.Replace(result.ToString().Replace(adminToken, "ght_****", StringComparison.Ordinal), @"ght_[A-Za-z0-9_\-]+", "ght_****");
        output.WriteLine(shown);
        Assert.True(result.ExitCode == expectedExit, $"expected exit {expectedExit}:\n{shown}");
        return result;
    }

    /// <summary>The verdict table's file rows, split on spaces (the header and the summary line left out).</summary>
    private static List<string[]> TableRows(string table) =>
        table.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(t => t.Length >= 4 && t[0] is "allowed" or "blocked" or "quarantined" or "pending" or "failed")
            .ToList();

    /// <summary>One file of a fixture commit (<c>tests/fixtures/hf/repos.json</c>); its bytes are <c>objects/{sha1}</c>.</summary>
    private sealed record FixtureFile(string Path, long Size, string Sha1, string? LfsOid)
    {
        public byte[] Bytes() => File.ReadAllBytes(System.IO.Path.Combine(Fixtures.Folder, "objects", Sha1));

        /// <summary>The LFS oid, or the sha256 of a small file's bytes.</summary>
        public string Sha256 => LfsOid ?? Convert.ToHexStringLower(SHA256.HashData(Bytes()));
    }

    private sealed record FixtureRepo(IReadOnlyDictionary<string, string> Branches, IReadOnlyDictionary<string, string> Pulls,
        IReadOnlyDictionary<string, IReadOnlyList<FixtureFile>> Commits);

    private static class Fixtures
    {
        public static string Folder => System.IO.Path.Combine(TestEnvironment.RepoRoot, "tests", "fixtures", "hf");

        public static FixtureRepo Repo(string id)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(Folder, "repos.json")));
            var repo = doc.RootElement.GetProperty("repos").EnumerateArray().Single(r => r.GetProperty("id").GetString() == id);
            var refs = repo.GetProperty("refs");
            return new FixtureRepo(
                refs.GetProperty("branches").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                refs.GetProperty("pulls").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                repo.GetProperty("commits").EnumerateArray().ToDictionary(
                    c => c.GetProperty("id").GetString()!,
                    c => (IReadOnlyList<FixtureFile>)c.GetProperty("files").EnumerateArray().Select(f => new FixtureFile(
                        f.GetProperty("path").GetString()!,
                        f.GetProperty("size").GetInt64(),
                        f.GetProperty("sha1").GetString()!,
                        f.TryGetProperty("lfs", out var lfs) ? lfs.GetProperty("oid").GetString() : null)).ToList()));
        }
    }
}
