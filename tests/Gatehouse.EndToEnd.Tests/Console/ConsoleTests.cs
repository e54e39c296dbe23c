using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.Policy;
using Gatehouse.Tokens;
using OpenQA.Selenium;

// Not ".Console": a namespace of that name would hide System.Console from every test in Gatehouse.EndToEnd.Tests.
namespace Gatehouse.EndToEnd.Tests.WebConsole;

/// <summary>
/// One Gatehouse (its own Azurite, the upstream simulator) and one headless chromium for the class: the web console
/// driven as a reviewer would, each flow checked against what pip, the admin API and the audit then do.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    private PrivateGatehouse? _gatehouse;
    private ConsoleBrowser? _browser;

    public GatehouseStack Stack => _gatehouse?.Stack ?? throw new InvalidOperationException("The console's Gatehouse did not start.");

    public ConsoleBrowser Browser => _browser ?? throw new InvalidOperationException("The browser did not start.");

    public string ConnectionString => _gatehouse?.ConnectionString ?? throw new InvalidOperationException("The console's Gatehouse did not start.");

    /// <summary>The admin token the browser signs in with (a secret: never printed).</summary>
    public string AdminToken { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _browser = ConsoleBrowser.Start();
        _gatehouse = await PrivateGatehouse.StartAsync("console");
        AdminToken = await GatehouseStack.CreateTokenAsync(_gatehouse.ConnectionString, ConsoleTests.Reviewer, TokenScope.Admin);
    }

    public async Task DisposeAsync()
    {
        _browser?.Dispose();
        if (_gatehouse is not null)
        {
            await _gatehouse.DisposeAsync();
        }
    }
}

/// <summary>
/// The web console in a real browser against the real host (issue 14): sign in and review a refused demo file, release
/// it and see pip install it, block it and see pip refused; create a token in the page and use it from pip; watch a
/// prefetch reach 100 %; dry-run a candidate policy; no admin action without the session and the CSRF token; every page
/// free of serious or critical axe-core violations, and captured as a PNG.
/// </summary>
public sealed class ConsoleTests(ConsoleFixture fixture, ITestOutputHelper output) : IClassFixture<ConsoleFixture>
{
    public const string Reviewer = "console-reviewer";
    private const string EvilWheel = "gh_evil-1.0.0-py3-none-any.whl";
    private const string EvilSha256 = "20ad5167cc1db7a87d3aa370bdee03d4a7999b717c1c31f38c55c16da48637b2";
    private const string DemoModel = "gatehouse-demo/tiny-model";

    private GatehouseStack Stack => fixture.Stack;
    private ConsoleBrowser Browser => fixture.Browser;

    [Fact]
    public Task A_reviewer_sees_the_refused_demo_wheel_with_its_finding_releases_it_for_pip_and_blocks_it_again() => RunAsync(async () =>
    {
        await RefuseEvilAsync();
        SignIn();

        // The queue lists the refused wheel with its rule; its detail shows the finding (the .pth member) and the policy rule.
        Browser.Open(Page("quarantine?remote=pypi"), "quarantine");
        var row = Browser.FindAll("tbody tr").FirstOrDefault(r => r.Text.Contains(EvilWheel, StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException($"the queue does not list {EvilWheel}:\n{Browser.BodyText()}");
        Assert.Contains("Blocked", row.Text, StringComparison.Ordinal);
        Assert.Contains("install.pth-exec", row.Text, StringComparison.Ordinal);
        row.FindElement(By.LinkText(EvilWheel)).Click();
        Browser.WaitReady("quarantine-detail");
        Assert.EndsWith($"/console/quarantine/{EvilSha256}", Browser.Url.AbsolutePath, StringComparison.Ordinal);
        var findings = Browser.Find("#findings").Text;
        Assert.Contains("install.pth-exec", findings, StringComparison.Ordinal);
        Assert.Contains("gh_evil_init.pth", findings, StringComparison.Ordinal);
        Assert.Contains("content-dangerous", Browser.Find("#policy-rule").Text, StringComparison.Ordinal);
        Assert.Equal("", Browser.Alerts());

        // Release with a reason and an expiry: the new audit row shows at once, and pip installs the wheel.
        const string releaseReason = "vendor confirmed the .pth is a test fixture";
        var release = Browser.Find("#release-form");
        Browser.Fill(Browser.Labelled("Reason", release), releaseReason);
        release.FindElement(By.CssSelector("button[type=submit]")).Click();
        Browser.WaitUntil(() => Browser.Find("[role=status]").Text.Contains("Release done", StringComparison.Ordinal) || Browser.Alerts().Length > 0,
            () => "the release never finished");
        Assert.Equal("", Browser.Alerts());
        Browser.WaitReady("quarantine-detail");
        Assert.Contains($"{EvilWheel}: Allowed (review.released)", Browser.Find("[role=status]").Text, StringComparison.Ordinal);
        var audit = Browser.Find("#audit").Text;
        Assert.Contains("quarantine.release", audit, StringComparison.Ordinal);
        Assert.Contains(releaseReason, audit, StringComparison.Ordinal);
        Assert.Contains($"released by {Reviewer}", audit, StringComparison.Ordinal);
        var installed = await PipInstallAsync(Stack.PipIndexUrl, "gh-evil==1.0.0");
        Assert.True(installed.ExitCode == 0, $"pip could not install the released gh-evil:\n{installed}");

        // Block again with a reason: pip is refused with it.
        const string blockReason = "the maintainer account was taken over";
        var block = Browser.Find("#block-form");
        Browser.Fill(Browser.Labelled("Reason", block), blockReason);
        block.FindElement(By.CssSelector("button[type=submit]")).Click();
        Browser.WaitUntil(() => Browser.Find("[role=status]").Text.Contains("Block done", StringComparison.Ordinal) || Browser.Alerts().Length > 0,
            () => "the block never finished");
        Assert.Equal("", Browser.Alerts());
        Browser.WaitReady("quarantine-detail");
        Assert.Contains($"{EvilWheel}: Blocked (review.blocked)", Browser.Find("[role=status]").Text, StringComparison.Ordinal);
        Assert.Contains("quarantine.block", Browser.Find("#audit").Text, StringComparison.Ordinal);
        var refused = await PipInstallAsync(Stack.PipIndexUrl, "gh-evil==1.0.0");
        Assert.True(refused.ExitCode != 0, $"pip installed gh-evil after the block:\n{refused}");
        Assert.Contains(blockReason, refused.Output, StringComparison.Ordinal);
        AssertAccessible("the quarantine detail after a block");
        Browser.Screenshot("quarantine-detail-after-block");
        AssertNoScriptErrors();
    });

    [Fact]
    public Task A_container_token_made_in_the_page_shows_the_login_command_and_logs_in_to_the_registry() => RunAsync(async () =>
    {
        SignIn();
        Browser.Open(Page("tokens"), "tokens");
        var form = Browser.Find("#create-token");
        Browser.Fill(Browser.Labelled("Name", form), "console-oci-" + TestEnvironment.UniqueSuffix());
        // The form starts with pypi:read ticked: untick it and tick oci:read, so the token is for images only.
        form.FindElement(By.CssSelector("input[name=scope][value='pypi:read']")).Click();
        form.FindElement(By.CssSelector("input[name=scope][value='oci:read']")).Click();
        form.FindElement(By.CssSelector("button[type=submit]")).Click();
        var secret = Browser.Find("#new-token-secret").GetAttribute("value") ?? "";
        Browser.WaitReady("tokens");
        Assert.Equal("", Browser.Alerts());
        Assert.Equal($"podman login {Stack.BaseAddress.Authority} --username gatehouse --password-stdin", Browser.Find("#new-token-oci").GetAttribute("value"));
        Assert.Empty(Browser.FindAll("#new-token-pip")); // an oci:read token gets no pip setting
        AssertAccessible("the tokens page showing a container token");

        // The secret is what a registry login sends: the token endpoint issues a registry token for it, and /pypi/ refuses it.
        using var http = Stack.CreateClient(authenticated: false);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("gatehouse:" + secret)));
        using (var login = await http.GetAsync("oci/token?service=gatehouse&scope=repository:library/clean:pull"))
        {
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        }
        using var pypi = await http.GetAsync("pypi/simple/gh-demo/");
        Assert.Equal(HttpStatusCode.Forbidden, pypi.StatusCode);
        AssertNoScriptErrors();
    });

    [Fact]
    public Task A_token_created_in_the_page_is_shown_once_with_a_pip_setting_that_installs() => RunAsync(async () =>
    {
        SignIn();
        Browser.Open(Page("tokens"), "tokens");
        var name = "console-made-" + TestEnvironment.UniqueSuffix();
        var form = Browser.Find("#create-token");
        Browser.Fill(Browser.Labelled("Name", form), name);
        Browser.Fill(Browser.Labelled("Most downloads", form), "50");
        form.FindElement(By.CssSelector("button[type=submit]")).Click();
        var secret = Browser.Find("#new-token-secret");
        Browser.WaitReady("tokens");
        Assert.Equal("", Browser.Alerts());
        Assert.NotNull(secret.GetAttribute("readonly"));
        var value = secret.GetAttribute("value") ?? "";
        Assert.Matches("^ght_[0-9a-f]{12}_[0-9a-f]{48}$", value);
        var pip = Browser.Find("#new-token-pip").GetAttribute("value") ?? "";
        var expected = $"PIP_INDEX_URL=http://__token__:{value}@{Stack.BaseAddress.Authority}/pypi/simple/";
        Assert.True(pip == expected, "the pip setting is not the documented form");
        Assert.Contains(name, Browser.Find("tbody").Text, StringComparison.Ordinal);
        Assert.Contains("50 downloads", Browser.Find("tbody").Text, StringComparison.Ordinal);
        Assert.Empty(Browser.FindAll("#new-token-hf")); // a pypi:read token gets no Hugging Face settings
        AssertAccessible("the tokens page showing a new secret");

        var installed = await PipInstallAsync(pip["PIP_INDEX_URL=".Length..], "gh-demo==1.0.0");
        Assert.True(installed.ExitCode == 0, $"pip could not install with the token made in the page:\n{installed}");

        // Revoke asks first, then the token no longer works.
        var row = Browser.FindAll("tbody tr").Single(r => r.Text.Contains(name, StringComparison.Ordinal));
        row.FindElement(By.CssSelector($"button[aria-label='Revoke {name}']")).Click();
        Browser.Find($"button[aria-label='Confirm: revoke {name}']").Click();
        Browser.WaitUntil(() => Browser.Find("[role=status]").Text.Contains($"Revoked {name}", StringComparison.Ordinal) || Browser.Alerts().Length > 0,
            () => "the revoke never finished");
        Assert.Equal("", Browser.Alerts());
        Browser.WaitReady("tokens");
        using var http = Stack.CreateClient(authenticated: false);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(value + ":")));
        using var after = await http.GetAsync("pypi/simple/gh-demo/");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        AssertNoScriptErrors();
    });

    [Fact]
    public Task A_prefetch_started_in_the_page_shows_its_progress_up_to_100_percent_and_the_verdicts() => RunAsync(async () =>
    {
        SignIn();
        Browser.Open(Page("prefetch"), "prefetch");
        var form = Browser.Find("#prefetch-form");
        Browser.Fill(Browser.Labelled("Repository", form), DemoModel);
        // Every upstream body waits a little, so the run lasts long enough for the page to show it under way.
        await Stack.Sim.DelayAsync(400);
        var seen = new List<string>();
        try
        {
            form.FindElement(By.CssSelector("button[type=submit]")).Click();
            Browser.Find("progress#prefetch-bar");
            Browser.WaitUntil(() =>
            {
                var status = Browser.Find("#prefetch-status").Text;
                seen.Add($"{status} {Browser.Find("#prefetch-percent").Text}");
                return status is "Completed" or "Failed" or "Terminated";
            }, () => "the prefetch never finished", TimeSpan.FromSeconds(120));
        }
        finally
        {
            await Stack.Sim.DelayAsync(0);
        }
        output.WriteLine(string.Join("\n", seen.Distinct()));
        Assert.Contains(seen, s => s.StartsWith("Running", StringComparison.Ordinal) || s.StartsWith("Pending", StringComparison.Ordinal)); // shown under way, not only at the end
        Assert.Equal("Completed", Browser.Find("#prefetch-status").Text);
        Assert.StartsWith("100 %", Browser.Find("#prefetch-percent").Text, StringComparison.Ordinal);
        Assert.Equal("100", Browser.Find("progress#prefetch-bar").GetAttribute("value"));
        var files = Browser.Find("#prefetch-progress tbody").Text;
        Assert.Contains("evil.bin", files, StringComparison.Ordinal);
        Assert.Contains("pickle.dangerous-global", files, StringComparison.Ordinal);
        Assert.Contains("Blocked 1", Browser.Find("#prefetch-summary").Text, StringComparison.Ordinal);
        Assert.Equal("", Browser.Alerts());
        AssertAccessible("a finished prefetch");
        Browser.Screenshot("prefetch-done");
        AssertNoScriptErrors();
    });

    [Fact]
    public Task A_dry_run_of_a_pasted_candidate_shows_which_files_it_would_block() => RunAsync(async () =>
    {
        // Both gh-demo files recorded (asked for once), so the dry run has something to judge.
        using var client = Stack.CreateClient();
        var demoFiles = new List<string>();
        using (var index = JsonDocument.Parse(await SimpleIndexPages.GetAsync(client, "gh-demo", SimpleIndexPages.Json)))
        {
            foreach (var file in index.RootElement.GetProperty("files").EnumerateArray())
            {
                var name = file.GetProperty("filename").GetString()!;
                using var response = await client.GetAsync(GatehouseStack.FileUrl("gh-demo", file.GetProperty("hashes").GetProperty("sha256").GetString()!, name));
                Assert.True(response.IsSuccessStatusCode, $"{name} answered {(int)response.StatusCode}");
                demoFiles.Add(name);
            }
        }
        Assert.NotEmpty(demoFiles);

        SignIn();
        Browser.Open(Page("policy"), "policy");
        Assert.Matches("^policy-[0-9a-f]{12}$", Browser.Find("#policy-version").Text);
        var candidate = PolicyProvider.DefaultText.Replace("\nrules:\n", """

            rules:
              - id: no-demo
                action: block
                when:
                  project: gh-demo

            """, StringComparison.Ordinal);
        Assert.NotEqual(PolicyProvider.DefaultText, candidate);
        var textarea = Browser.Labelled("Candidate policy");
        // The text goes in through the DOM: typing 3 KB of YAML key by key is slow, and auto-indent does not apply to a textarea anyway.
        ((IJavaScriptExecutor)Browser.Driver).ExecuteScript("arguments[0].value = arguments[1];", textarea, candidate);
        Browser.Find("#dry-run-form button[type=submit]").Click();
        Browser.WaitUntil(() => Browser.FindAll("#dry-run-summary").Count > 0 || Browser.Alerts().Length > 0, () => "the dry run never answered");
        Assert.Equal("", Browser.Alerts());
        Assert.Contains($"{demoFiles.Count} would change", Browser.Find("#dry-run-summary").Text, StringComparison.Ordinal);
        var rows = Browser.FindAll("#dry-run tbody tr").Select(r => r.Text).ToList();
        output.WriteLine(string.Join("\n", rows));
        Assert.Equal(demoFiles.Order(StringComparer.Ordinal), rows.Select(r => demoFiles.Single(f => r.Contains(f, StringComparison.Ordinal))).Order(StringComparer.Ordinal));
        Assert.All(rows, r =>
        {
            Assert.Contains("− Allowed", r, StringComparison.Ordinal);
            Assert.Contains("+ Blocked no-demo", r, StringComparison.Ordinal);
        });
        AssertAccessible("a dry run's changes");
        Browser.Screenshot("policy-dry-run");
        // A dry run applies nothing: the files are still served.
        using var still = await client.GetAsync($"pypi/simple/gh-demo/");
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);
        AssertNoScriptErrors();
    });

    [Fact]
    public Task No_admin_action_works_without_the_session_and_its_csrf_token_and_a_read_token_cannot_sign_in() => RunAsync(async () =>
    {
        using var http = Stack.CreateClient(authenticated: false);
        var (cookieA, csrfA) = await SignInOverHttpAsync(http);
        var (cookieB, csrfB) = await SignInOverHttpAsync(http);
        Assert.NotEqual(csrfA, csrfB);
        var create = new { name = "should-not-exist", scopes = new[] { "pypi:read" } };

        using (var noCsrf = await SendAsync(http, HttpMethod.Post, "admin/tokens", cookieA, null, create))
        {
            Assert.Equal(HttpStatusCode.Forbidden, noCsrf.StatusCode);
        }
        using (var noCookie = await SendAsync(http, HttpMethod.Post, "admin/tokens", null, csrfA, create))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noCookie.StatusCode);
        }
        using (var crossed = await SendAsync(http, HttpMethod.Post, "admin/tokens", cookieA, csrfB, create))
        {
            Assert.Equal(HttpStatusCode.Forbidden, crossed.StatusCode);
        }
        using (var release = await SendAsync(http, HttpMethod.Post, $"admin/quarantine/{EvilSha256}/release", cookieB, csrfA,
            new { reason = "forged", expires = DateTimeOffset.UtcNow.AddDays(1).ToString("O") }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, release.StatusCode);
        }
        // None of it created anything; the same request with the matching pair does (the refusals above were the CSRF check's).
        using (var list = await SendAsync(http, HttpMethod.Get, "admin/tokens", cookieA, null, null))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            Assert.DoesNotContain("should-not-exist", await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var allowed = await SendAsync(http, HttpMethod.Post, "admin/tokens", cookieA, csrfA, new { name = "made-with-the-pair", scopes = new[] { "pypi:read" } }))
        {
            Assert.Equal(HttpStatusCode.Created, allowed.StatusCode);
        }

        // In the browser: signed out, every page sends to the sign-in; a read token is refused there with the 403.
        Browser.Driver.Manage().Cookies.DeleteAllCookies();
        foreach (var path in new[] { "", "quarantine", $"quarantine/{EvilSha256}", "artifacts", $"artifacts/{EvilSha256}", "audit", "policy", "prefetch", "tokens" })
        {
            Browser.Open(Page(path), "signin");
            Assert.Equal("/console/signin", Browser.Url.AbsolutePath);
            Assert.Equal("/console/" + path, System.Web.HttpUtility.ParseQueryString(Browser.Url.Query)["next"]);
        }
        Browser.Fill(Browser.Labelled("Admin token"), Stack.Token);
        Browser.Find("form button[type=submit]").Click();
        Browser.WaitUntil(() => Browser.Alerts().Length > 0, () => "a read token's sign-in showed no error");
        Assert.Contains("403", Browser.Alerts(), StringComparison.Ordinal);
        Assert.Contains("not an admin token", Browser.Alerts(), StringComparison.Ordinal);
        Assert.Equal("/console/signin", Browser.Url.AbsolutePath);
        Assert.Equal("password", Browser.Labelled("Admin token").GetAttribute("type"));
        Assert.DoesNotContain(Browser.Driver.Manage().Cookies.AllCookies, c => c.Name == "gatehouse_session");

        // Signing out in the page ends the session on the server, not only in the browser.
        SignIn();
        var session = Browser.Driver.Manage().Cookies.GetCookieNamed("gatehouse_session") ?? throw new Xunit.Sdk.XunitException("no session cookie after sign-in");
        Assert.True(session.IsHttpOnly, "the session cookie is readable by scripts");
        Browser.Find("#signout").Click();
        Browser.WaitReady("signin");
        Assert.Null(Browser.Driver.Manage().Cookies.GetCookieNamed("gatehouse_session"));
        using (var after = await SendAsync(http, HttpMethod.Get, "admin/tokens", $"gatehouse_session={session.Value}", null, null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        }
        SignIn();
        AssertNoScriptErrors();
    });

    [Fact]
    public Task The_overview_shows_the_counts_the_stats_api_answers() => RunAsync(async () =>
    {
        await RefuseEvilAsync();
        SignIn();
        using var admin = Stack.CreateClient(authenticated: false);
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.AdminToken);
        // The overview is served from a snapshot up to 10 s old (refreshed in the background): wait until it counts
        // the refusal, then load the page and compare it with the answer.
        HttpResponseMessage stats;
        string text;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            stats = await admin.GetAsync("admin/stats");
            text = await stats.Content.ReadAsStringAsync();
            if (!stats.IsSuccessStatusCode || DateTime.UtcNow > deadline || CountsARefusal(text))
            {
                break;
            }
            stats.Dispose();
            await Task.Delay(1000);
        }
        using var answered = stats;
        Assert.True(stats.IsSuccessStatusCode, $"GET /admin/stats answered {(int)stats.StatusCode}: {text}");
        Assert.True(CountsARefusal(text), $"the stats count no refusal: {text}");
        // The page and this client may each get a different snapshot while a background refresh lands (the previous
        // tests' releases and blocks change the split): load the page until it shows what the API answers right after.
        string[] Shown() => [.. new[] { "allowed", "quarantined", "blocked" }.Select(n => Browser.Find($"[data-count={n}]").Text)];
        static string[] Answered(string stats)
        {
            using var json = JsonDocument.Parse(stats);
            var artifacts = json.RootElement.GetProperty("artifacts");
            return [.. new[] { "allowed", "quarantined", "blocked" }.Select(n => artifacts.GetProperty(n).GetInt64().ToString("N0", CultureInfo.InvariantCulture))];
        }
        string[] shown = [];
        for (var attempt = 0; attempt < 5; attempt++)
        {
            Browser.Open(Page(""), "overview");
            shown = Shown();
            using var again = await admin.GetAsync("admin/stats");
            text = await again.Content.ReadAsStringAsync();
            if (shown.SequenceEqual(Answered(text)))
            {
                break;
            }
            await Task.Delay(2000);
        }
        var readyMs = Convert.ToDouble(((IJavaScriptExecutor)Browser.Driver).ExecuteScript(
            "const m = performance.getEntriesByName('gatehouse-ready'); return m.length ? m[0].startTime : -1;"), CultureInfo.InvariantCulture);
        output.WriteLine($"overview ready {readyMs:F0} ms after navigation started");
        Assert.Equal("", Browser.Alerts());
        using var json = JsonDocument.Parse(text);
        Assert.Equal(Answered(text), shown);
        Assert.True(CountsARefusal(text), $"the stats count no refusal: {text}");
        Assert.Single(Browser.FindAll(".chart svg[role=img]"));
        Assert.Equal(json.RootElement.GetProperty("verdictsByDay").GetArrayLength(), Browser.FindAll("details table tbody tr").Count);
        Assert.Contains(Browser.FindAll("table").Select(t => t.GetAttribute("textContent") ?? ""), t => t.Contains(EvilWheel, StringComparison.Ordinal));
        AssertNoScriptErrors();
    });

    [Fact]
    public Task The_artifact_search_finds_the_refused_wheel_with_its_verdict_history_and_the_audit_exports_as_csv_with_the_session() => RunAsync(async () =>
    {
        await RefuseEvilAsync();
        SignIn();
        Browser.Open(Page("artifacts"), "artifacts");
        using var admin = Stack.CreateClient(authenticated: false);
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.AdminToken);
        using (var api = await admin.GetAsync("admin/artifacts?q=gh-evil"))
        {
            Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        }
        var search = Browser.Labelled("Search");
        Browser.Fill(search, EvilSha256[..10]);
        search.Submit();
        Browser.WaitUntil(() => Browser.Url.Query.Contains("q=" + EvilSha256[..10], StringComparison.Ordinal), () => "the search did not run");
        Browser.WaitReady("artifacts");
        Assert.Equal("", Browser.Alerts());
        var row = Browser.FindAll("tbody tr").Single(r => r.Text.Contains(EvilWheel, StringComparison.Ordinal));
        row.FindElement(By.LinkText(EvilWheel)).Click();
        Browser.WaitReady("artifact-detail");
        Assert.EndsWith($"/console/artifacts/{EvilSha256}", Browser.Url.AbsolutePath, StringComparison.Ordinal);
        var history = Browser.Find("#history").Text;
        Assert.Contains("decision", history, StringComparison.Ordinal);
        Assert.Contains("install.pth-exec", history, StringComparison.Ordinal);

        // The audit of the wheel, and its CSV export: a same-origin GET that the session cookie authenticates.
        Browser.Open(Page($"audit?artifact={EvilSha256}"), "audit");
        Assert.Equal("", Browser.Alerts());
        Assert.Contains("decision", Browser.Find("main table").Text, StringComparison.Ordinal);
        var csv = ((IJavaScriptExecutor)Browser.Driver).ExecuteAsyncScript("""
            const done = arguments[arguments.length - 1];
            fetch(document.getElementById('audit-csv').href, { credentials: 'same-origin' })
              .then(async r => done({ status: r.status, type: r.headers.get('Content-Type') || '', text: await r.text() }))
              .catch(e => done({ status: 0, type: '', text: String(e) }));
            """) as IReadOnlyDictionary<string, object> ?? throw new Xunit.Sdk.XunitException("the CSV fetch answered nothing");
        var text = csv["text"] as string ?? "";
        Assert.True(Convert.ToInt32(csv["status"], CultureInfo.InvariantCulture) == 200, $"the CSV export answered {csv["status"]}: {text}");
        Assert.StartsWith("text/csv", csv["type"] as string ?? "", StringComparison.Ordinal);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length >= 2, $"the CSV has no record: {text}");
        Assert.Contains(lines.Skip(1), l => l.Contains(EvilSha256, StringComparison.Ordinal));
        AssertNoScriptErrors();
    });

    [Fact]
    public Task Every_page_passes_axe_without_serious_or_critical_violations_and_is_captured() => RunAsync(async () =>
    {
        await RefuseEvilAsync();
        Browser.Driver.Manage().Cookies.DeleteAllCookies();
        var pages = new (string Path, string Ready, string Shot)[]
        {
            ("signin", "signin", "signin"),
            ("", "overview", "overview"),
            ("quarantine", "quarantine", "quarantine"),
            ($"quarantine/{EvilSha256}", "quarantine-detail", "quarantine-detail"),
            ("artifacts", "artifacts", "artifacts"),
            ($"artifacts/{EvilSha256}", "artifact-detail", "artifact-detail"),
            ("tokens", "tokens", "tokens"),
            ($"audit?artifact={EvilSha256}", "audit", "audit"),
            ("policy", "policy", "policy"),
            ("prefetch", "prefetch", "prefetch"),
        };
        var problems = new List<string>();
        foreach (var (path, ready, shot) in pages)
        {
            if (ready != "signin")
            {
                SignIn();
            }
            Browser.Open(Page(path), ready);
            Assert.Single(Browser.FindAll("main#main"));
            Assert.NotEmpty(Browser.FindAll("main h1"));
            Assert.Single(Browser.FindAll("nav[aria-label=Console]"));
            var violations = Browser.SeriousAccessibilityViolations();
            problems.AddRange(violations.Select(v => $"/console/{path}: {v}"));
            output.WriteLine($"/console/{path}: {violations.Count} serious or critical axe violations; screenshot {Browser.Screenshot(shot)}");
        }
        Assert.True(problems.Count == 0, "axe-core found serious or critical violations:\n" + string.Join("\n", problems));
        AssertNoScriptErrors();

        if (Environment.GetEnvironmentVariable("GATEHOUSE_UPDATE_SCREENSHOTS") == "1")
        {
            var committed = Path.Combine(TestEnvironment.RepoRoot, "tests", "Gatehouse.EndToEnd.Tests", "Console", "Screenshots");
            Directory.CreateDirectory(committed);
            foreach (var shot in new[] { "overview", "quarantine-detail" })
            {
                File.Copy(Path.Combine(Browser.Screenshots, shot + ".png"), Path.Combine(committed, shot + ".png"), overwrite: true);
            }
            output.WriteLine($"copied the overview and the quarantine detail to {committed}");
        }
    });

    /// <summary>Runs a test body; on failure the host's log and a screenshot of the page go to the output.</summary>
    private Task RunAsync(Func<Task> body) => Stack.RunAsync(output, async () =>
    {
        output.WriteLine($"screenshots: {Browser.Screenshots}");
        try
        {
            await body();
        }
        catch
        {
            try
            {
                output.WriteLine($"failed at {Browser.Url}; screenshot {Browser.Screenshot("failure-" + TestEnvironment.UniqueSuffix())}\n--- page text ---\n{Browser.BodyText()}");
            }
            catch (WebDriverException e)
            {
                output.WriteLine($"no screenshot of the failure: {e.Message}");
            }
            throw;
        }
    });

    private Uri Page(string path) => new(Stack.BaseAddress, "console/" + path);

    /// <summary>Signs the browser in with the reviewer's admin token, unless it already is.</summary>
    private void SignIn()
    {
        Browser.Open(Page("signin"), "signin");
        if (Browser.BodyText().Contains($"signed in as {Reviewer}", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }
        Browser.Fill(Browser.Labelled("Admin token"), fixture.AdminToken);
        Browser.Find("form button[type=submit]").Click();
        Browser.WaitReady("overview");
        Assert.Equal("/console/", Browser.Url.AbsolutePath);
        Assert.Contains($"Signed in as {Reviewer}", Browser.Find("#who").Text, StringComparison.Ordinal);
    }

    /// <summary>gh-evil's wheel asked for once with the read token: downloaded, scanned, refused by the policy (install.pth-exec).</summary>
    private async Task RefuseEvilAsync()
    {
        using var client = Stack.CreateClient();
        await SimpleIndexPages.GetAsync(client, "gh-evil", SimpleIndexPages.Json);
        using var response = await client.GetAsync(GatehouseStack.FileUrl("gh-evil", EvilSha256, EvilWheel));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    private async Task<ProcessResult> PipInstallAsync(string indexUrl, string requirement)
    {
        using var venv = await PythonVenv.CreateAsync(output);
        var result = await venv.PipAsync(PythonVenv.InstallArguments(indexUrl, requirement));
        output.WriteLine(result.ToString().Replace(indexUrl, "<index url>", StringComparison.Ordinal));
        return result;
    }

    private async Task<(string Cookie, string Csrf)> SignInOverHttpAsync(HttpClient http)
    {
        using var signIn = await http.PostAsync("console/session", new StringContent(JsonSerializer.Serialize(new { token = fixture.AdminToken }), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("gatehouse_session=", StringComparison.Ordinal)).Split(';')[0];
        using var body = JsonDocument.Parse(await signIn.Content.ReadAsStringAsync());
        return (cookie, body.RootElement.GetProperty("csrf").GetString()!);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string? cookie, string? csrf, object? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }
        if (csrf is not null)
        {
            request.Headers.Add("X-CSRF-Token", csrf);
        }
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }
        return await http.SendAsync(request);
    }

    /// <summary>No serious or critical axe-core violation on the page as it is now.</summary>
    private void AssertAccessible(string where)
    {
        var violations = Browser.SeriousAccessibilityViolations();
        Assert.True(violations.Count == 0, $"axe-core found serious or critical violations on {where}:\n{string.Join("\n", violations)}");
    }

    private void AssertNoScriptErrors()
    {
        var errors = Browser.ScriptErrors();
        Assert.True(errors.Count == 0, "the browser logged script errors or CSP violations:\n" + string.Join("\n", errors));
    }

    private static bool CountsARefusal(string stats)
    {
        using var json = JsonDocument.Parse(stats);
        var artifacts = json.RootElement.GetProperty("artifacts");
        return artifacts.GetProperty("blocked").GetInt64() + artifacts.GetProperty("quarantined").GetInt64() >= 1;
    }

}
