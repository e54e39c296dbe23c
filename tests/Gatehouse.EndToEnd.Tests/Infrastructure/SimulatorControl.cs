using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>A file the simulator generated with <c>POST /_sim/synthetic</c>.</summary>
public sealed record SyntheticFile(
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("url")] string Url);

/// <summary>The upstream simulator's <c>/_sim/</c> control plane, driven over HTTP as an out-of-process test would.</summary>
public sealed class SimulatorControl(Uri baseAddress) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(3) };

    public async Task<JsonElement> StatsAsync() => await _http.GetFromJsonAsync<JsonElement>("_sim/stats");

    /// <summary>How many GETs of this file started sending a body upstream.</summary>
    public async Task<int> FileFetchesAsync(string filename) =>
        (await StatsAsync()).GetProperty("fileFetches").TryGetProperty(filename, out var n) ? n.GetInt32() : 0;

    public Task DownAsync() => PostAsync("_sim/down");

    public Task UpAsync() => PostAsync("_sim/up");

    public Task TamperAsync(string filename) => PostAsync($"_sim/tamper?file={Uri.EscapeDataString(filename)}");

    public Task DelayAsync(int milliseconds) => PostAsync($"_sim/delay?ms={milliseconds.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>A valid wheel of <paramref name="size"/> bytes added to the project's index; content is unique to (project, version, size).</summary>
    public async Task<SyntheticFile> SyntheticAsync(string project, string version, long size)
    {
        using var response = await _http.PostAsync(
            $"_sim/synthetic?project={Uri.EscapeDataString(project)}&version={Uri.EscapeDataString(version)}&size={size.ToString(CultureInfo.InvariantCulture)}", null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /_sim/synthetic answered {(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize<SyntheticFile>(body) ?? throw new InvalidOperationException("POST /_sim/synthetic returned nothing.");
    }

    public void Dispose() => _http.Dispose();

    private async Task PostAsync(string path)
    {
        using var response = await _http.PostAsync(path, null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /{path} answered {(int)response.StatusCode}: {body}");
    }
}
