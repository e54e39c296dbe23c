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
    [InlineData(PipUnderTest.Debian)]
    [InlineData(PipUnderTest.Default)]
    [InlineData(PipUnderTest.Source)]
    public Task Pip_refuses_gh_evil_with_the_reason_in_its_output_and_the_file_is_quarantined_and_hidden(string pip) => Stack.RunAsync(output, async () =>
    {
        // A blocked file is no longer listed, so a pip that comes after the refusal never asks for it (the policy work
        // will give later users the reason too). Each pip starts from a cold cache, as on a fresh storage account.
        await Stack.Storage.ForgetContentAsync(EvilSha256);
        using var venv = await PipUnderTest.For(pip).CreateVenvAsync(output);
        using var client = Stack.CreateClient();
        // The index keeps its list of refused files for a few seconds: wait until the forgotten wheel is listed again.
        Assert.True(await SimpleIndexPages.ListedWithinAsync(client, "gh-evil", EvilWheel, TimeSpan.FromSeconds(15), listed: true), $"{EvilWheel} did not come back into the index after its verdict was forgotten");

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
        Assert.True(await Stack.Storage.BlobExistsAsync(StorageProbe.Quarantine, EvilSha256), "the blocked wheel is not in the quarantine container");
        Assert.False(await Stack.Storage.BlobExistsAsync(StorageProbe.Artifacts, EvilSha256), "the blocked wheel is in the artifacts container");
        Assert.False(await Stack.Storage.BlobExistsAsync(StorageProbe.Staging, EvilSha256), "the blocked wheel is still in staging");

        // The project page drops refused files; the refusal list is cached for a few seconds, so allow a short wait.
        Assert.True(await SimpleIndexPages.ListedWithinAsync(client, "gh-evil", EvilWheel, TimeSpan.FromSeconds(15), listed: false), $"{EvilWheel} is still in the index after it was blocked");
        var json = await SimpleIndexPages.GetAsync(client, "gh-evil", SimpleIndexPages.Json);
        var html = await SimpleIndexPages.GetAsync(client, "gh-evil", SimpleIndexPages.Html);
        Assert.DoesNotContain(EvilWheel, json, StringComparison.Ordinal);
        Assert.DoesNotContain(EvilWheel, html, StringComparison.Ordinal);
        Assert.DoesNotContain(EvilSha256, json, StringComparison.Ordinal);
        Assert.DoesNotContain(EvilSha256, html, StringComparison.Ordinal);
    });

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
