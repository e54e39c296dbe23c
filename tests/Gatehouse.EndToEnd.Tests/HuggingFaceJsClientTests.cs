using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// The real <c>@huggingface/hub</c> from npm (<c>tests/hf-js</c>, pinned by its package-lock.json) with
/// <c>hubUrl = http://host/hf</c> and an entitlement token: <c>listFiles</c>, <c>fileDownloadInfo</c>,
/// <c>downloadFile</c>, <c>downloadFileToCacheDir</c> and <c>snapshotDownload</c> get the demo repos' safe files
/// byte-identical to the fixtures with no trace of Xet, and the malicious pickle fails inside the library with
/// Gatehouse's refusal reason. The library probes with <c>Range: bytes=0-0</c> and also accepts
/// <c>application/vnd.xet-fileinfo+json</c>, which must never come back
/// (<c>packages/hub/src/lib/file-download-info.ts</c>).
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class HuggingFaceJsClientTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private static readonly string Project = Path.Combine(TestEnvironment.RepoRoot, "tests", "hf-js");

    private GatehouseStack Stack => shared.Stack;

    [Fact]
    public Task The_npm_client_gets_the_safe_files_byte_identical_and_sees_the_refusal_reason_for_the_malicious_pickle() => Stack.RunAsync(output, async () =>
    {
        Assert.True(Directory.Exists(Path.Combine(Project, "node_modules", "@huggingface", "hub")),
            "tests/hf-js/node_modules is missing: run scripts/test.sh, which installs it with npm ci (or run `npm ci` in tests/hf-js).");

        var run = await NodeTest.RunAsync(Project, "hub-client.test.mjs", new Dictionary<string, string>
        {
            ["GATEHOUSE_HF_ENDPOINT"] = new Uri(Stack.BaseAddress, "hf").AbsoluteUri,
            ["GATEHOUSE_HF_TOKEN"] = Stack.Token,
            ["GATEHOUSE_HF_FIXTURES"] = Path.Combine(TestEnvironment.RepoRoot, "tests", "fixtures", "hf"),
        });
        var report = run.ToString().Replace(Stack.Token, "****", StringComparison.Ordinal);
        output.WriteLine(report);
        Assert.True(run.ExitCode == 0, $"The @huggingface/hub tests failed against Gatehouse:\n{report}");
    });
}
