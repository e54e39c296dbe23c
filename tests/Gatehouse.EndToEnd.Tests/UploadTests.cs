using System.Net;
using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Direct uploads on the standalone host: a team writes into the <c>uploads</c> container with the Azure SDK (or PUTs
/// through Gatehouse), the watcher notices it, and the file is scanned and judged in the same stores as proxied files,
/// then served from <c>/uploads/…</c> or refused with its rule.
/// </summary>
public sealed class UploadTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string CleanWheel = "gh_dep-1.0.0-py3-none-any.whl";
    private GatehouseStack? _stack;
    // Each test run its own folder in the shared test Azurite.
    private readonly string _org = "e2e-" + TestEnvironment.UniqueSuffix();

    private GatehouseStack Stack => _stack!;

    public async Task InitializeAsync() =>
        _stack = await GatehouseStack.StartAsync("uploads", s => s with { UploadsWatchSeconds = 1, InlineWaitSeconds = 5 });

    public async Task DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
    }

    [Fact]
    public Task A_malicious_pickle_written_with_the_SDK_is_judged_and_refused_with_its_rule_naming_the_uploader() => Stack.RunAsync(output, async () =>
    {
        var name = $"models/{_org}/tuned/evil.pkl";
        var bytes = MaliciousPickle();
        await WriteWithSdkAsync(name, bytes, uploader: "team-vision");
        using var client = Stack.CreateClient();

        var (status, body) = await WaitForVerdictAsync(client, name);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("rule: pickle.", body, StringComparison.Ordinal);
        Assert.Contains("uploader: team-vision", body, StringComparison.Ordinal);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.Contains($"sha256: {sha256}", body, StringComparison.Ordinal);
        var facts = await Stack.Storage.FactsAsync(sha256);
        Assert.Equal(StorageProbe.Quarantine, facts?.GetString("Container"));
        var reference = await Stack.Storage.ReferenceAsync($"uploads:models%2F{_org}%2Ftuned", "evil.pkl");
        Assert.Equal(("uploads", "team-vision"), (reference?.GetString("Remote"), reference?.GetString("Uploader")));
        Assert.Equal(1, await Stack.Storage.AuditCountAsync("upload", sha256));
        Assert.True(await EventuallyAsync(async () => await Stack.Storage.AuditCountAsync("event", "uploads/" + name, detailPrefix: "Gatehouse.UploadScanned ") == 1),
            "no Gatehouse.UploadScanned event was recorded for the upload");
    });

    [Fact]
    public Task A_clean_wheel_put_through_Gatehouse_is_served_and_installs_with_real_pip_from_its_uploads_URL() => Stack.RunAsync(output, async () =>
    {
        var wheel = await File.ReadAllBytesAsync(Path.Combine(TestEnvironment.PyPIFixtures, CleanWheel));
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(wheel));
        // Scanned afresh, as on a new storage account, whatever other tests fetched before.
        await Stack.Storage.ForgetContentAsync(sha256);
        var name = $"pypi/{_org}-tools/{CleanWheel}";
        using var admin = await Stack.CreateAdminClientAsync("e2e uploader");
        using (var put = await admin.PutAsync("uploads/" + name, new ByteArrayContent(wheel)))
        {
            Assert.Equal(HttpStatusCode.Accepted, put.StatusCode);
            Assert.Contains("\"uploader\":\"e2e uploader\"", await put.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using var client = Stack.CreateClient();

        var (status, body) = await WaitForVerdictAsync(client, name);
        Assert.True(status == HttpStatusCode.OK, $"{status}: {body}");

        using var venv = await PipUnderTest.For(PipUnderTest.Default).CreateVenvAsync(output);
        var url = $"http://{Stack.Token}@{Stack.BaseAddress.Authority}/uploads/{name}";
        var install = await venv.PipAsync("install", "--no-index", "--disable-pip-version-check", "--no-cache-dir", url);
        output.WriteLine(install.ToString().Replace(Stack.Token, "<token>", StringComparison.Ordinal));
        Assert.True(install.ExitCode == 0, $"pip could not install the uploaded wheel:\n{install.ToString().Replace(Stack.Token, "<token>", StringComparison.Ordinal)}");
        var run = await venv.PythonAsync("-c", "import importlib.metadata as m; print(m.version('gh-dep'))");
        Assert.Equal("1.0.0", run.StandardOutput.Trim());
        var reference = await Stack.Storage.ReferenceAsync($"uploads:pypi%2F{_org}-tools", CleanWheel);
        Assert.Equal(("e2e uploader", sha256), (reference?.GetString("Uploader"), reference?.GetString("Sha256")));
    });

    [Fact]
    public Task A_restarted_host_does_not_scan_again_what_its_watcher_saw_but_scans_what_arrived_while_it_was_down() => Stack.RunAsync(output, async () =>
    {
        var seen = $"models/{_org}/restart/first.pkl";
        var seenBytes = MaliciousPickle();
        await WriteWithSdkAsync(seen, seenBytes, uploader: "team-a");
        using var client = Stack.CreateClient();
        Assert.Equal(HttpStatusCode.Forbidden, (await WaitForVerdictAsync(client, seen)).Status);
        var seenSha256 = Convert.ToHexStringLower(SHA256.HashData(seenBytes));
        Assert.Equal((1, 1), (await Stack.Storage.AuditCountAsync("upload", seenSha256), await Stack.Storage.AuditCountAsync("facts", seenSha256)));

        Stack.Host.KillHard();
        Assert.True(await Stack.Host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var later = $"models/{_org}/restart/second.pkl";
        var laterBytes = MaliciousPickle();
        await WriteWithSdkAsync(later, laterBytes, uploader: "team-a");
        await Stack.RestartHostAsync();

        // The blob written while the host was down is found by the restarted watcher (so it does list) ...
        var laterSha256 = Convert.ToHexStringLower(SHA256.HashData(laterBytes));
        Assert.True(await EventuallyAsync(async () => await Stack.Storage.AuditCountAsync("facts", laterSha256) == 1),
            "the restarted watcher did not scan the upload written while the host was down");
        // ... and several passes later the one it saw before is still prepared and scanned once.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal((1, 1), (await Stack.Storage.AuditCountAsync("upload", seenSha256), await Stack.Storage.AuditCountAsync("facts", seenSha256)));
        Assert.Equal(1, await Stack.Storage.AuditCountAsync("upload", laterSha256));
    });

    /// <summary>A protocol-0 pickle that calls <c>os.system</c> when loaded, with a command unique to this run (so its sha256 was never scanned).</summary>
    private static byte[] MaliciousPickle() => Encoding.ASCII.GetBytes($"cos\nsystem\n(S'echo {Guid.NewGuid():N}'\ntR.");

    private static async Task WriteWithSdkAsync(string name, byte[] bytes, string uploader)
    {
        var blob = new BlobServiceClient(TestEnvironment.StorageConnectionString).GetBlobContainerClient("uploads").GetBlobClient(name);
        await blob.UploadAsync(BinaryData.FromBytes(bytes), new BlobUploadOptions { Metadata = new Dictionary<string, string> { ["uploader"] = uploader } });
    }

    /// <summary>GETs the upload until it is no longer being scanned (503), at most two minutes.</summary>
    private async Task<(HttpStatusCode Status, string Body)> WaitForVerdictAsync(HttpClient client, string name)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            using var response = await client.GetAsync("uploads/" + name);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
            {
                output.WriteLine($"GET /uploads/{name}: {(int)response.StatusCode} {(response.StatusCode == HttpStatusCode.OK ? $"{body.Length} bytes" : body)}");
                return (response.StatusCode, body);
            }
            Assert.NotNull(response.Headers.RetryAfter);
            await Task.Delay(500);
        }
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }
            await Task.Delay(500);
        }
        return false;
    }
}
