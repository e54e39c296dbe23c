using System.IO.Compression;
using System.Net;
using System.Text;
using Gatehouse.TestHelpers;

namespace Gatehouse.UpstreamSimulator.Tests;

/// <summary>OSV's per-ecosystem exports as the simulator serves them: the fixture zips, records added to their ecosystem's export, 304 per ETag.</summary>
public sealed class OsvExportTests
{
    private static string OsvFolder => Path.Combine(RepositoryPaths.Fixtures, "osv");

    [Theory]
    [InlineData("PyPI", "pypi-fixture.zip", "records")]
    [InlineData("Debian", "debian-fixture.zip", "os-records")]
    [InlineData("Alpine", "alpine-fixture.zip", "os-records")]
    public async Task Each_ecosystems_export_is_its_committed_fixture_zip(string ecosystem, string fixture, string folder)
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        var served = await client.GetByteArrayAsync($"osv/{ecosystem}/all.zip");

        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(OsvFolder, fixture)), served);
        // The zip holds exactly the fixture records of its ecosystem, byte for byte.
        var expected = Directory.GetFiles(Path.Combine(OsvFolder, folder), "*.json")
            .Where(f => File.ReadAllText(f).Contains($"\"ecosystem\": \"{ecosystem}", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(expected);
        var entries = Entries(served);
        Assert.Equal(expected.Select(Path.GetFileName), entries.Keys);
        Assert.All(expected, f => Assert.Equal(File.ReadAllBytes(f), entries[Path.GetFileName(f)]));
    }

    [Fact]
    public async Task A_posted_record_joins_the_export_of_its_first_affected_packages_ecosystem_only()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var before = await ETagsAsync(client);

        using var added = await client.PostAsync("_sim/osv/records", Json("""
            {"id":"DSA-9999-1","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"expat"}}]}
            """));

        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        Assert.Contains("\"ecosystem\":\"Debian\"", await added.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var after = await ETagsAsync(client);
        Assert.Equal(before["PyPI"], after["PyPI"]);
        Assert.Equal(before["Alpine"], after["Alpine"]);
        Assert.NotEqual(before["Debian"], after["Debian"]);
        var debian = Entries(await client.GetByteArrayAsync("osv/Debian/all.zip"));
        Assert.Equal(["DLA-0000-1.json", "DSA-0000-1.json", "DSA-9999-1.json"], debian.Keys);
    }

    [Fact]
    public async Task A_record_without_an_ecosystem_goes_to_PyPI_and_one_of_another_ecosystem_is_refused()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var plain = await client.PostAsync("_sim/osv/records", Json("""{"id":"PYSEC-9999-1","modified":"2026-01-01T00:00:00Z"}"""));
        using var npm = await client.PostAsync("_sim/osv/records", Json("""
            {"id":"GHSA-npm-1","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"left-pad"}}]}
            """));
        using var broken = await client.PostAsync("_sim/osv/records", Json("{ not json"));

        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Contains("PYSEC-9999-1.json", Entries(await client.GetByteArrayAsync("osv/PyPI/all.zip")).Keys);
        Assert.Equal(HttpStatusCode.BadRequest, npm.StatusCode);
        Assert.Contains("npm", await npm.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
    }

    [Fact]
    public async Task Each_export_answers_304_to_its_own_etag()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var etags = await ETagsAsync(client);

        foreach (var (ecosystem, etag) in etags)
        {
            using var same = new HttpRequestMessage(HttpMethod.Get, $"osv/{ecosystem}/all.zip") { Headers = { IfNoneMatch = { new(etag) } } };
            using var other = new HttpRequestMessage(HttpMethod.Get, $"osv/{ecosystem}/all.zip")
            {
                Headers = { IfNoneMatch = { new(etags.First(e => e.Key != ecosystem).Value) } },
            };
            Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(same)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(other)).StatusCode);
        }
        Assert.Equal(3, etags.Values.Distinct(StringComparer.Ordinal).Count());
    }

    private static async Task<Dictionary<string, string>> ETagsAsync(HttpClient client)
    {
        var etags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var ecosystem in new[] { "PyPI", "Debian", "Alpine" })
        {
            using var response = await client.GetAsync($"osv/{ecosystem}/all.zip");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            etags[ecosystem] = response.Headers.ETag!.Tag;
        }
        return etags;
    }

    private static SortedDictionary<string, byte[]> Entries(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        var entries = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var entry in archive.Entries)
        {
            using var body = entry.Open();
            using var copy = new MemoryStream();
            body.CopyTo(copy);
            entries[entry.FullName] = copy.ToArray();
        }
        return entries;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
