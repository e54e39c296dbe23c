using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// The policy through the real host and real pips: OSV advisories and a cooldown refuse releases before anything is
/// downloaded, refused files stay listed as yanked with the refusal as the reason (so a pinned pip prints it and an
/// unpinned one falls back to an allowed release), exceptions expire, a dry run lists exactly what applying changes,
/// and a malformed policy is refused with its line while the running one stays.
/// </summary>
[Collection(PolicyGatehouseCollection.Name)]
public sealed class PolicyTests(PolicyGatehouse fixture, ITestOutputHelper output)
{
    private const string VulnerableDep = "gh_dep-1.0.0-py3-none-any.whl";
    private const string FixedDep = "gh_dep-1.1.0-py3-none-any.whl";
    private const string Advisory = "PYSEC-0000-GH-DEP-1";

    private GatehouseStack Stack => fixture.Stack;

    [Theory]
    [InlineData(PipUnderTest.Debian)]
    [InlineData(PipUnderTest.Source)]
    public Task A_vulnerable_release_is_yanked_with_its_advisory_pip_falls_back_to_the_fix_and_a_pinned_install_names_the_advisory(string pip) =>
        Stack.RunAsync(output, async () =>
        {
            using var admin = await Stack.CreateAdminClientAsync();
            await EnsureOsvLoadedAsync(admin);
            using var client = Stack.CreateClient();
            var files = await IndexFilesAsync(client, "gh-dep");
            Assert.Contains(Advisory, Yanked(files, VulnerableDep));
            Assert.Contains("Blocked by Gatehouse", Yanked(files, VulnerableDep));
            Assert.Null(Yanked(files, FixedDep));

            using var venv = await PipUnderTest.For(pip).CreateVenvAsync(output);
            var unpinned = await venv.PipAsync(PythonVenv.InstallArguments(Stack.PipIndexUrl, "gh-dep"));
            output.WriteLine(unpinned.ToString());
            Assert.True(unpinned.ExitCode == 0, $"pip install gh-dep failed:\n{unpinned}");
            Assert.Equal("1.1.0", await InstalledVersionAsync(venv, "gh-dep"));

            using var second = await PipUnderTest.For(pip).CreateVenvAsync(output);
            var pinned = await second.PipAsync(PythonVenv.InstallArguments(Stack.PipIndexUrl, "gh-dep==1.0.0"));
            output.WriteLine(pinned.ToString());
            Assert.True(pinned.ExitCode != 0, $"pip installed the vulnerable gh-dep 1.0.0:\n{pinned}");
            Assert.Contains(Advisory, pinned.Output, StringComparison.Ordinal);
            Assert.Contains("Blocked by Gatehouse", pinned.Output, StringComparison.Ordinal);
            // Refused on the advisory alone: the vulnerable wheel was never fetched from the upstream.
            Assert.Equal(0, await Stack.Sim.FileFetchesAsync(VulnerableDep));
        });

    [Theory]
    [InlineData(PipUnderTest.Debian)]
    [InlineData(PipUnderTest.Source)]
    public Task A_release_younger_than_the_cooldown_is_held_and_pip_installs_the_older_one_unless_pinned(string pip) => Stack.RunAsync(output, async () =>
    {
        var project = "gh-fresh-" + pip.Replace(".", "", StringComparison.Ordinal);
        await Stack.Sim.SyntheticAsync(project, "0.9", 4096, DateTimeOffset.UtcNow.AddDays(-30));
        var young = await Stack.Sim.SyntheticAsync(project, "1.0", 4096, DateTimeOffset.UtcNow.AddDays(-1));

        using var venv = await PipUnderTest.For(pip).CreateVenvAsync(output);
        var unpinned = await venv.PipAsync(PythonVenv.InstallArguments(Stack.PipIndexUrl, project));
        output.WriteLine(unpinned.ToString());
        Assert.True(unpinned.ExitCode == 0, $"pip install {project} failed:\n{unpinned}");
        Assert.Equal("0.9", await InstalledVersionAsync(venv, project));

        var pinned = await venv.PipAsync(PythonVenv.InstallArguments(Stack.PipIndexUrl, $"{project}==1.0"));
        output.WriteLine(pinned.ToString());
        Assert.True(pinned.ExitCode != 0, $"pip installed {project} 1.0, published yesterday:\n{pinned}");
        Assert.Contains("Quarantined by Gatehouse: it was published 1 day ago", pinned.Output, StringComparison.Ordinal);
        Assert.Contains("(cooldown)", pinned.Output, StringComparison.Ordinal);
        Assert.Equal(0, await Stack.Sim.FileFetchesAsync(young.Filename));
    });

    [Fact]
    public Task The_cooldown_holds_a_Hugging_Face_commit_made_today_before_any_download() => Stack.RunAsync(output, async () =>
    {
        var repo = $"fresh-org/model-{Guid.NewGuid():N}"[..32];
        var created = await Stack.Sim.HfSyntheticAsync(repo, HfSyntheticSpec.Bytes("config.json", "{\"model_type\": \"bert\"}"u8.ToArray()));
        using var client = Stack.CreateHfClient();

        using var info = await client.GetAsync($"hf/api/models/{repo}/revision/main");
        var infoBody = await info.Content.ReadAsStringAsync();
        Assert.True(info.StatusCode == HttpStatusCode.Forbidden, $"model info answered {(int)info.StatusCode}: {infoBody}");
        Assert.Equal("GatedRepo", info.Headers.GetValues("X-Error-Code").Single());
        Assert.Equal(created.Commit, info.Headers.GetValues("X-Repo-Commit").Single());
        var message = JsonDocument.Parse(infoBody).RootElement.GetProperty("error").GetString();
        Assert.Contains("rule cooldown", message, StringComparison.Ordinal);
        Assert.Contains("it was published 0 minutes ago", message, StringComparison.Ordinal);

        // @huggingface/hub and list_repo_tree list the tree: refused at the branch and at the commit alike, with the reason.
        foreach (var revision in new[] { "main", created.Commit })
        {
            using var tree = await client.GetAsync($"hf/api/models/{repo}/tree/{revision}");
            var treeBody = await tree.Content.ReadAsStringAsync();
            Assert.True(tree.StatusCode == HttpStatusCode.Forbidden, $"the tree at {revision} answered {(int)tree.StatusCode}: {treeBody}");
            Assert.Equal("GatedRepo", tree.Headers.GetValues("X-Error-Code").Single());
            Assert.Contains("rule cooldown", treeBody, StringComparison.Ordinal);
        }

        using var file = await client.GetAsync($"hf/{repo}/resolve/main/config.json");
        var fileBody = await file.Content.ReadAsStringAsync();
        Assert.True(file.StatusCode == HttpStatusCode.Forbidden, $"config.json answered {(int)file.StatusCode}: {fileBody}");
        Assert.Contains("rule cooldown", fileBody, StringComparison.Ordinal);
        Assert.Equal(0, (await Stack.Sim.HfStatsAsync()).GetProperty("cdnFetches").EnumerateObject().Count(p => p.Name == created.Sha256("config.json")));
    });

    [Fact]
    public Task An_exception_for_one_file_of_a_young_commit_keeps_just_that_file_in_the_tree() => Stack.RunAsync(output, async () =>
    {
        var repo = $"fresh-org/notes-{Guid.NewGuid():N}"[..32];
        var created = await Stack.Sim.HfSyntheticAsync(repo, HfSyntheticSpec.Bytes("config.json", "{\"model_type\": \"bert\"}"u8.ToArray()),
            HfSyntheticSpec.Bytes("waived-notes.md", "# Release notes\n"u8.ToArray()));
        using var client = Stack.CreateHfClient();

        var tree = await client.GetFromJsonAsync<JsonElement>($"hf/api/models/{repo}/tree/{created.Commit}");
        output.WriteLine(tree.ToString());
        Assert.Equal(["waived-notes.md"], tree.EnumerateArray().Select(e => e.GetProperty("path").GetString()));
        using var notes = await client.GetAsync($"hf/{repo}/resolve/{created.Commit}/waived-notes.md");
        Assert.True(notes.IsSuccessStatusCode, $"waived-notes.md answered {(int)notes.StatusCode}: {await notes.Content.ReadAsStringAsync()}");
        Assert.Equal("# Release notes\n", await notes.Content.ReadAsStringAsync());
    });

    [Theory]
    [InlineData("gh-waived", true)]
    [InlineData("gh-lapsed", false)]
    public Task An_exception_lets_a_young_release_through_until_it_expires(string project, bool installs) => Stack.RunAsync(output, async () =>
    {
        await Stack.Sim.SyntheticAsync(project, "1.0", 4096, DateTimeOffset.UtcNow.AddHours(-5));
        using var venv = await PythonVenv.CreateAsync(output);
        var install = await venv.PipAsync(PythonVenv.InstallArguments(Stack.PipIndexUrl, $"{project}==1.0"));
        output.WriteLine(install.ToString());
        Assert.Equal(installs, install.ExitCode == 0);
        if (!installs)
        {
            Assert.Contains("(cooldown)", install.Output, StringComparison.Ordinal);
        }
    });

    [Fact]
    public Task A_dry_run_lists_exactly_what_applying_the_stricter_policy_changes() => Stack.RunAsync(output, async () =>
    {
        using var admin = await Stack.CreateAdminClientAsync();
        await EnsureOsvLoadedAsync(admin);
        using var client = Stack.CreateClient();
        string[] projects = ["gh-demo", "gh-dep"];
        // Every file of both projects asked for once (recorded, fetched and scanned unless refused before download).
        var before = await FileStatusesAsync(client, projects);

        var stricter = PolicyGatehouse.Policy.Replace("\nexceptions:", """

              - id: no-demo
                action: block
                when:
                  project: gh-demo
            exceptions:
            """, StringComparison.Ordinal);
        var report = await PostPolicyAsync(admin, "admin/policy/dry-run", stricter, HttpMethod.Post);
        output.WriteLine(report.ToString());
        var changes = report.GetProperty("changes").EnumerateArray().ToList();
        Assert.Equal(["gh_demo-1.0.0-py3-none-any.whl", "gh_demo-1.0.0.tar.gz"], changes.Select(c => c.GetProperty("file").GetString()).Order(StringComparer.Ordinal));
        Assert.All(changes, c =>
        {
            Assert.Equal("Allowed", c.GetProperty("current").GetProperty("decision").GetString());
            Assert.Equal("Blocked", c.GetProperty("candidate").GetProperty("decision").GetString());
            Assert.Equal("no-demo", c.GetProperty("candidate").GetProperty("rule").GetString());
        });
        Assert.True(report.GetProperty("evaluated").GetInt32() >= before.Count, $"the dry run judged fewer references than were asked for: {report}");

        var applied = await PostPolicyAsync(admin, "admin/policy", stricter, HttpMethod.Put);
        Assert.Equal(report.GetProperty("candidateVersion").GetString(), applied.GetProperty("version").GetString());
        try
        {
            var after = await FileStatusesAsync(client, projects);
            var flipped = before.Keys.Where(f => before[f] != after[f]).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(changes.Select(c => c.GetProperty("file").GetString()!).Order(StringComparer.Ordinal), flipped);
            Assert.All(flipped, f => Assert.Equal(HttpStatusCode.Forbidden, after[f]));
        }
        finally
        {
            await PostPolicyAsync(admin, "admin/policy", PolicyGatehouse.Policy, HttpMethod.Put);
        }
    });

    [Fact]
    public Task A_malformed_policy_is_refused_with_its_line_and_the_running_policy_stays() => Stack.RunAsync(output, async () =>
    {
        using var admin = await Stack.CreateAdminClientAsync();
        var before = await admin.GetFromJsonAsync<JsonElement>("admin/policy");
        var version = before.GetProperty("version").GetString();
        const string Broken = "version: 1\nrules:\n  - id: oops\n    action: block\n    when:\n      licence: forbidden\n";

        using (var put = await admin.PutAsync("admin/policy", new StringContent(Broken, Encoding.UTF8, "application/yaml")))
        {
            var body = await put.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(HttpStatusCode.UnprocessableEntity, put.StatusCode);
            var error = Assert.Single(body.GetProperty("errors").EnumerateArray());
            Assert.Equal(6, error.GetProperty("line").GetInt32());
            Assert.Contains("'forbidden' is not a value of licence", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        // The same text dropped into the policy file: the reload refuses it and says why; the running policy stays.
        await File.WriteAllTextAsync(fixture.PolicyFile, Broken);
        try
        {
            JsonElement status = default;
            for (var i = 0; i < 40; i++)
            {
                status = await admin.GetFromJsonAsync<JsonElement>("admin/policy");
                if (status.GetProperty("lastError").ValueKind == JsonValueKind.Object)
                {
                    break;
                }
                await Task.Delay(250);
            }
            Assert.Equal(version, status.GetProperty("version").GetString());
            var refused = status.GetProperty("lastError");
            Assert.Equal(6, refused.GetProperty("errors")[0].GetProperty("line").GetInt32());
            // The refusal is logged once (the console logger writes asynchronously, so allow it a moment).
            for (var i = 0; i < 20 && Stack.CountLogLines("refused at line 6") == 0; i++)
            {
                await Task.Delay(250);
            }
            Assert.Equal(1, Stack.CountLogLines("refused at line 6"));
        }
        finally
        {
            await File.WriteAllTextAsync(fixture.PolicyFile, PolicyGatehouse.Policy);
        }
    });

    [Fact]
    public Task The_cli_checks_a_policy_offline_tries_it_against_the_cache_and_shows_the_one_in_force() => Stack.RunAsync(output, async () =>
    {
        var adminToken = await GatehouseStack.CreateTokenAsync(fixture.ConnectionString, "e2e policy cli", Gatehouse.Tokens.TokenScope.Admin);
        var url = Stack.BaseAddress.ToString();
        var directory = TestEnvironment.NewTempDirectory("policy-cli");
        var broken = Path.Combine(directory, "broken.yaml");
        await File.WriteAllTextAsync(broken, "version: 1\nrules:\n  - id: a\n    action: block\n    when:\n      vulnerabilty.count: 1\n");
        var checkedBroken = await CliAsync(1, "policy", "check", broken);
        Assert.Contains("broken.yaml:6:7: unknown fact 'vulnerabilty.count' (did you mean 'vulnerability.count'?", checkedBroken.StandardError, StringComparison.Ordinal);
        var testedBroken = await CliAsync(1, "policy", "test", broken, "--url", url, "--admin-token", adminToken);
        Assert.Contains("broken.yaml:6:7:", testedBroken.StandardError, StringComparison.Ordinal);

        // gh-evil is in this cache (asked for once), allowed by a policy without content rules: the dry run says it would change.
        using var client = Stack.CreateClient();
        using (var evil = await client.GetAsync(GatehouseStack.FileUrl("gh-evil", EvilSha256, EvilWheel)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, evil.StatusCode);
        }
        var lax = Path.Combine(directory, "lax.yaml");
        await File.WriteAllTextAsync(lax, "version: 1\nname: lax\nrules: []\n");
        var tested = await CliAsync(0, "policy", "test", lax, "--url", url, "--admin-token", adminToken);
        Assert.Contains($"{EvilWheel}: Blocked (install.pth-exec) -> Allowed (policy.clean)", tested.StandardOutput, StringComparison.Ordinal);

        var shown = await CliAsync(0, "policy", "show", "--url", url, "--admin-token", adminToken);
        Assert.Contains("name: gatehouse-default", shown.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(fixture.PolicyFile, shown.StandardOutput, StringComparison.Ordinal);
    });

    private const string EvilWheel = "gh_evil-1.0.0-py3-none-any.whl";
    private const string EvilSha256 = "20ad5167cc1db7a87d3aa370bdee03d4a7999b717c1c31f38c55c16da48637b2";

    private async Task<ProcessResult> CliAsync(int expectedExit, params string[] args)
    {
        var result = await PythonVenv.RunAsync("dotnet", [TestEnvironment.CliDll, .. args]);
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == expectedExit, $"gatehouse {string.Join(' ', args)} exited {result.ExitCode}, not {expectedExit}:\n{result}");
        return result;
    }

    private static Task EnsureOsvLoadedAsync(HttpClient admin) => PolicyGatehouse.EnsureOsvLoadedAsync(admin);

    private static async Task<JsonElement> PostPolicyAsync(HttpClient admin, string path, string policy, HttpMethod method)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(policy, Encoding.UTF8, "application/yaml") };
        using var response = await admin.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} /{path} answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<JsonElement[]> IndexFilesAsync(HttpClient client, string project) =>
        [.. JsonDocument.Parse(await SimpleIndexPages.GetAsync(client, project, SimpleIndexPages.Json)).RootElement.GetProperty("files").EnumerateArray().Select(f => f.Clone())];

    /// <summary>The yank reason the index gives the file, or null when it is not yanked.</summary>
    private static string? Yanked(JsonElement[] files, string filename)
    {
        var yanked = files.Single(f => f.GetProperty("filename").GetString() == filename).GetProperty("yanked");
        return yanked.ValueKind == JsonValueKind.String ? yanked.GetString() : yanked.ValueKind == JsonValueKind.True ? "" : null;
    }

    /// <summary>The status of a GET of every file of the projects' pages (the answer to a pip download).</summary>
    private static async Task<Dictionary<string, HttpStatusCode>> FileStatusesAsync(HttpClient client, string[] projects)
    {
        var statuses = new Dictionary<string, HttpStatusCode>(StringComparer.Ordinal);
        foreach (var project in projects)
        {
            foreach (var file in await IndexFilesAsync(client, project))
            {
                var name = file.GetProperty("filename").GetString()!;
                using var response = await client.GetAsync(GatehouseStack.FileUrl(project, file.GetProperty("hashes").GetProperty("sha256").GetString()!, name));
                statuses[name] = response.StatusCode;
            }
        }
        return statuses;
    }

    private static async Task<string?> InstalledVersionAsync(PythonVenv venv, string project)
    {
        var list = await venv.PipAsync("list", "--format=json", "--disable-pip-version-check");
        Assert.True(list.ExitCode == 0, list.ToString());
        return JsonDocument.Parse(list.StandardOutput).RootElement.EnumerateArray()
            .Where(p => string.Equals(p.GetProperty("name").GetString(), project, StringComparison.OrdinalIgnoreCase))
            .Select(p => p.GetProperty("version").GetString())
            .FirstOrDefault();
    }
}
