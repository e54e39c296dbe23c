using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>console --gatehouse URL --admin-token T --connection-string CS [--count 100000] [--warm 50] [--uncached 5]
/// [--quarantine 10] [--search 5] [--pages 5] [--pages-lapsed 3] [--out F]</c>: seeds COUNT references with decisions (<see cref="ConsoleSeed"/>) into
/// the storage of a host that has not answered any of these yet, then times, at the client on the loopback, what the
/// console's pages ask for: <c>GET /admin/stats</c> first (cold), again within its 10 s cache (warm) and again each
/// time the cache has lapsed (a fresh walk in a warm process); <c>GET /admin/quarantine?limit=50</c> (the first page);
/// and <c>GET /admin/artifacts</c> with no text and with a subject. Then, when Debian's chromium is installed, the
/// overview's time to interactive in the browser (<see cref="ConsoleTimeToInteractive"/>), cached and after a lapse.
/// </summary>
public static class ConsoleCommand
{
    /// <summary>How long the host keeps a computed overview (ConsoleStats.CacheFor), plus a margin.</summary>
    private static readonly TimeSpan StatsLapse = TimeSpan.FromSeconds(10.5);

    public static async Task<int> RunAsync(Arguments args)
    {
        var count = (int)args.Long("count", 100_000);
        var seeded = await ConsoleSeed.SeedAsync(args.Required("connection-string"), count);
        Console.WriteLine($"seeded {seeded.References:N0} references ({seeded.Allowed:N0} allowed, {seeded.Quarantined:N0} quarantined, {seeded.Blocked:N0} blocked) " +
            $"in {seeded.Partitions:N0} partitions in {seeded.Elapsed.TotalSeconds:F1} s");

        using var http = new HttpClient { BaseAddress = new Uri(args.Required("gatehouse").TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", args.Required("admin-token"));
        var loadBefore = Results.LoadAverage();

        var (cold, stats) = await TimeAsync(http, "admin/stats");
        var counted = stats.GetProperty("artifacts").GetProperty("count").GetInt64();
        if (counted < count)
        {
            Console.Error.WriteLine($"GET /admin/stats counted {counted} references, fewer than the {count} seeded");
            return 2;
        }
        var warm = new List<double>();
        for (var i = 0; i < args.Long("warm", 50); i++)
        {
            warm.Add((await TimeAsync(http, "admin/stats")).Milliseconds);
        }
        var uncached = new List<double>();
        for (var i = 0; i < args.Long("uncached", 5); i++)
        {
            await Task.Delay(StatsLapse);
            uncached.Add((await TimeAsync(http, "admin/stats")).Milliseconds);
        }
        var quarantine = new List<double>();
        for (var i = 0; i < args.Long("quarantine", 10); i++)
        {
            var (ms, page) = await TimeAsync(http, "admin/quarantine?limit=50");
            quarantine.Add(ms);
            if (page.GetProperty("items").GetArrayLength() != 50)
            {
                Console.Error.WriteLine($"GET /admin/quarantine?limit=50 listed {page.GetProperty("items").GetArrayLength()} items");
                return 2;
            }
        }
        var newest = new List<double>();
        var bySubject = new List<double>();
        for (var i = 0; i < args.Long("search", 5); i++)
        {
            newest.Add((await TimeAsync(http, "admin/artifacts")).Milliseconds);
            bySubject.Add((await TimeAsync(http, "admin/artifacts?q=bench-console-1234")).Milliseconds);
        }

        // The overview in a real browser, as a reviewer sees it at this scale: statistics cached, and after their
        // 10 s lapsed (the last answer is served while one walk refreshes it).
        var readyCached = new List<double>();
        var readyLapsed = new List<double>();
        using (var browser = ConsoleTimeToInteractive.Start(http.BaseAddress!, args.Required("admin-token")))
        {
            if (browser is not null)
            {
                browser.LoadOverview(TimeSpan.FromMinutes(3)); // the first load warms the browser's own caches
                for (var i = 0; i < args.Long("pages", 5); i++)
                {
                    readyCached.Add(browser.LoadOverview(TimeSpan.FromMinutes(3)));
                }
                for (var i = 0; i < args.Long("pages-lapsed", 3); i++)
                {
                    await Task.Delay(StatsLapse);
                    readyLapsed.Add(browser.LoadOverview(TimeSpan.FromMinutes(3)));
                }
            }
        }

        var result = new JsonObject
        {
            ["kind"] = "console",
            ["case"] = $"console admin API over {count:N0} seeded references",
            ["references"] = counted,
            ["seeded"] = JsonSerializer.SerializeToNode(seeded with { Elapsed = default }),
            ["seedSeconds"] = Results.Round(seeded.Elapsed.TotalSeconds, 1),
            ["statsColdMs"] = Results.Round(cold, 0),
            ["statsWarm"] = Summary(warm),
            ["statsCacheLapsed"] = Summary(uncached),
            ["quarantineFirstPage"] = Summary(quarantine),
            ["artifactsNewest"] = Summary(newest),
            ["artifactsBySubject"] = Summary(bySubject),
            ["overviewReadyCached"] = Summary(readyCached),
            ["overviewReadyCacheLapsed"] = Summary(readyLapsed),
            ["loadBefore"] = loadBefore,
            ["loadAfter"] = Results.LoadAverage(),
        };
        Console.WriteLine($"console over {counted:N0} references: stats cold {cold:F0} ms; warm median {Results.Median(warm):F1} ms; " +
            $"cache lapsed median {Results.Median(uncached):F0} ms; quarantine first page median {Results.Median(quarantine):F0} ms; " +
            $"artifacts newest median {Results.Median(newest):F0} ms, by subject {Results.Median(bySubject):F0} ms; " +
            $"overview ready in the browser median {(readyCached.Count == 0 ? "not measured" : $"{Results.Median(readyCached):F0} ms")}, " +
            $"after the cache lapsed {(readyLapsed.Count == 0 ? "not measured" : $"{Results.Median(readyLapsed):F0} ms")}; load {loadBefore} -> {result["loadAfter"]}");
        Results.Write(result, args.Optional("out"));
        return 0;
    }

    private static async Task<(double Milliseconds, JsonElement Body)> TimeAsync(HttpClient http, string path)
    {
        var watch = Stopwatch.StartNew();
        using var response = await http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        var ms = watch.Elapsed.TotalMilliseconds;
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET /{path} answered {(int)response.StatusCode}: {text}");
        }
        return (ms, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Median and 95th percentile (nearest rank) in milliseconds, and the number of requests.</summary>
    private static JsonObject Summary(List<double> ms)
    {
        var sorted = ms.Order().ToArray();
        return new JsonObject
        {
            ["requests"] = sorted.Length,
            ["medianMs"] = sorted.Length == 0 ? null : Results.Round(Results.Median(sorted), 1),
            ["p95Ms"] = sorted.Length == 0 ? null : Results.Round(sorted[Math.Max(0, (int)Math.Ceiling(0.95 * sorted.Length) - 1)], 1),
        };
    }
}
