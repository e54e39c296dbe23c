using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>prefetch</c> (issue 4): two synthetic repos of 20 files each, the same kinds and sizes with other seeds. Repo A is
/// resolved cold one file at a time through <c>/hf/…/resolve</c>; repo B is prefetched with
/// <c>POST /admin/prefetch/hf</c> and polled until Completed. The report sets the prefetch's wall time beside the sum
/// of the single-file times (and of their scans). Until the prefetch API exists the second half records why it did
/// not run, and the first half still stands.
/// </summary>
public static class PrefetchCommand
{
    /// <summary>Pickle sizes around the mean (mean 1.0): pickles cost the scanner CPU in proportion to their size.</summary>
    private static readonly double[] PickleFactors = [0.5, 0.75, 1.0, 1.25, 1.5, 0.75, 1.0, 1.25];

    private static readonly double[] SafetensorsFactors = [0.5, 0.75, 1.0, 1.25, 1.5, 0.5, 0.75, 1.0, 1.25, 1.5];

    /// <summary>20 files: 2 small regular (non-LFS) text files, 8 pickled .bin shards, 10 safetensors shards.</summary>
    public static List<HfFileSpec> Layout(long pickleBytes, long safetensorsBytes, ulong seedBase)
    {
        var files = new List<HfFileSpec> { new("config.json", "text", 640, seedBase), new("README.md", "text", 960, seedBase + 1) };
        for (var i = 0; i < PickleFactors.Length; i++)
        {
            files.Add(new($"pytorch_model-{i + 1:D5}-of-{PickleFactors.Length:D5}.bin", "pickle", (long)(pickleBytes * PickleFactors[i]), seedBase + 10 + (ulong)i));
        }
        for (var i = 0; i < SafetensorsFactors.Length; i++)
        {
            files.Add(new($"model-{i + 1:D5}-of-{SafetensorsFactors.Length:D5}.safetensors", "safetensors", (long)(safetensorsBytes * SafetensorsFactors[i]), seedBase + 30 + (ulong)i));
        }
        return files;
    }

    public static async Task<int> RunAsync(Arguments args)
    {
        var gatehouse = args.Required("gatehouse").TrimEnd('/');
        var token = args.Required("token");
        var simulator = args.Required("simulator");
        var log = args.Required("log");
        var pid = args.Long("pid");
        var pickleBytes = args.Long("pickle-bytes", 12_000_000);
        var safetensorsBytes = args.Long("safetensors-bytes", 30_000_000);
        var sequentialRepo = args.Optional("sequential-repo") ?? "bench/prefetch-sequential";
        var prefetchRepo = args.Optional("repo") ?? "bench/prefetch";
        var timeout = TimeSpan.FromSeconds(args.Long("timeout-seconds", 1800));
        using var http = Streaming.NewHttpClient();

        var a = await HfClient.RegisterAsync(http, simulator, sequentialRepo, Layout(pickleBytes, safetensorsBytes, 100));
        var b = await HfClient.RegisterAsync(http, simulator, prefetchRepo, Layout(pickleBytes, safetensorsBytes, 200));
        var totalBytes = b.Files.Sum(f => f.Size);
        Console.Error.WriteLine($"[prefetch] two repos of {b.Files.Count} files, {HfClient.Bytes(totalBytes)} bytes each; simulator hashing {a.HashMs + b.HashMs:F0} ms");

        await using var sampler = new RssSampler(pid, TimeSpan.FromMilliseconds(100), args.Optional("samples"));
        sampler.BeginPhase("sequential");
        var sequential = await SequentialAsync(http, gatehouse, token, log, a);
        sequential["rss"] = sampler.Summary(hwmReset: false);

        var reset = sampler.BeginPhase("prefetch");
        var prefetch = await PrefetchAsync(http, gatehouse, token, args.Required("admin-token"), log, b, timeout);
        prefetch["rss"] = sampler.Summary(reset);

        var sequentialMs = sequential["sumMs"]!.GetValue<double>();
        var result = new JsonObject
        {
            ["kind"] = "prefetch",
            ["cores"] = Environment.ProcessorCount,
            ["files"] = b.Files.Count,
            ["bytesPerRepo"] = totalBytes,
            ["layout"] = Describe(Layout(pickleBytes, safetensorsBytes, 200)),
            ["pickleMeanBytes"] = pickleBytes,
            ["safetensorsMeanBytes"] = safetensorsBytes,
            ["simulatorHashMs"] = Results.Round(a.HashMs + b.HashMs),
            ["sequential"] = sequential,
            ["prefetch"] = prefetch,
            ["speedup"] = prefetch["wallMs"] is { } wall ? Results.Round(sequentialMs / wall.GetValue<double>(), 2) : null,
        };
        Results.Write(result, args.Optional("out"));
        Console.Error.WriteLine(prefetch["wallMs"] is { } w
            ? $"[prefetch] sequential sum {sequentialMs / 1000:F1} s; prefetch wall {w.GetValue<double>() / 1000:F1} s; speed-up {result["speedup"]} on {Environment.ProcessorCount} cores"
            : $"[prefetch] sequential sum {sequentialMs / 1000:F1} s; prefetch NOT RUN: {prefetch["status"]} ({prefetch["detail"]})");
        return 0;
    }

    /// <summary>Each file cold, one after the other: time from the first request to the last byte, plus the host's fetch and scan lines.</summary>
    private static async Task<JsonObject> SequentialAsync(HttpClient http, string gatehouse, string token, string log, HfSyntheticRepo repo)
    {
        var files = new JsonArray();
        var started = Stopwatch.GetTimestamp();
        double sum = 0, scans = 0, fetches = 0;
        foreach (var file in repo.Files)
        {
            var download = await HfClient.ResolveAsync(http, HfClient.ResolveUrl(gatehouse, repo.Repo, file.Path), token);
            HfClient.Verify(download, file, $"cold GET of {file.Path}");
            var (fetchMs, scanMs, decision) = await HostFiguresAsync(log, file.Sha256);
            sum += download.TotalMs;
            scans += scanMs ?? 0;
            fetches += fetchMs ?? 0;
            files.Add(new JsonObject
            {
                ["path"] = file.Path,
                ["kind"] = file.Kind,
                ["size"] = file.Size,
                ["ms"] = Results.Round(download.TotalMs),
                ["ttfbMs"] = Results.Round(download.TtfbMs),
                ["retries503"] = download.Retries,
                ["fetchMs"] = fetchMs is null ? null : Results.Round(fetchMs.Value),
                ["scanMs"] = scanMs is null ? null : Results.Round(scanMs.Value),
                ["decision"] = decision,
            });
            Console.Error.WriteLine($"[prefetch] sequential {file.Path}: {download.TotalMs:F0} ms (scan {scanMs:F0} ms, {decision})");
        }
        return new JsonObject
        {
            ["repo"] = repo.Repo,
            ["sumMs"] = Results.Round(sum),
            ["wallMs"] = Results.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds),
            ["sumFetchMs"] = Results.Round(fetches),
            ["sumScanMs"] = Results.Round(scans),
            ["files"] = files,
        };
    }

    /// <summary>POST, then poll the status URL until Completed or Failed; checks every file's sha256 and that each now resolves warm.</summary>
    private static async Task<JsonObject> PrefetchAsync(HttpClient http, string gatehouse, string token, string adminToken, string log, HfSyntheticRepo repo, TimeSpan timeout)
    {
        var result = new JsonObject { ["repo"] = repo.Repo };
        var started = Stopwatch.GetTimestamp();
        using var post = new HttpRequestMessage(HttpMethod.Post, $"{gatehouse}/admin/prefetch/hf")
        {
            Content = JsonContent.Create(new { repo = repo.Repo, revision = "main", repoType = "model" }),
        };
        post.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        using var accepted = await http.SendAsync(post);
        var acceptedBody = await accepted.Content.ReadAsStringAsync();
        if (accepted.StatusCode != HttpStatusCode.Accepted)
        {
            result["status"] = accepted.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed ? "api-missing" : "refused";
            result["detail"] = $"POST /admin/prefetch/hf answered {(int)accepted.StatusCode} {acceptedBody[..Math.Min(acceptedBody.Length, 300)]}".TrimEnd();
            return result;
        }

        var statusUrl = JsonNode.Parse(acceptedBody)!["statusUrl"]!.GetValue<string>();
        statusUrl = new Uri(new Uri(gatehouse + "/"), statusUrl).AbsoluteUri;
        result["acceptedMs"] = Results.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        var progress = new JsonArray();
        JsonNode status;
        string? state;
        while (true)
        {
            using var poll = new HttpRequestMessage(HttpMethod.Get, statusUrl);
            poll.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            using var response = await http.SendAsync(poll);
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"GET {statusUrl} answered {(int)response.StatusCode}: {body}");
            }
            status = JsonNode.Parse(body)!;
            state = (string?)status["status"];
            var elapsed = Stopwatch.GetElapsedTime(started);
            progress.Add(new JsonObject
            {
                ["ms"] = Results.Round(elapsed.TotalMilliseconds, 0),
                ["status"] = state,
                ["filesDone"] = status["progress"]?["filesDone"]?.DeepClone(),
                ["bytesDone"] = status["progress"]?["bytesDone"]?.DeepClone(),
            });
            if (state is "Completed" or "Failed" || elapsed > timeout)
            {
                break;
            }
            await Task.Delay(200);
        }
        var wallMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        result["status"] = state;
        result["commit"] = status["commit"]?.DeepClone();
        result["error"] = status["error"]?.DeepClone();
        result["progress"] = Thin(progress);
        if (state != "Completed")
        {
            result["detail"] = state is "Failed" ? $"the prefetch failed: {status["error"]?.ToJsonString()}" : $"not Completed within {timeout.TotalSeconds:F0} s";
            return result;
        }
        result["wallMs"] = Results.Round(wallMs);

        // Per file: the API's own figures, checked against what the simulator advertised, and the host's scan line.
        var reported = (status["files"] as JsonArray ?? []).Where(f => f is not null).ToDictionary(f => (string)f!["path"]!, f => f!);
        var files = new JsonArray();
        double sumFetch = 0, sumScan = 0, sumHostScan = 0, warmSum = 0;
        var problems = new List<string>();
        foreach (var file in repo.Files)
        {
            if (!reported.TryGetValue(file.Path, out var entry))
            {
                problems.Add($"{file.Path} missing from the status");
                continue;
            }
            if ((string?)entry["sha256"] != file.Sha256 || (long?)entry["size"] != file.Size)
            {
                problems.Add($"{file.Path}: status says sha256 {entry["sha256"]}, size {entry["size"]}; simulator {file.Sha256}, {file.Size}");
            }
            var fetchMs = Number(entry["fetchMs"]);
            var scanMs = Number(entry["scanMs"]);
            sumFetch += fetchMs ?? 0;
            sumScan += scanMs ?? 0;
            var (_, hostScanMs, _) = await HostFiguresAsync(log, file.Sha256);
            sumHostScan += hostScanMs ?? 0;
            // Afterwards the file must be served at once, from the cache the prefetch filled (a 503 here is a problem, not a wait).
            double? warmMs = null;
            try
            {
                var warm = await HfClient.ResolveAsync(http, HfClient.ResolveUrl(gatehouse, repo.Repo, file.Path), token, maxRetries: 0);
                HfClient.Verify(warm, file, $"GET after prefetch of {file.Path}");
                warmMs = warm.TotalMs;
                warmSum += warm.TotalMs;
            }
            catch (InvalidOperationException e)
            {
                problems.Add(e.Message);
            }
            files.Add(new JsonObject
            {
                ["path"] = file.Path,
                ["kind"] = file.Kind,
                ["size"] = file.Size,
                ["decision"] = entry["decision"]?.DeepClone(),
                ["fetchMs"] = fetchMs,
                ["scanMs"] = scanMs,
                ["hostScanMs"] = hostScanMs is null ? null : Results.Round(hostScanMs.Value),
                ["warmGetMs"] = warmMs is null ? null : Results.Round(warmMs.Value),
            });
        }
        result["sumFetchMs"] = Results.Round(sumFetch);
        result["sumScanMs"] = Results.Round(sumScan);
        result["sumHostScanMs"] = Results.Round(sumHostScan);
        result["warmGetSumMs"] = Results.Round(warmSum);
        result["allowed"] = files.Count(f => (string?)f!["decision"] == "Allowed");
        result["problems"] = new JsonArray(problems.Select(p => (JsonNode?)p).ToArray());
        result["files"] = files;
        return result;
    }

    /// <summary>FetchMs, the model scanner's CheckMs and the decision from the host's log lines for one content.</summary>
    private static async Task<(double? FetchMs, double? ScanMs, string? Decision)> HostFiguresAsync(string log, string sha256)
    {
        var entries = await HostLog.WaitForVerdictAsync(log, sha256, TimeSpan.FromSeconds(10));
        var fetched = entries.FirstOrDefault(e => e.Template.StartsWith("Fetched ", StringComparison.Ordinal));
        var scan = entries.FirstOrDefault(e => e.Template.StartsWith("Check ", StringComparison.Ordinal) && e.Text("Check") == "ModelContentActivity");
        var verdict = entries.FirstOrDefault(e => e.Template.StartsWith("Verdict ", StringComparison.Ordinal));
        return (fetched?.Number("FetchMs"), scan?.Number("CheckMs"), verdict?.Text("Decision"));
    }

    private static double? Number(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    /// <summary>At most ~50 progress samples, evenly spread, always keeping the last.</summary>
    private static JsonArray Thin(JsonArray samples)
    {
        var step = Math.Max(1, samples.Count / 50);
        var kept = samples.Where((_, i) => i % step == 0 || i == samples.Count - 1).Select(s => s!.DeepClone()).ToArray();
        return new JsonArray(kept);
    }

    /// <summary>"2 text (640 B–960 B), 8 pickle (6.0 MB–18.0 MB), …".</summary>
    public static string Describe(IEnumerable<HfFileSpec> files) =>
        string.Join(", ", files.GroupBy(f => f.Kind).Select(g => $"{g.Count()} {g.Key} ({Size(g.Min(f => f.Size))}–{Size(g.Max(f => f.Size))})"));

    private static string Size(long bytes) =>
        bytes < 1_000_000 ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B") : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:F1} MB");
}
