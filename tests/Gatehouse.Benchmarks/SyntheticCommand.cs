using System.Globalization;
using System.Text.Json;

namespace Gatehouse.Benchmarks;

/// <summary>A wheel the upstream simulator generated on disk.</summary>
public sealed record SyntheticWheel(string Filename, string Sha256, long Size, string Url);

/// <summary><c>synthetic</c>: asks the simulator for a real wheel of about --size bytes and prints where it is.</summary>
public static class SyntheticCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<int> RunAsync(Arguments args)
    {
        using var http = Streaming.NewHttpClient();
        var wheel = await CreateAsync(http, args.Required("simulator"), args.Required("project"), args.Required("version"), args.Long("size"));
        Console.WriteLine(JsonSerializer.Serialize(wheel, Json));
        return 0;
    }

    public static async Task<SyntheticWheel> CreateAsync(HttpClient http, string simulator, string project, string version, long size)
    {
        var url = $"{simulator.TrimEnd('/')}/_sim/synthetic?project={Uri.EscapeDataString(project)}&version={Uri.EscapeDataString(version)}&size={size.ToString(CultureInfo.InvariantCulture)}";
        using var response = await http.PostAsync(url, content: null);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"simulator refused the synthetic wheel: {(int)response.StatusCode} {body}");
        }
        return JsonSerializer.Deserialize<SyntheticWheel>(body, Json) ?? throw new InvalidOperationException("empty simulator answer");
    }
}
