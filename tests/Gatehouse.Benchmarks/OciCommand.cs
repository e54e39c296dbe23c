using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Sas;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>oci</c>: container images through Gatehouse's <c>/v2/</c> pull API (the OCI distribution spec), against the
/// simulator's synthetic images. <c>--case throughput</c>: one big layer made allowed by a cold pull, then read through
/// Gatehouse and straight from its blob in <c>artifacts</c>, alternating. <c>--case coldpull</c>: fresh images, each
/// pulled once on the running host, the time to the manifest's answer split by the host's log lines into each blob's
/// fetch and read.
/// </summary>
public static class OciCommand
{
    /// <summary>What skopeo and podman send for a manifest (containers/image's <c>manifest.DefaultRequestedManifestMIMETypes</c>, OCI and schema 2).</summary>
    public const string ManifestAccept =
        "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

    public static async Task<int> RunAsync(Arguments args)
    {
        var loadBefore = Results.LoadAverage();
        // Gatehouse's client sends what `docker login` stores: Basic with any user name and the entitlement token as the
        // password. The simulator's controls get their own client, without it.
        // --serving Sas: the host answers a blob with a 302 to a read-only SAS of its blob (the Azure default), and the
        // clients follow it as skopeo, podman and docker do.
        var serving = args.Optional("serving") ?? "Stream";
        using var http = Streaming.NewHttpClient(followRedirects: serving == "Sas");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes("bench:" + args.Required("token"))));
        using var simulator = Streaming.NewHttpClient();
        var result = args.Required("case") switch
        {
            "throughput" => await ThroughputAsync(http, simulator, args, serving),
            "coldpull" => await ColdPullAsync(http, simulator, args),
            var other => throw new ArgumentException($"--case is throughput or coldpull, not '{other}'."),
        };
        result["loadBefore"] = loadBefore;
        result["loadAfter"] = Results.LoadAverage();
        Results.Write(result, args.Optional("out"));
        return 0;
    }

    /// <summary>An image the simulator made (its <c>/_sim/oci/images</c> entry): the manifest's digest and its layers.</summary>
    public sealed record SyntheticImage(string Name, string Tag, string Digest, string ConfigDigest, IReadOnlyList<(string Digest, long Size)> Layers);

    /// <summary>Makes the synthetic image now, so that its generation is not timed by the first pull.</summary>
    public static async Task<SyntheticImage> CreateAsync(HttpClient http, string simulator, string name, string tag)
    {
        var url = $"{simulator.TrimEnd('/')}/_sim/oci/synthetic?name={Uri.EscapeDataString(name)}&tag={Uri.EscapeDataString(tag)}";
        using var response = await http.PostAsync(url, content: null);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"simulator refused the synthetic image {name}:{tag}: {(int)response.StatusCode} {body}");
        }
        var image = JsonNode.Parse(body)!;
        var layers = image["layers"]!.AsArray().Select(l => ((string)l!["digest"]!, (long)l["size"]!)).ToList();
        return new SyntheticImage(name, tag, (string)image["digest"]!, (string)image["configDigest"]!, layers);
    }

    private static async Task<JsonObject> ThroughputAsync(HttpClient http, HttpClient simulator, Arguments args, string serving)
    {
        var gatehouse = args.Required("gatehouse").TrimEnd('/');
        var repeat = (int)args.Long("repeat", 5);
        var image = await CreateAsync(simulator, args.Required("simulator"), args.Optional("image") ?? "synthetic/layer1g", args.Optional("tag") ?? "1.0");
        var (digest, size) = image.Layers.MaxBy(l => l.Size);
        Console.Error.WriteLine($"[oci] {image.Name}:{image.Tag} ({image.Digest}): largest layer {digest}, {size} bytes");

        var cold = await PullManifestAsync(http, gatehouse, image);
        Console.Error.WriteLine($"[oci] cold pull of {image.Name}:{image.Tag}: manifest after {cold:F0} ms");

        var sha256 = digest["sha256:".Length..];
        var blob = ThroughputCommand.Blob(args.Required("connection-string"), "artifacts", sha256);
        var cached = (await blob.GetPropertiesAsync()).Value.ContentLength;
        if (cached != size)
        {
            throw new InvalidOperationException($"artifacts/{sha256} holds {cached} bytes, the layer has {size}");
        }
        var sas = blob.GenerateSasUri(BlobSasPermissions.Read, DateTimeOffset.UtcNow.AddHours(2)).AbsoluteUri;
        var url = $"{gatehouse}/v2/{image.Name}/blobs/{digest}";
        var token = args.Required("token");

        // Both sides read to nowhere and hash nothing; the order alternates so drift on the shared machine hits both alike.
        var runs = new Dictionary<string, List<Download>> { ["gatehouse"] = [], ["direct"] = [], ["gatehouse-curl"] = [], ["direct-curl"] = [] };
        for (var i = 1; i <= repeat; i++)
        {
            await Measure(runs["gatehouse"], i, "gatehouse /v2/ blob (HttpClient, Basic)", () => Streaming.HttpAsync(http, url, token: null));
            await Measure(runs["direct"], i, "Azurite direct (BlobClient)", () => Streaming.BlobAsync(blob));
            await Measure(runs["gatehouse-curl"], i, "gatehouse /v2/ blob (curl)", () => Streaming.CurlAsync(url, token, followRedirects: serving == "Sas"));
            await Measure(runs["direct-curl"], i, "Azurite direct (curl + SAS)", () => Streaming.CurlAsync(sas, null));
        }
        if (runs.Values.SelectMany(r => r).FirstOrDefault(d => d.Bytes != size) is { } wrong)
        {
            throw new InvalidOperationException($"a {wrong.Client} read got {wrong.Bytes} bytes, the layer has {size}");
        }

        var result = new JsonObject
        {
            ["kind"] = "oci-throughput",
            ["serving"] = serving,
            ["label"] = $"{image.Name}:{image.Tag}, its {size:N0}-byte layer",
            ["image"] = $"{image.Name}:{image.Tag}",
            ["layerDigest"] = digest,
            ["sizeBytes"] = size,
            ["repeat"] = repeat,
            ["coldManifestMs"] = Results.Round(cold),
        };
        foreach (var (name, list) in runs)
        {
            result[name] = new JsonObject
            {
                ["medianMBps"] = Results.Round(Results.Median(list.Select(r => r.MBps))),
                // The slowest run's rate: the p95 of the times, nearest rank (with 5 runs, the slowest).
                ["p95MBps"] = Results.Round(size / 1e6 / (NearestRank(list.Select(r => r.TotalMs), 0.95) / 1000)),
                ["medianTtfbMs"] = Results.Round(Results.Median(list.Select(r => r.TtfbMs))),
                ["runsMBps"] = new JsonArray(list.Select(r => (JsonNode)Results.Round(r.MBps)).ToArray()),
            };
        }
        result["ratio"] = Ratio(runs["gatehouse"], runs["direct"]);
        result["ratioCurl"] = Ratio(runs["gatehouse-curl"], runs["direct-curl"]);
        return result;

        static double Ratio(List<Download> through, List<Download> direct) =>
            Results.Round(Results.Median(through.Select(r => r.MBps)) / Results.Median(direct.Select(r => r.MBps)), 2);
    }

    private static async Task Measure(List<Download> runs, int i, string what, Func<Task<Download>> run)
    {
        var download = await run();
        Console.Error.WriteLine($"[oci] run {i} {what}: {download.Bytes} bytes in {download.TotalMs:F0} ms = {download.MBps:F1} MB/s (first byte {download.TtfbMs:F1} ms)");
        runs.Add(download);
    }

    private static double NearestRank(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    /// <summary>GETs the image's manifest through Gatehouse as a client does; the ms until its whole answer, which must be the image's own manifest.</summary>
    private static async Task<double> PullManifestAsync(HttpClient http, string gatehouse, SyntheticImage image)
    {
        var url = $"{gatehouse}/v2/{image.Name}/manifests/{image.Tag}";
        var started = Stopwatch.GetTimestamp();
        using var response = await http.SendAsync(Streaming.Get(url, token: null, ManifestAccept));
        var body = await response.Content.ReadAsByteArrayAsync();
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET {url} answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
        }
        var served = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body));
        if (served != image.Digest)
        {
            throw new InvalidOperationException($"GET {url} served {served}, the simulator's manifest is {image.Digest}");
        }
        return elapsed;
    }

    private static async Task<JsonObject> ColdPullAsync(HttpClient http, HttpClient simulator, Arguments args)
    {
        var gatehouse = args.Required("gatehouse").TrimEnd('/');
        var name = args.Optional("image") ?? "synthetic/layers5x100m";
        var log = args.Required("log");
        // Another tag is another seed in the simulator, so every run's layers are new to Gatehouse.
        var tags = (args.Optional("tags") ?? "cold-1,cold-2,cold-3").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var images = new List<SyntheticImage>();
        foreach (var tag in tags)
        {
            images.Add(await CreateAsync(simulator, args.Required("simulator"), name, tag));
        }
        var layerDigests = images.SelectMany(i => i.Layers.Select(l => l.Digest)).ToList();
        if (layerDigests.Distinct(StringComparer.Ordinal).Count() != layerDigests.Count)
        {
            throw new InvalidOperationException($"the tags {string.Join(", ", tags)} of {name} share layers: the runs would not all be cold");
        }

        var runs = new JsonArray();
        foreach (var image in images)
        {
            var sentAt = DateTimeOffset.UtcNow;
            var manifestMs = await PullManifestAsync(http, gatehouse, image);
            var run = await SplitAsync(log, image, sentAt, manifestMs);
            Console.Error.WriteLine($"[oci] cold pull {image.Name}:{image.Tag}: manifest after {manifestMs:F0} ms; slowest blob fetch+read {run["maxFetchPlusReadMs"]} ms; overhead {run["overheadMs"]} ms");
            runs.Add(run);
        }

        var result = new JsonObject
        {
            ["kind"] = "oci-coldpull",
            ["label"] = $"{name}, {images[0].Layers.Count} layers of {images[0].Layers.Sum(l => l.Size) / images[0].Layers.Count:N0} bytes",
            ["image"] = name,
            ["layers"] = images[0].Layers.Count,
            ["imageBytes"] = images[0].Layers.Sum(l => l.Size),
        };
        foreach (var figure in new[] { "manifestMs", "maxFetchPlusReadMs", "overheadMs", "beforeFirstFetchMs", "fetchesAndReadsMs", "afterLastReadMs", "medianLayerFetchMs", "medianLayerReadMs" })
        {
            result["median" + char.ToUpperInvariant(figure[0]) + figure[1..]] = Results.Round(Results.Median(runs.Select(r => (double)r![figure]!)));
        }
        result["runs"] = runs;
        return result;
    }

    /// <summary>
    /// One cold pull split by the host's log: per blob (the config and each layer) its fetch (transfer, sha256 and
    /// staging in one pass), the wait for a scan slot, and its read as a layer. The blobs run in parallel, so the
    /// orchestration's overhead is the time to the manifest less the slowest blob's fetch + read.
    /// </summary>
    private static async Task<JsonObject> SplitAsync(string log, SyntheticImage image, DateTimeOffset sentAt, double manifestMs)
    {
        var manifestSha = image.Digest["sha256:".Length..];
        var manifestLines = await WaitForAsync(log, manifestSha, "Verdict ");
        var verdict = manifestLines.First(e => e.Template.StartsWith("Verdict ", StringComparison.Ordinal));
        var started = manifestLines.FirstOrDefault(e => e.Template.StartsWith("Scan started ", StringComparison.Ordinal));
        var answeredAt = sentAt + TimeSpan.FromMilliseconds(manifestMs);
        double Since(DateTimeOffset t) => (t - sentAt).TotalMilliseconds;

        var blobs = new JsonArray();
        var timings = new List<(DateTimeOffset FetchStart, DateTimeOffset ReadEnd, double FetchMs, double ReadMs, bool IsLayer)>();
        foreach (var (digest, size, isLayer) in image.Layers.Select(l => (l.Digest, l.Size, true)).Prepend((image.ConfigDigest, 0L, false)))
        {
            var sha = digest["sha256:".Length..];
            // The verdict is logged after every blob's lines, so the config's are in by now when it has any.
            var lines = isLayer ? await WaitForAsync(log, sha, "Layer ") : HostLog.Read(log, sha);
            var fetched = lines.FirstOrDefault(e => e.Template.StartsWith("Fetched ", StringComparison.Ordinal));
            var read = lines.FirstOrDefault(e => e.Template.StartsWith("Layer ", StringComparison.Ordinal));
            if (!isLayer && (fetched is null || read is null))
            {
                continue;
            }
            if (fetched is null || read is null)
            {
                throw new InvalidOperationException($"no 'Fetched' log line for layer {digest} of {image.Name}:{image.Tag}: was it fetched before this run?");
            }
            var fetchMs = fetched.Number("FetchMs");
            var readMs = read.Number("CheckMs");
            var fetchStart = fetched.Timestamp - TimeSpan.FromMilliseconds(fetchMs);
            timings.Add((fetchStart, read.Timestamp, fetchMs, readMs, isLayer));
            blobs.Add(new JsonObject
            {
                ["digest"] = digest,
                ["kind"] = isLayer ? "layer" : "config",
                ["sizeBytes"] = isLayer ? size : (long)fetched.Number("Size"),
                ["fetchMs"] = Results.Round(fetchMs),
                ["fetchMBps"] = isLayer ? Results.Round(size / 1e6 / (fetchMs / 1000)) : null,
                // Fetch end → the read began: waiting for a scan slot (one per core) and opening the staged blob.
                ["waitMs"] = Results.Round((read.Timestamp - TimeSpan.FromMilliseconds(readMs) - fetched.Timestamp).TotalMilliseconds),
                ["readMs"] = Results.Round(readMs),
                ["fetchStartMs"] = Results.Round(Since(fetchStart)),
                ["readEndMs"] = Results.Round(Since(read.Timestamp)),
            });
        }
        var layers = timings.Where(t => t.IsLayer).ToList();
        var maxFetchPlusRead = timings.Max(t => t.FetchMs + t.ReadMs);
        return new JsonObject
        {
            ["tag"] = image.Tag,
            ["manifestDigest"] = image.Digest,
            ["decision"] = verdict.Text("Decision"),
            ["manifestMs"] = Results.Round(manifestMs),
            ["maxFetchPlusReadMs"] = Results.Round(maxFetchPlusRead),
            // The issue's split: the time to the manifest less the slowest blob's fetch + read (they run in parallel).
            ["overheadMs"] = Results.Round(manifestMs - maxFetchPlusRead),
            // The same time on the host's clock: request sent → first blob fetch began (manifest fetched, verified and
            // staged, the scan scheduled, the image's and the blobs' orchestrations dispatched) ...
            ["scheduleMs"] = started is null ? null : Results.Round(Since(started.Timestamp)),
            ["beforeFirstFetchMs"] = Results.Round(Since(timings.Min(t => t.FetchStart))),
            // ... → the last blob read (fetches in parallel, scan slots, reads) ...
            ["fetchesAndReadsMs"] = Results.Round((timings.Max(t => t.ReadEnd) - timings.Min(t => t.FetchStart)).TotalMilliseconds),
            // ... → the manifest's answer at the client (the image judged, facts, decision, promotion, the request woken).
            ["afterLastReadMs"] = Results.Round((answeredAt - timings.Max(t => t.ReadEnd)).TotalMilliseconds),
            ["verdictToAnswerMs"] = Results.Round((answeredAt - verdict.Timestamp).TotalMilliseconds),
            ["medianLayerFetchMs"] = Results.Round(Results.Median(layers.Select(t => t.FetchMs))),
            ["medianLayerReadMs"] = Results.Round(Results.Median(layers.Select(t => t.ReadMs))),
            ["blobs"] = blobs,
        };
    }

    /// <summary>The host's lines naming <paramref name="sha256"/>, once one starting with <paramref name="prefix"/> is among them (the console logger writes asynchronously).</summary>
    private static async Task<IReadOnlyList<HostLogEntry>> WaitForAsync(string log, string sha256, string prefix)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var entries = HostLog.Read(log, sha256);
            if (entries.Any(e => e.Template.StartsWith(prefix, StringComparison.Ordinal)))
            {
                return entries;
            }
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new InvalidOperationException($"no '{prefix.Trim()}' log line for {sha256} in {log} after 30 s");
            }
            await Task.Delay(200);
        }
    }

    /// <summary>The two OCI tables of <c>report</c>.</summary>
    public static void Report(StringBuilder md, IEnumerable<JsonObject> results)
    {
        foreach (var r in results)
        {
            if ((string?)r["kind"] == "oci-throughput")
            {
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"### 14. Container layer, cached, serving mode {r["serving"] ?? "Stream"}: {r["label"]} (median and p95 of {r["repeat"]}, MB = 10^6 bytes; load average {r["loadBefore"]} before, {r["loadAfter"]} after)");
                md.AppendLine();
                md.AppendLine((string?)r["serving"] == "Sas"
                    ? "The host answers the blob with a 302 to a read-only SAS URL of its blob in `artifacts`; both clients follow it, so the figure includes the redirect."
                    : "The host streams the blob's bytes from `artifacts` itself.");
                md.AppendLine();
                md.AppendLine("| client | through Gatehouse (/v2/…/blobs/<digest>) median | p95 | Azurite direct median | p95 | ratio of medians | target ≥ 0.8 |");
                md.AppendLine("|---|---:|---:|---:|---:|---:|---|");
                Row(".NET HttpClient (Basic) vs BlobClient.DownloadStreamingAsync", r["gatehouse"]!, r["direct"]!, r["ratio"]!);
                Row("curl vs curl + read SAS", r["gatehouse-curl"]!, r["direct-curl"]!, r["ratioCurl"]!);
                md.AppendLine();
                md.AppendLine(CultureInfo.InvariantCulture, $"The cold pull that cached it answered the manifest after {N(r["coldManifestMs"], "F0")} ms. Runs (MB/s): Gatehouse {r["gatehouse"]!["runsMBps"]!.ToJsonString()}, direct {r["direct"]!["runsMBps"]!.ToJsonString()}.");
                md.AppendLine();
            }
            else if ((string?)r["kind"] == "oci-coldpull")
            {
                var runs = r["runs"]!.AsArray();
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"### 15. Container image, cold pull: {r["label"]} (median of {runs.Count} fresh images; load average {r["loadBefore"]} before, {r["loadAfter"]} after)");
                md.AppendLine();
                md.AppendLine("| | median | runs |");
                md.AppendLine("|---|---:|---|");
                foreach (var (figure, what) in new[]
                {
                    ("manifestMs", "time to the manifest's answer (cold)"),
                    ("medianLayerFetchMs", "a layer's fetch (transfer, sha256, staging; layers in parallel)"),
                    ("medianLayerReadMs", "a layer's read (tar walk, files judged)"),
                    ("maxFetchPlusReadMs", "slowest blob's fetch + read"),
                    ("overheadMs", "overhead: manifest − slowest fetch + read"),
                    ("beforeFirstFetchMs", "request sent → first blob fetch began"),
                    ("fetchesAndReadsMs", "first fetch began → last layer read"),
                    ("afterLastReadMs", "last layer read → manifest answered"),
                })
                {
                    var key = "median" + char.ToUpperInvariant(figure[0]) + figure[1..];
                    md.AppendLine(CultureInfo.InvariantCulture, $"| {what} | {N(r[key], "F0")} ms | {string.Join(", ", runs.Select(x => N(x![figure], "F0")))} |");
                }
                md.AppendLine();
            }
        }

        void Row(string client, JsonNode through, JsonNode direct, JsonNode ratio)
        {
            var met = ratio.GetValue<double>() >= 0.8 ? "met" : "**missed**";
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {client} | {N(through["medianMBps"])} MB/s | {N(through["p95MBps"])} MB/s | {N(direct["medianMBps"])} MB/s | {N(direct["p95MBps"])} MB/s | {N(ratio, "F2")} | {met} |");
        }

        static string N(JsonNode? n, string format = "F1") => n is null ? "–" : n.GetValue<double>().ToString(format, CultureInfo.InvariantCulture);
    }
}
