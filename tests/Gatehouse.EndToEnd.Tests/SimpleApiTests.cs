using System.Globalization;
using System.Net;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// The PEP 691 JSON project page as uv asks for it; uv's <c>exclude-newer</c> compares each file's upstream
/// <c>upload-time</c> and treats a file without one as unavailable (uv <c>docs/concepts/resolution.md</c>).
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class SimpleApiTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private const string UvAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

    private GatehouseStack Stack => shared.Stack;

    [Fact]
    public Task A_uv_Accept_header_gets_PEP_691_JSON_with_size_upstream_upload_time_versions_PEP_714_core_metadata_and_Vary_Accept() => Stack.RunAsync(output, async () =>
    {
        var expected = FixtureManifest("gh-demo");
        Assert.NotEmpty(expected);

        using var client = Stack.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "pypi/simple/gh-demo/");
        request.Headers.TryAddWithoutValidation("Accept", UvAccept);
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        output.WriteLine(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/vnd.pypi.simple.v1+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Accept", response.Headers.Vary, StringComparer.OrdinalIgnoreCase);

        var page = JsonDocument.Parse(body).RootElement;
        var apiVersion = page.GetProperty("meta").GetProperty("api-version").GetString();
        Assert.NotNull(apiVersion);
        // size, upload-time and versions came with API version 1.1 (PEP 700).
        Assert.True(Version.Parse(apiVersion) >= new Version(1, 1), $"meta.api-version is {apiVersion}; size/upload-time/versions need 1.1");
        Assert.Equal("gh-demo", page.GetProperty("name").GetString());
        Assert.Equal(new[] { "1.0.0" }, page.GetProperty("versions").EnumerateArray().Select(v => v.GetString() ?? "").ToArray());

        var files = page.GetProperty("files").EnumerateArray().ToDictionary(f => f.GetProperty("filename").GetString()!);
        Assert.Equal(expected.Keys.Order(), files.Keys.Order());
        foreach (var (filename, manifest) in expected)
        {
            var file = files[filename];
            Assert.Equal(manifest.Size, file.GetProperty("size").GetInt64());
            Assert.Equal(manifest.Sha256, file.GetProperty("hashes").GetProperty("sha256").GetString());
            // PEP 714: core-metadata, and PyPI's misnamed data-dist-info-metadata beside it; never dist-info-metadata,
            // on which pip 22.3-23.0 (Debian 12's pip) crash with "unhashable type: 'dict'".
            var coreMetadata = file.GetProperty("core-metadata");
            if (filename.EndsWith(".whl", StringComparison.Ordinal))
            {
                Assert.Matches("^[0-9a-f]{64}$", coreMetadata.GetProperty("sha256").GetString());
            }
            else
            {
                Assert.Equal(JsonValueKind.False, coreMetadata.ValueKind); // the simulator serves no metadata for sdists
            }
            Assert.Equal(coreMetadata.GetRawText(), file.GetProperty("data-dist-info-metadata").GetRawText());
            Assert.False(file.TryGetProperty("dist-info-metadata", out _), $"{filename} carries dist-info-metadata");
            // The upstream's upload time, not the time Gatehouse cached the page (cooldown clients depend on it).
            var uploadTime = file.GetProperty("upload-time").GetString();
            Assert.NotNull(uploadTime);
            Assert.Equal(manifest.UploadTime, DateTimeOffset.Parse(uploadTime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal));
        }
    });

    private sealed record ManifestFile(long Size, string Sha256, DateTimeOffset UploadTime);

    /// <summary>The fixture files of a project from tests/fixtures/pypi/index.json, which the simulator serves.</summary>
    private static Dictionary<string, ManifestFile> FixtureManifest(string project)
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestEnvironment.PyPIFixtures, "index.json")));
        return manifest.RootElement.GetProperty("files").EnumerateArray()
            .Where(f => f.GetProperty("project").GetString() == project)
            .ToDictionary(
                f => f.GetProperty("filename").GetString()!,
                f => new ManifestFile(
                    f.GetProperty("size").GetInt64(),
                    f.GetProperty("sha256").GetString()!,
                    DateTimeOffset.Parse(f.GetProperty("upload_time").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)));
    }
}
