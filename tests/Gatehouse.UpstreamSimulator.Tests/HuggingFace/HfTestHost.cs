using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.TestHelpers;

namespace Gatehouse.UpstreamSimulator.Tests.HuggingFace;

/// <summary>Reads tests/fixtures/hf/repos.json so tests compare the simulator against the manifest, not literals.</summary>
internal static class HfTestHost
{
    public const string Model = "gatehouse-demo/tiny-model";
    public const string Dataset = "gatehouse-demo/tiny-dataset";

    public static string FixturesPath => Path.Combine(RepositoryPaths.Fixtures, "hf");

    public static JsonElement Manifest { get; } = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixturesPath, "repos.json"))).RootElement;

    public static JsonElement Repo(string id) =>
        Manifest.GetProperty("repos").EnumerateArray().Single(r => r.GetProperty("id").GetString() == id);

    public static string MainHead(string id) => Repo(id).GetProperty("refs").GetProperty("branches").GetProperty("main").GetString()!;

    public static string CommitId(string id, int index) => Repo(id).GetProperty("commits")[index].GetProperty("id").GetString()!;

    public static JsonElement ManifestFile(string id, string path, int commitIndex = 0) =>
        Repo(id).GetProperty("commits")[commitIndex].GetProperty("files").EnumerateArray().Single(f => f.GetProperty("path").GetString() == path);

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path);
        configure?.Invoke(request);
        return await client.SendAsync(request);
    }

    public static async Task PostAsync(HttpClient client, string path)
    {
        using var response = await client.PostAsync(path, null);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
