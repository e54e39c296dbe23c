using System.Net;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Real pips (<see cref="PipUnderTest"/>: Debian's 23.0.1, the default python3's, and pip from source), each in a fresh
/// venv, pointed at Gatehouse with <c>--index-url http://&lt;token&gt;@host/pypi/simple/</c>.
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class PipThroughGatehouseTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private const string EvilWheel = "gh_evil-1.0.0-py3-none-any.whl";
    private const string EvilSha256 = "20ad5167cc1db7a87d3aa370bdee03d4a7999b717c1c31f38c55c16da48637b2";

    private GatehouseStack Stack => shared.Stack;

    [Theory]
    [InlineData(PipUnderTest.Debian)]
    [InlineData(PipUnderTest.Default)]
    [InlineData(PipUnderTest.Source)]
    public Task Pip_installs_gh_demo_and_its_dependency_gh_dep_through_Gatehouse(string pip) => Stack.RunAsync(output, async () =>
    {
        using var venv = await PipUnderTest.For(pip).CreateVenvAsync(output);

        var install = await venv.PipAsync(PythonVenv.InstallArguments(Stack.PipIndexUrl, "gh-demo"));
        output.WriteLine(install.ToString());
        Assert.True(install.ExitCode == 0, $"pip install gh-demo failed through Gatehouse:\n{install}");

        var run = await venv.PythonAsync("-c", "import gh_demo; print(gh_demo.hello())");
        Assert.True(run.ExitCode == 0, $"importing gh_demo failed:\n{run}");
        Assert.Equal("hello from gh-demo", run.StandardOutput.Trim());

        var list = await venv.PipAsync("list", "--format=json", "--disable-pip-version-check");
        Assert.True(list.ExitCode == 0, list.ToString());
        var installed = JsonDocument.Parse(list.StandardOutput).RootElement.EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!.ToLowerInvariant(), p => p.GetProperty("version").GetString());
        Assert.Equal("1.0.0", installed.GetValueOrDefault("gh-demo"));
        Assert.True(installed.ContainsKey("gh-dep"), $"pip list does not show gh-dep: {list.StandardOutput}");
    });

    [Theory]
    [InlineData(PipUnderTest.Debian, PipUnderTest.Source)]
    [InlineData(PipUnderTest.Default, PipUnderTest.Debian)]
    [InlineData(PipUnderTest.Source, PipUnderTest.Default)]
    public Task Pip_refuses_gh_evil_with_the_reason_and_a_later_pip_learns_the_same_reason_from_the_index(string first, string later) =>
        Stack.RunAsync(output, async () =>
        {
            // The first pip meets gh-evil cold, as on a fresh storage account; the later one after its refusal is recorded.
            await Stack.Storage.ForgetContentAsync(EvilSha256);
            using var client = Stack.CreateClient();
            // The index keeps its judgement of a page for a few seconds: wait until the project is no longer marked refused.
            Assert.True(await QuarantinedWithinAsync(client, quarantined: false), "gh-evil was still marked quarantined after its verdict was forgotten");

            using var venv = await PipUnderTest.For(first).CreateVenvAsync(output);
            var install = await venv.PipAsync(PythonVenv.InstallArguments(Stack.PipIndexUrl, "gh-evil"));
            output.WriteLine(install.ToString());
            Assert.True(install.ExitCode != 0, $"pip installed gh-evil through Gatehouse:\n{install}");
            Assert.Contains("Blocked by Gatehouse", install.Output, StringComparison.Ordinal);
            Assert.Contains("install.pth-exec", install.Output, StringComparison.Ordinal);

            Assert.NotNull(await Stack.Storage.FactsAsync(EvilSha256));
            var verdict = await Stack.Storage.PyPIReferenceAsync("gh-evil", EvilWheel);
            Assert.NotNull(verdict);
            Assert.Equal("Blocked", verdict.GetString("Decision"));
            Assert.Equal("install.pth-exec", verdict.GetString("Rule"));
            Assert.Equal("content-dangerous", verdict.GetString("PolicyRule"));
            Assert.Matches("^policy-[0-9a-f]{12}$", verdict.GetString("PolicyVersion"));
            Assert.True(await Stack.Storage.BlobExistsAsync(StorageProbe.Quarantine, EvilSha256), "the blocked wheel is not in the quarantine container");
            Assert.False(await Stack.Storage.BlobExistsAsync(StorageProbe.Artifacts, EvilSha256), "the blocked wheel is in the artifacts container");
            Assert.False(await Stack.Storage.BlobExistsAsync(StorageProbe.Staging, EvilSha256), "the blocked wheel is still in staging");

            // With nothing installable left, the refused wheel stays listed as it is (so every pip selects it and is told why)
            // and the project is marked quarantined with the reason (PEP 792).
            Assert.True(await QuarantinedWithinAsync(client, quarantined: true), "gh-evil is not marked quarantined after its only file was blocked");
            var page = JsonDocument.Parse(await SimpleIndexPages.GetAsync(client, "gh-evil", SimpleIndexPages.Json)).RootElement;
            var file = page.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("filename").GetString() == EvilWheel);
            Assert.False(file.GetProperty("yanked").GetBoolean());
            Assert.StartsWith("Blocked by Gatehouse", page.GetProperty("project-status").GetProperty("reason").GetString(), StringComparison.Ordinal);

            // A later user with another pip, unpinned and pinned: each selects the listed wheel and its download's refusal
            // says why (not "from versions: none").
            using var laterVenv = await PipUnderTest.For(later).CreateVenvAsync(output);
            foreach (var requirement in new[] { "gh-evil", "gh-evil==1.0.0" })
            {
                var again = await laterVenv.PipAsync(PythonVenv.InstallArguments(Stack.PipIndexUrl, requirement));
                output.WriteLine(again.ToString());
                Assert.True(again.ExitCode != 0, $"a later pip installed {requirement} through Gatehouse:\n{again}");
                Assert.Contains("Blocked by Gatehouse", again.Output, StringComparison.Ordinal);
                Assert.Contains("install.pth-exec", again.Output, StringComparison.Ordinal);
                Assert.DoesNotContain("from versions: none", again.Output, StringComparison.Ordinal);
            }
        });

    /// <summary>Polls both formats of gh-evil's page until the project is (or is not) marked quarantined.</summary>
    private static async Task<bool> QuarantinedWithinAsync(HttpClient client, bool quarantined)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var json = JsonDocument.Parse(await SimpleIndexPages.GetAsync(client, "gh-evil", SimpleIndexPages.Json)).RootElement;
            var status = json.TryGetProperty("project-status", out var s) ? s.GetProperty("status").GetString() : null;
            var html = await SimpleIndexPages.GetAsync(client, "gh-evil", SimpleIndexPages.Html);
            if ((status == "quarantined") == quarantined
                && html.Contains("<meta name=\"pypi:project-status\" content=\"quarantined\">", StringComparison.Ordinal) == quarantined)
            {
                return true;
            }
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(500);
        }
    }

    [Fact]
    public Task Without_a_token_pip_fails_and_Gatehouse_answers_401_with_a_Basic_challenge() => Stack.RunAsync(output, async () =>
    {
        using var anonymous = Stack.CreateClient(authenticated: false);
        foreach (var path in new[] { "pypi/simple/gh-demo/", GatehouseStack.FileUrl("gh-dep", "883a6787e8583314dd6da89e5f78e965bd5b04aae84aca12b46fb0cdde810626", "gh_dep-1.0.0-py3-none-any.whl") })
        {
            using var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var challenge = Assert.Single(response.Headers.WwwAuthenticate);
            Assert.Equal("Basic", challenge.Scheme);
            Assert.Contains("realm=", challenge.Parameter ?? "", StringComparison.Ordinal);
        }

        using var venv = await PythonVenv.CreateAsync(output);
        var anonymousIndex = $"http://{Stack.BaseAddress.Authority}/pypi/simple/";
        // pip 23.x logs a failed index page only at debug level, hence -vvv.
        var install = await venv.PipAsync(PythonVenv.InstallArguments(anonymousIndex, "-vvv", "gh-demo"));
        output.WriteLine(install.ToString());
        Assert.True(install.ExitCode != 0, $"pip installed gh-demo without a token:\n{install}");
        Assert.Contains("\"GET /pypi/simple/gh-demo/ HTTP/1.1\" 401", install.Output, StringComparison.Ordinal);
        Assert.Contains("401 Client Error", install.Output, StringComparison.Ordinal);
    });
}
