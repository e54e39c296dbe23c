using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Gatehouse.UpstreamSimulator.Tests;

public sealed class SyntheticWheelTests : IDisposable
{
    private readonly string _dataPath = Path.Combine(Path.GetTempPath(), $"gatehouse-sim-test-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dataPath))
        {
            Directory.Delete(_dataPath, recursive: true);
        }
    }

    [Fact]
    public async Task Synthetic_wheel_is_a_valid_zip_whose_sha256_matches_the_index()
    {
        await using var sim = await SimulatorTestHost.StartAsync(_dataPath);
        using var client = SimulatorTestHost.ClientFor(sim);
        const long requested = 3_000_000;

        using var created = await client.PostAsync($"_sim/synthetic?project=gh-big&version=1.0.0&size={requested}", null);
        using var answer = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        using var index = await SimulatorTestHost.GetWithAcceptAsync(client, "simple/gh-big/", SimulatorTestHost.PipAccept);
        using var indexJson = JsonDocument.Parse(await index.Content.ReadAsStringAsync());
        var entry = indexJson.RootElement.GetProperty("files").EnumerateArray().Single();
        var bytes = await client.GetByteArrayAsync(entry.GetProperty("url").GetString());

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal("gh_big-1.0.0-py3-none-any.whl", answer.RootElement.GetProperty("filename").GetString());
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.Equal(sha256, entry.GetProperty("hashes").GetProperty("sha256").GetString());
        Assert.Equal(sha256, answer.RootElement.GetProperty("sha256").GetString());
        Assert.Equal(bytes.LongLength, answer.RootElement.GetProperty("size").GetInt64());
        Assert.Equal(requested, bytes.LongLength);

        using var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
        var payload = zip.GetEntry("gh_big/payload.bin")!;
        Assert.Equal(payload.Length, payload.CompressedLength); // stored, not deflated
        Assert.True(payload.Length > requested - 4096);
        AssertRecordMatchesContents(zip, "gh_big-1.0.0.dist-info");
        var metadata = ReadEntry(zip, "gh_big-1.0.0.dist-info/METADATA");
        Assert.Equal(
            entry.GetProperty("core-metadata").GetProperty("sha256").GetString(),
            Convert.ToHexStringLower(SHA256.HashData(metadata)));
    }

    [Fact]
    public async Task Synthetic_payload_is_incompressible()
    {
        await using var sim = await SimulatorTestHost.StartAsync(_dataPath);
        var file = await sim.State.AddSyntheticWheelAsync("gh-noise", "0.1", 1_000_000);

        using var compressed = new MemoryStream();
        await using (var deflate = new DeflateStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        await using (var source = File.OpenRead(file.PhysicalPath))
        {
            await source.CopyToAsync(deflate);
        }

        Assert.True(compressed.Length > file.Size * 0.99, $"{file.Size} bytes deflated to {compressed.Length}");
    }

    [Fact]
    public async Task Asking_again_for_the_same_wheel_returns_it_and_a_different_size_conflicts()
    {
        await using var sim = await SimulatorTestHost.StartAsync(_dataPath);
        using var client = SimulatorTestHost.ClientFor(sim);

        using var first = await client.PostAsync("_sim/synthetic?project=gh-big&version=2.0&size=20000", null);
        using var again = await client.PostAsync("_sim/synthetic?project=gh-big&version=2.0&size=20000", null);
        using var conflict = await client.PostAsync("_sim/synthetic?project=gh-big&version=2.0&size=30000", null);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
    }

    [Fact]
    public async Task A_wheel_left_in_the_data_folder_is_reused_with_identical_bytes()
    {
        string firstHash;
        await using (var first = await SimulatorTestHost.StartAsync(_dataPath))
        {
            firstHash = (await first.State.AddSyntheticWheelAsync("gh-big", "3.0", 50_000)).Digests.Sha256;
        }

        await using var second = await SimulatorTestHost.StartAsync(_dataPath);
        var file = await second.State.AddSyntheticWheelAsync("gh-big", "3.0", 50_000);

        Assert.Equal(firstHash, file.Digests.Sha256);
        Assert.Equal(firstHash, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(file.PhysicalPath))));
    }

    [Fact]
    public async Task Synthetic_versions_join_an_existing_project_with_the_given_upload_time()
    {
        await using var sim = await SimulatorTestHost.StartAsync(_dataPath);
        using var client = SimulatorTestHost.ClientFor(sim);

        (await client.PostAsync("_sim/synthetic?project=gh-dep&version=1.2.0&size=10000&uploadTime=2030-01-02T03:04:05.678901Z", null)).Dispose();
        using var index = await SimulatorTestHost.GetWithAcceptAsync(client, "simple/gh-dep/", SimulatorTestHost.PipAccept);
        using var json = JsonDocument.Parse(await index.Content.ReadAsStringAsync());

        Assert.Equal(["1.0.0", "1.1.0", "1.2.0"], json.RootElement.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        var added = json.RootElement.GetProperty("files").EnumerateArray().Last();
        Assert.Equal("gh_dep-1.2.0-py3-none-any.whl", added.GetProperty("filename").GetString());
        Assert.Equal("2030-01-02T03:04:05.678901Z", added.GetProperty("upload-time").GetString());
    }

    internal static void AssertRecordMatchesContents(ZipArchive zip, string distInfo)
    {
        var record = Encoding.UTF8.GetString(ReadEntry(zip, $"{distInfo}/RECORD"));
        var lines = record.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(zip.Entries.Count, lines.Length);
        foreach (var line in lines)
        {
            var parts = line.Split(',');
            if (parts[0] == $"{distInfo}/RECORD")
            {
                Assert.Equal(["", ""], parts[1..]);
                continue;
            }

            var data = ReadEntry(zip, parts[0]);
            var expectedHash = "sha256=" + Convert.ToBase64String(SHA256.HashData(data)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            Assert.Equal(expectedHash, parts[1]);
            Assert.Equal(data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), parts[2]);
        }
    }

    internal static byte[] ReadEntry(ZipArchive zip, string name)
    {
        using var stream = zip.GetEntry(name)?.Open() ?? throw new Xunit.Sdk.XunitException($"No entry {name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
