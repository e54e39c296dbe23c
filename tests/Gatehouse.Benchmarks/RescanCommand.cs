using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Pipeline;
using Gatehouse.TestHelpers;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>rescan --gatehouse URL --admin-token T --connection-string CS [--count 10000] [--out F]</c>: seeds COUNT cached
/// verdicts straight into the references and verdicts tables (allowed, under a policy version that is not the one in
/// force: as after a policy change), then times <c>POST /admin/rescan</c> until <c>GET /admin/rescan</c> reports it
/// completed, and reports verdicts decided again per second.
/// </summary>
public static class RescanCommand
{
    public static async Task<int> RunAsync(Arguments args)
    {
        var count = (int)args.Long("count", 10_000);
        var connection = args.Required("connection-string");
        var seeding = Stopwatch.StartNew();
        await CachedVerdicts.SeedAsync(connection, "bench-rescan", count, "bench-previous-policy", ContentFacts.CurrentVersion, "artifacts");
        Console.WriteLine($"seeded {count:N0} cached verdicts in {seeding.Elapsed.TotalSeconds:F1} s");

        using var http = new HttpClient { BaseAddress = new Uri(args.Required("gatehouse").TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", args.Required("admin-token"));
        var loadBefore = Results.LoadAverage();
        var watch = Stopwatch.StartNew();
        using (var started = await http.PostAsync("admin/rescan", null))
        {
            if (!started.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"POST /admin/rescan answered {(int)started.StatusCode}: {await started.Content.ReadAsStringAsync()}");
                return 2;
            }
        }
        JsonElement status;
        while (true)
        {
            status = await http.GetFromJsonAsync<JsonElement>("admin/rescan");
            var state = status.GetProperty("status").GetString();
            if (state is not ("Running" or "Pending"))
            {
                break;
            }
            await Task.Delay(100);
        }
        var seconds = watch.Elapsed.TotalSeconds;
        if (status.GetProperty("status").GetString() != "Completed")
        {
            Console.Error.WriteLine($"the rescan ended {status}");
            return 2;
        }
        var progress = status.GetProperty("progress");
        var decided = progress.GetProperty("decided").GetInt64();
        var result = new JsonObject
        {
            ["case"] = $"rescan of {count:N0} cached verdicts after a policy change",
            ["seeded"] = count,
            ["examined"] = progress.GetProperty("examined").GetInt64(),
            ["selected"] = progress.GetProperty("selected").GetInt64(),
            ["decided"] = decided,
            ["changed"] = progress.GetProperty("changed").GetInt64(),
            ["failed"] = progress.GetProperty("failed").GetInt64(),
            ["batches"] = progress.GetProperty("batches").GetInt32(),
            ["seconds"] = Results.Round(seconds, 2),
            ["verdictsPerSecond"] = Results.Round(decided / seconds, 0),
            ["loadBefore"] = loadBefore,
            ["loadAfter"] = Results.LoadAverage(),
        };
        Console.WriteLine($"rescan: {decided:N0} verdicts decided again in {seconds:F1} s ({decided / seconds:F0}/s), {progress.GetProperty("changed").GetInt64()} changed, " +
            $"{progress.GetProperty("batches").GetInt32()} batches; load {loadBefore} -> {result["loadAfter"]}");
        Results.Write(result, args.Optional("out"));
        return 0;
    }
}
