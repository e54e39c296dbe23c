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

/// <summary>
/// One file of a synthetic Hugging Face repo: its bytes are a function of (kind, size, seed), or exactly
/// <paramref name="Content"/> (base64) for kind <c>bytes</c>; <paramref name="BytesPerSecond"/> paces its download.
/// </summary>
public sealed record HfSyntheticSpec(string Path, long Size, string Kind, ulong Seed = 0, long? BytesPerSecond = null, string? Content = null)
{
    /// <summary>A file of exactly these bytes (a real wheel, to serve one content through both remotes).</summary>
    public static HfSyntheticSpec Bytes(string path, byte[] bytes) => new(path, bytes.Length, "bytes", Content: Convert.ToBase64String(bytes));
}

/// <summary>A registered synthetic repo: the commit <c>main</c> points at, and each file's sha256.</summary>
public sealed record HfSyntheticRepo(string Commit, IReadOnlyList<HfSyntheticFileDigest> Files)
{
    public string Sha256(string path) => Files.Single(f => f.Path == path).Sha256;
}

/// <summary>A synthetic file as the simulated Hub advertises it.</summary>
public sealed record HfSyntheticFileDigest(string Path, long Size, string Sha256);

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

    /// <summary>
    /// Every upstream request whose path starts with <paramref name="pathPrefix"/> gets a 200 of <paramref name="contentType"/>
    /// with a chunked body of <paramref name="bytes"/> bytes.
    /// </summary>
    public Task FloodAsync(string pathPrefix, long bytes, string contentType) =>
        FaultAsync(pathPrefix, $"kind=flood&bytes={bytes.ToString(CultureInfo.InvariantCulture)}&contentType={Uri.EscapeDataString(contentType)}");

    /// <summary>Those requests get a body that declares <paramref name="bytes"/> bytes, sends half and breaks off.</summary>
    public Task ShortAsync(string pathPrefix, long bytes, string contentType) =>
        FaultAsync(pathPrefix, $"kind=short&bytes={bytes.ToString(CultureInfo.InvariantCulture)}&contentType={Uri.EscapeDataString(contentType)}");

    /// <summary>Those requests get a 302 to <paramref name="location"/>.</summary>
    public Task RedirectAsync(string pathPrefix, string location) => FaultAsync(pathPrefix, $"kind=redirect&location={Uri.EscapeDataString(location)}");

    /// <summary>The index lists a PEP 740 provenance URL for the file, and the simulator serves a document there.</summary>
    public Task ProvenanceAsync(string filename) => PostAsync($"_sim/provenance?file={Uri.EscapeDataString(filename)}");

    private Task FaultAsync(string pathPrefix, string fault) => PostAsync($"_sim/fault?path={Uri.EscapeDataString(pathPrefix)}&{fault}");

    /// <summary>A valid wheel of <paramref name="size"/> bytes added to the project's index; content is unique to (project, version, size).</summary>
    /// <param name="uploadTime">The upload time the index gives the file; now when null.</param>
    public async Task<SyntheticFile> SyntheticAsync(string project, string version, long size, DateTimeOffset? uploadTime = null)
    {
        var uploaded = uploadTime is { } at ? "&uploadTime=" + Uri.EscapeDataString(at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)) : "";
        using var response = await _http.PostAsync(
            $"_sim/synthetic?project={Uri.EscapeDataString(project)}&version={Uri.EscapeDataString(version)}&size={size.ToString(CultureInfo.InvariantCulture)}{uploaded}", null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /_sim/synthetic answered {(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize<SyntheticFile>(body) ?? throw new InvalidOperationException("POST /_sim/synthetic returned nothing.");
    }

    /// <summary>The simulated Hub's counters: <c>resolveHeads</c>, <c>resolveGets</c>, <c>cdnFetches</c> (by sha256), <c>apiCalls</c>.</summary>
    public async Task<JsonElement> HfStatsAsync() => await _http.GetFromJsonAsync<JsonElement>("_sim/hf/stats");

    /// <summary>Entries per page of the simulated Hub's tree (1000 by default), so listings through Gatehouse must follow <c>Link: rel="next"</c>.</summary>
    public Task HfPageSizeAsync(int entries) => PostAsync($"_sim/hf/page-size?n={entries.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>Adds a synthetic Hugging Face model repo (<c>POST /_sim/hf/synthetic</c>) and returns its commit and the files' digests.</summary>
    public async Task<HfSyntheticRepo> HfSyntheticAsync(string repo, params HfSyntheticSpec[] files)
    {
        using var response = await _http.PostAsync("_sim/hf/synthetic", JsonContent.Create(new { repo, type = "model", files }, options: Json));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /_sim/hf/synthetic answered {(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize<HfSyntheticRepo>(body, Json) ?? throw new InvalidOperationException("POST /_sim/hf/synthetic returned nothing.");
    }

    /// <summary>What the simulator's CloudEvents receiver holds: <c>{down, refused, deliveries, events: [{receivedAt, contentType, event}]}</c>.</summary>
    public async Task<JsonElement> EventsAsync() => await _http.GetFromJsonAsync<JsonElement>("_sim/events");

    /// <summary>Every CloudEvent the receiver took, in arrival order (a redelivery is listed again).</summary>
    public async Task<List<JsonElement>> ReceivedEventsAsync() =>
        [.. (await EventsAsync()).GetProperty("events").EnumerateArray().Select(d => d.GetProperty("event"))];

    /// <summary>The receiver answers 503 to every delivery until <see cref="EventsUpAsync"/>.</summary>
    public Task EventsDownAsync() => PostAsync("_sim/events/down");

    public Task EventsUpAsync() => PostAsync("_sim/events/up");

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Adds an OSV record (its JSON) to the simulator's OSV export; a refresh of the mirror imports it.</summary>
    public async Task AddOsvRecordAsync(string json)
    {
        using var response = await _http.PostAsync("_sim/osv/records", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    public void Dispose() => _http.Dispose();

    private async Task PostAsync(string path)
    {
        using var response = await _http.PostAsync(path, null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /{path} answered {(int)response.StatusCode}: {body}");
    }
}
