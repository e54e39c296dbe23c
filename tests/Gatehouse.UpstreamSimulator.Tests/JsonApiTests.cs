using System.Net;
using System.Security.Cryptography;
using System.Text.Json;

namespace Gatehouse.UpstreamSimulator.Tests;

public class JsonApiTests
{
    [Fact]
    public async Task Project_endpoint_describes_the_latest_non_yanked_release_and_lists_all_releases()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var json = JsonDocument.Parse(await client.GetStringAsync("pypi/gh-yanked/json"));
        var root = json.RootElement;

        Assert.Equal("2.0.0", root.GetProperty("info").GetProperty("version").GetString());
        Assert.Equal(">=3.8,<4", root.GetProperty("info").GetProperty("requires_python").GetString());
        Assert.False(root.GetProperty("info").GetProperty("yanked").GetBoolean());
        Assert.Equal(["1.0.0", "2.0.0"], root.GetProperty("releases").EnumerateObject().Select(p => p.Name));
        var yankedFile = root.GetProperty("releases").GetProperty("1.0.0")[0];
        Assert.True(yankedFile.GetProperty("yanked").GetBoolean());
        Assert.Equal("broken build", yankedFile.GetProperty("yanked_reason").GetString());
        Assert.Equal("gh_yanked-2.0.0-py3-none-any.whl", root.GetProperty("urls")[0].GetProperty("filename").GetString());
        Assert.Equal(0, root.GetProperty("vulnerabilities").GetArrayLength());
        Assert.True(root.GetProperty("last_serial").GetInt64() > 0);
    }

    [Fact]
    public async Task Version_endpoint_reports_yanking_and_has_no_releases_map()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var json = JsonDocument.Parse(await client.GetStringAsync("pypi/gh-yanked/1.0.0/json"));
        var info = json.RootElement.GetProperty("info");

        Assert.Equal("1.0.0", info.GetProperty("version").GetString());
        Assert.True(info.GetProperty("yanked").GetBoolean());
        Assert.Equal("broken build", info.GetProperty("yanked_reason").GetString());
        Assert.False(json.RootElement.TryGetProperty("releases", out _));
    }

    [Fact]
    public async Task File_entries_carry_Warehouse_digests_and_upload_times()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var json = JsonDocument.Parse(await client.GetStringAsync("pypi/gh-demo/1.0.0/json"));
        var info = json.RootElement.GetProperty("info");
        var files = json.RootElement.GetProperty("urls").EnumerateArray().ToDictionary(f => f.GetProperty("filename").GetString()!);
        var wheel = files["gh_demo-1.0.0-py3-none-any.whl"];
        var bytes = await client.GetByteArrayAsync(wheel.GetProperty("url").GetString());

        Assert.Equal("gh-demo", info.GetProperty("name").GetString());
        Assert.Equal("Gatehouse demo package", info.GetProperty("summary").GetString());
        Assert.Equal(["gh-dep>=1.0"], info.GetProperty("requires_dist").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("bdist_wheel", wheel.GetProperty("packagetype").GetString());
        Assert.Equal("py3", wheel.GetProperty("python_version").GetString());
        Assert.Equal("sdist", files["gh_demo-1.0.0.tar.gz"].GetProperty("packagetype").GetString());
        Assert.Equal("source", files["gh_demo-1.0.0.tar.gz"].GetProperty("python_version").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), wheel.GetProperty("digests").GetProperty("sha256").GetString());
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(bytes)), wheel.GetProperty("digests").GetProperty("md5").GetString());
        Assert.Equal(wheel.GetProperty("digests").GetProperty("md5").GetString(), wheel.GetProperty("md5_digest").GetString());
        Assert.Matches("^[0-9a-f]{64}$", wheel.GetProperty("digests").GetProperty("blake2b_256").GetString());
        Assert.Equal("2024-03-01T12:34:56", wheel.GetProperty("upload_time").GetString());
        Assert.Equal("2024-03-01T12:34:56.123456Z", wheel.GetProperty("upload_time_iso_8601").GetString());
        Assert.Equal(bytes.LongLength, wheel.GetProperty("size").GetInt64());
    }

    [Theory]
    [InlineData("pypi/no-such-project/json")]
    [InlineData("pypi/gh-demo/9.9.9/json")]
    public async Task Unknown_project_or_version_is_404(string path)
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
