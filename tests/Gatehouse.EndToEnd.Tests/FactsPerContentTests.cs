using System.Net;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using static Gatehouse.EndToEnd.Tests.Infrastructure.HubResponses;
using static Gatehouse.TestHelpers.ResponseHeaders;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Facts belong to a content, decisions to the reference that asks for it. The same bytes reached through PyPI and
/// through Hugging Face are fetched once and scanned once, and each remote answers with its own decision: gh-evil's
/// wheel is refused in both, whichever asks first; a bare protobuf message is fine as <c>notes.txt</c> and held as
/// <c>saved_model.pb</c> (a graph that is no graph), whichever is asked first. A verdict recorded before facts existed is not trusted: the
/// content is scanned again and decided under today's policy.
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class FactsPerContentTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private const string EvilWheel = "gh_evil-1.0.0-py3-none-any.whl";
    private const string EvilSha256 = "20ad5167cc1db7a87d3aa370bdee03d4a7999b717c1c31f38c55c16da48637b2";
    private const string EvilRule = "install.pth-exec";

    private GatehouseStack Stack => shared.Stack;

    private static string EvilWheelPath => Path.Combine(TestEnvironment.RepoRoot, "tests", "fixtures", "pypi", EvilWheel);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public Task The_same_malicious_wheel_on_both_remotes_is_fetched_once_and_refused_by_both(bool huggingFaceFirst) => Stack.RunAsync(output, async () =>
    {
        await Stack.Storage.ForgetContentAsync(EvilSha256);
        var repo = $"mirror/wheels-{TestEnvironment.UniqueSuffix()}";
        var registered = await Stack.Sim.HfSyntheticAsync(repo, HfSyntheticSpec.Bytes(EvilWheel, await File.ReadAllBytesAsync(EvilWheelPath)));
        Assert.Equal(EvilSha256, registered.Sha256(EvilWheel));
        var before = await FetchesAsync();
        var scansBefore = await Stack.Storage.AuditCountAsync("facts", EvilSha256);

        if (huggingFaceFirst)
        {
            await AssertHfRefusedAsync(repo, EvilWheel, EvilRule);
            await AssertPipRefusedAsync();
        }
        else
        {
            await AssertPipRefusedAsync();
            await AssertHfRefusedAsync(repo, EvilWheel, EvilRule);
        }

        Assert.Equal(before + 1, await FetchesAsync());
        Assert.Equal(scansBefore + 1, await Stack.Storage.AuditCountAsync("facts", EvilSha256));
        Assert.True(await Stack.Storage.BlobExistsAsync(StorageProbe.Quarantine, EvilSha256), "the wheel is not in quarantine");
        Assert.False(await Stack.Storage.BlobExistsAsync(StorageProbe.Artifacts, EvilSha256), "the refused wheel is in artifacts");
        var pypi = await Stack.Storage.PyPIReferenceAsync("gh-evil", EvilWheel);
        var hf = await Stack.Storage.HfReferenceAsync(repo, registered.Commit, EvilWheel);
        foreach (var reference in new[] { pypi, hf })
        {
            Assert.NotNull(reference);
            Assert.Equal("Blocked", reference.GetString("Decision"));
            Assert.Equal(EvilRule, reference.GetString("Rule"));
        }
    });

    [Theory]
    [InlineData("notes.txt", "saved_model.pb")]
    [InlineData("saved_model.pb", "notes.txt")]
    public Task The_same_bytes_are_allowed_as_notes_and_held_as_a_checkpoint_whichever_comes_first(string first, string second) => Stack.RunAsync(output, async () =>
    {
        // The same bytes under two names, new on every run.
        var content = UnrecognisedContent.Protobuf();
        var repo = $"mirror/names-{TestEnvironment.UniqueSuffix()}";
        var registered = await Stack.Sim.HfSyntheticAsync(repo, HfSyntheticSpec.Bytes(first, content), HfSyntheticSpec.Bytes(second, content));
        var sha256 = registered.Sha256(first);
        Assert.Equal(sha256, registered.Sha256(second));

        foreach (var path in new[] { first, second })
        {
            if (path == "notes.txt")
            {
                await AssertHfServedAsync(repo, path, sha256);
            }
            else
            {
                await AssertHfRefusedAsync(repo, path, "container.unrecognised");
            }
        }

        var fetches = (await Stack.Sim.HfStatsAsync()).GetProperty("cdnFetches");
        Assert.Equal(1, fetches.GetProperty(sha256).GetInt32());
        Assert.Equal(1, await Stack.Storage.AuditCountAsync("facts", sha256));
        // Allowed somewhere, so it lives in artifacts; the graph name is still refused.
        Assert.True(await Stack.Storage.BlobExistsAsync(StorageProbe.Artifacts, sha256), "the allowed content is not in artifacts");
        Assert.False(await Stack.Storage.BlobExistsAsync(StorageProbe.Quarantine, sha256), "the content is in quarantine as well as in artifacts");
        await AssertHfRefusedAsync(repo, "saved_model.pb", "container.unrecognised");
        Assert.Equal("Allowed", (await Stack.Storage.HfReferenceAsync(repo, registered.Commit, "notes.txt"))?.GetString("Decision"));
        Assert.Equal("Quarantined", (await Stack.Storage.HfReferenceAsync(repo, registered.Commit, "saved_model.pb"))?.GetString("Decision"));
    });

    [Fact]
    public Task A_verdict_recorded_before_facts_is_not_trusted_and_the_content_is_scanned_again() => Stack.RunAsync(output, async () =>
    {
        // What an earlier Gatehouse left: an allowed verdict row, an allowed reference and the wheel in artifacts.
        await Stack.Storage.ForgetContentAsync(EvilSha256);
        var tables = new TableServiceClient(TestEnvironment.StorageConnectionString);
        var blobs = new BlobServiceClient(TestEnvironment.StorageConnectionString);
        await tables.GetTableClient("verdicts").UpsertEntityAsync(new TableEntity(EvilSha256, "verdict")
        {
            ["Decision"] = "Allowed",
            ["Rule"] = "policy.clean",
            ["Reason"] = "Passed every check",
            ["Subject"] = "gh-evil",
            ["FileName"] = EvilWheel,
            ["Ecosystem"] = "pypi",
            ["DecidedAt"] = DateTimeOffset.UtcNow.AddDays(-30),
        });
        await tables.GetTableClient("references").UpsertEntityAsync(new TableEntity("pypi:gh-evil", EvilWheel)
        {
            ["Sha256"] = EvilSha256,
            ["Decision"] = "Allowed",
            ["Reason"] = "Passed every check",
        });
        await using (var wheel = File.OpenRead(EvilWheelPath))
        {
            await blobs.GetBlobContainerClient(StorageProbe.Artifacts).GetBlobClient(EvilSha256).UploadAsync(wheel, overwrite: true);
        }
        var scansBefore = await Stack.Storage.AuditCountAsync("facts", EvilSha256);

        await AssertPipRefusedAsync();

        var facts = await Stack.Storage.FactsAsync(EvilSha256);
        Assert.NotNull(facts);
        Assert.Equal(scansBefore + 1, await Stack.Storage.AuditCountAsync("facts", EvilSha256));
        Assert.True(await Stack.Storage.BlobExistsAsync(StorageProbe.Quarantine, EvilSha256), "the re-scanned wheel is not in quarantine");
        Assert.False(await Stack.Storage.BlobExistsAsync(StorageProbe.Artifacts, EvilSha256), "the re-scanned wheel is still in artifacts");
        var reference = await Stack.Storage.PyPIReferenceAsync("gh-evil", EvilWheel);
        Assert.Equal("Blocked", reference?.GetString("Decision"));
        Assert.Equal(EvilRule, reference?.GetString("Rule"));
    });

    /// <summary>Upstream fetches of gh-evil's bytes, PyPI's and Hugging Face's together.</summary>
    private async Task<int> FetchesAsync()
    {
        var hf = (await Stack.Sim.HfStatsAsync()).GetProperty("cdnFetches");
        return await Stack.Sim.FileFetchesAsync(EvilWheel) + (hf.TryGetProperty(EvilSha256, out var n) ? n.GetInt32() : 0);
    }

    private async Task AssertPipRefusedAsync()
    {
        using (var client = Stack.CreateClient())
        {
            // The wheel stays listed (as yanked once refused), so a pip always meets it.
            Assert.True(await SimpleIndexPages.ListedWithinAsync(client, "gh-evil", EvilWheel, TimeSpan.FromSeconds(15), listed: true),
                $"{EvilWheel} is not on the index");
        }
        using var venv = await PythonVenv.CreateAsync(output);
        var install = await venv.PipAsync(PythonVenv.InstallArguments(Stack.PipIndexUrl, "gh-evil"));
        output.WriteLine(install.ToString());
        Assert.True(install.ExitCode != 0, $"pip installed gh-evil through Gatehouse:\n{install}");
        Assert.Contains("Blocked by Gatehouse", install.Output, StringComparison.Ordinal);
        Assert.Contains(EvilRule, install.Output, StringComparison.Ordinal);
    }

    private async Task AssertHfRefusedAsync(string repo, string path, string rule)
    {
        using var client = Stack.CreateHfClient();
        using var response = await SendUntilDecidedAsync(client, () => new HttpRequestMessage(HttpMethod.Get, $"hf/{repo}/resolve/main/{path}"), output);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{path} answered {(int)response.StatusCode}: {body}");
        Assert.Equal("GatedRepo", Header(response, "X-Error-Code"));
        Assert.Contains(rule, JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    private async Task AssertHfServedAsync(string repo, string path, string sha256)
    {
        using var client = Stack.CreateHfClient();
        using var response = await SendUntilDecidedAsync(client, () => new HttpRequestMessage(HttpMethod.Get, $"hf/{repo}/resolve/main/{path}"), output);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(sha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
    }
}
