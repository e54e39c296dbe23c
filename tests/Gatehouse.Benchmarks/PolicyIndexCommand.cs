using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Gatehouse.Policy;
using Gatehouse.Vulnerabilities;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>policyindex --step setup --simulator URL --connection-string CS [--project P] [--versions 500]</c>, then (with the
/// host started) <c>policyindex --step measure --gatehouse URL --token T --policy-file F [--project P] [--versions 500]
/// [--requests 400] [--rounds 2] [--uncached 15] [--reload-seconds 1] [--out F]</c>: the cached
/// project page of a project with 500 releases through the running host, judged by the default policy over OSV
/// advisories that affect ranges of it ("filtered") and by a policy with no rules ("unfiltered"). The releases are
/// made in the upstream simulator, the advisories imported into the host's mirror with the product's OsvImporter, and
/// the policy swapped by rewriting the file the host reloads. An unrecorded warm-up round under both policies comes first. The setup runs before the host starts, so its mirror
/// knows of the import from its first request. Each round measures both, one after the other:
/// sequential GETs with pip's JSON Accept (steady state, the host's 3-second judgement cache in play), then single
/// GETs each made after the judgement cache has expired (the page, its upstream copy and the advisories still cached).
/// </summary>
public static class PolicyIndexCommand
{
    private const string Accept = "application/vnd.pypi.simple.v1+json";
    private const string NoRules = "version: 1\nname: bench-unfiltered\nrules: []\n";
    private const double JudgementCacheSeconds = 3; // SimpleIndexEndpoint.RefusedCacheFor
    private const double RatioTarget = 2;

    public static async Task<int> RunAsync(Arguments args)
    {
        var project = args.Optional("project") ?? "bench-index-500";
        var versions = (int)args.Long("versions", 500);
        var releases = Enumerable.Range(0, versions).Select(Release).ToList();
        return args.Required("step") switch
        {
            "setup" => await SetupAsync(args, project, releases),
            "measure" => await MeasureAsync(args, project, versions),
            var step => throw new ArgumentException($"--step is setup or measure, not {step}"),
        };
    }

    private static async Task<int> SetupAsync(Arguments args, string project, List<string> releases)
    {
        var simulator = args.Required("simulator").TrimEnd('/');
        var versions = releases.Count;
        using var http = Streaming.NewHttpClient();
        // 1. The project upstream: one small wheel per release, uploaded over the past years (no cooldown applies).
        var watch = Stopwatch.StartNew();
        var first = new DateTimeOffset(2021, 1, 4, 10, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < versions; i++)
        {
            var url = string.Create(CultureInfo.InvariantCulture,
                $"{simulator}/_sim/synthetic?project={project}&version={releases[i]}&size=2048&uploadTime={Uri.EscapeDataString(first.AddDays(2 * i).ToString("O", CultureInfo.InvariantCulture))}");
            using var response = await http.PostAsync(url, content: null);
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"simulator refused {project} {releases[i]}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                return 1;
            }
        }
        Console.WriteLine($"simulator: {project} with {versions} releases in {watch.Elapsed.TotalSeconds:F1} s");

        // 2. Its advisories in the mirror, through the importer the refresh uses.
        await using (var zip = new MemoryStream())
        {
            WriteAdvisories(zip, project, releases);
            zip.Position = 0;
            var imported = await OsvBench.Importer(args.Required("connection-string")).ImportAsync(zip, new OsvImportSource("bench:policyindex", null, null), CancellationToken.None);
            Console.WriteLine($"OSV: imported {imported.Records} records for {imported.Projects} project(s)");
        }
        return 0;
    }

    private static async Task<int> MeasureAsync(Arguments args, string project, int versions)
    {
        var gatehouse = args.Required("gatehouse").TrimEnd('/');
        var requests = (int)args.Long("requests", 400);
        var rounds = (int)args.Long("rounds", 2);
        var uncached = (int)args.Long("uncached", 15);
        var policyFile = args.Required("policy-file");
        var reload = TimeSpan.FromSeconds(args.Long("reload-seconds", 1));
        using var http = Streaming.NewHttpClient();

        var pageUrl = $"{gatehouse}/pypi/simple/{project}/";
        async Task<(double Ms, int Files, int Yanked)> GetAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, pageUrl);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", args.Required("token"));
            request.Headers.Accept.ParseAdd(Accept);
            var start = Stopwatch.GetTimestamp();
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
            var body = await response.Content.ReadAsByteArrayAsync();
            var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"GET {pageUrl}: {(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(body)}");
            }
            var files = JsonNode.Parse(body)!["files"]!.AsArray();
            return (ms, files.Count, files.Count(f => f!["yanked"] is JsonValue v && !(v.TryGetValue<bool>(out var b) && !b)));
        }

        var defaultText = PolicyProvider.DefaultText;
        var modes = new (string Name, string Text)[] { ("unfiltered", NoRules), ("filtered", defaultText) };
        var steady = modes.ToDictionary(m => m.Name, _ => new List<double>());
        var cold = modes.ToDictionary(m => m.Name, _ => new List<double>());
        var seconds = modes.ToDictionary(m => m.Name, _ => 0.0);
        var counts = new Dictionary<string, (int Files, int Yanked)>();
        var perRound = modes.ToDictionary(m => m.Name, _ => new JsonArray());
        var loadBefore = Results.LoadAverage();
        // Round 0 is a warm-up under both policies (a fresh host JITs the page's code paths), not recorded.
        for (var round = -1; round < rounds; round++)
        {
            var warmUp = round < 0;
            // The order alternates by round, so a change in the machine's load does not favour one policy.
            foreach (var (name, text) in round % 2 != 0 ? modes : modes.Reverse())
            {
                // The policy in force: written, then waited for until the page shows it (the host checks every reload interval).
                await File.WriteAllTextAsync(policyFile, text);
                var wantVersion = PolicyParser.VersionOf(text);
                var deadline = Stopwatch.StartNew();
                (double Ms, int Files, int Yanked) probe;
                do
                {
                    await Task.Delay(reload);
                    probe = await GetAsync();
                }
                while ((name == "filtered") != (probe.Yanked > 0) && deadline.Elapsed < TimeSpan.FromSeconds(60));
                if ((name == "filtered") != (probe.Yanked > 0))
                {
                    Console.Error.WriteLine($"the host did not take up the {name} policy ({wantVersion}) within a minute: {probe.Yanked} of {probe.Files} yanked");
                    return 1;
                }
                counts[name] = (probe.Files, probe.Yanked);
                for (var i = 0; i < 20; i++)
                {
                    await GetAsync();
                }
                if (warmUp)
                {
                    for (var i = 0; i < requests / 2; i++)
                    {
                        await GetAsync();
                    }
                    continue;
                }
                var phase = Stopwatch.StartNew();
                var thisRound = new List<double>(requests);
                for (var i = 0; i < requests; i++)
                {
                    thisRound.Add((await GetAsync()).Ms);
                }
                seconds[name] += phase.Elapsed.TotalSeconds;
                steady[name].AddRange(thisRound);
                perRound[name].Add(Results.Round(Results.Median(thisRound), 2));
                for (var i = 0; i < uncached; i++)
                {
                    await Task.Delay(TimeSpan.FromSeconds(JudgementCacheSeconds + 0.3));
                    cold[name].Add((await GetAsync()).Ms);
                }
                Console.WriteLine($"round {round + 1} {name}: {counts[name].Yanked} of {counts[name].Files} files yanked; steady p50 {Results.Median(thisRound):F2} ms this round, uncached p50 {Results.Median(cold[name]):F2} ms so far");
            }
        }

        JsonObject Mode(string name)
        {
            // One request per judgement-cache lifetime judges the page again; the rest are served from the cache.
            var recomputed = Math.Min(steady[name].Count, Math.Ceiling(seconds[name] / JudgementCacheSeconds) + rounds);
            return new JsonObject
            {
                ["files"] = counts[name].Files,
                ["yanked"] = counts[name].Yanked,
                ["requests"] = steady[name].Count,
                ["seconds"] = Results.Round(seconds[name], 1),
                ["recomputedAtMost"] = recomputed,
                ["recomputedShare"] = Results.Round(recomputed / steady[name].Count, 3),
                ["p50Ms"] = Results.Round(Percentile(steady[name], 0.50), 2),
                ["p50MsPerRound"] = perRound[name].DeepClone(),
                ["p90Ms"] = Results.Round(Percentile(steady[name], 0.90), 2),
                ["p99Ms"] = Results.Round(Percentile(steady[name], 0.99), 2),
                ["maxMs"] = Results.Round(steady[name].Max(), 2),
                ["uncachedRequests"] = cold[name].Count,
                ["uncachedP50Ms"] = cold[name].Count == 0 ? null : Results.Round(Percentile(cold[name], 0.50), 2),
                ["uncachedMaxMs"] = cold[name].Count == 0 ? null : Results.Round(cold[name].Max(), 2),
            };
        }
        var unfiltered = Mode("unfiltered");
        var filtered = Mode("filtered");
        var ratio = filtered["p50Ms"]!.GetValue<double>() / unfiltered["p50Ms"]!.GetValue<double>();
        double? uncachedRatio = uncached > 0 ? filtered["uncachedP50Ms"]!.GetValue<double>() / unfiltered["uncachedP50Ms"]!.GetValue<double>() : null;
        await File.WriteAllTextAsync(policyFile, NoRules);
        Results.Write(new JsonObject
        {
            ["kind"] = "policyindex",
            ["label"] = $"GET /pypi/simple/{project}/ (JSON), {versions} releases, sequential on one connection, {rounds} rounds of each policy",
            ["command"] = $"GET {pageUrl} with Accept: {Accept} and a Bearer token, one request at a time",
            ["loadBefore"] = loadBefore,
            ["loadAfter"] = Results.LoadAverage(),
            ["unfiltered"] = unfiltered,
            ["filtered"] = filtered,
            ["ratio"] = Results.Round(ratio, 2),
            ["uncachedRatio"] = uncachedRatio is { } r ? Results.Round(r, 2) : null,
            ["targetRatio"] = RatioTarget,
            ["met"] = ratio <= RatioTarget,
        }, args.Optional("out"));
        return 0;
    }

    /// <summary>Release i of 500: 0.0.0 … 4.9.9.</summary>
    private static string Release(int i) => string.Create(CultureInfo.InvariantCulture, $"{i / 100}.{i / 10 % 10}.{i % 10}");

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1))];
    }

    /// <summary>
    /// Five OSV records (https://ossf.github.io/osv-schema/) over ranges of the project: a critical flaw before 0.5.0, a
    /// high one from 1.2.0 to 1.8.0, a backported fix (2.0.0–2.3.0 and 2.5.0–2.7.0, high), a medium one up to 3.5.5
    /// (last_affected) that the default policy only warns about, and a malware report for 4.9.9 alone.
    /// </summary>
    private static void WriteAdvisories(Stream output, string project, IReadOnlyList<string> releases)
    {
        const string Critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        const string High = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N";
        const string Medium = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N";
        var records = new[]
        {
            Record("PYSEC-2026-9001", project, Critical, [("introduced", "0"), ("fixed", "0.5.0")], null),
            Record("GHSA-bnch-0001-hhhh", project, High, [("introduced", "1.2.0"), ("fixed", "1.8.0")], null),
            Record("GHSA-bnch-0002-bbbb", project, High, [("introduced", "2.0.0"), ("fixed", "2.3.0"), ("introduced", "2.5.0"), ("fixed", "2.7.0")], null),
            Record("PYSEC-2026-9002", project, Medium, [("introduced", "3.0.0"), ("last_affected", "3.5.5")], null),
            Record("MAL-2026-9003", project, null, [], [releases[^1]]),
        };
        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var record in records)
        {
            var entry = zip.CreateEntry((string)record["id"]! + ".json");
            using var writer = new StreamWriter(entry.Open());
            writer.Write(record.ToJsonString());
        }
    }

    private static JsonObject Record(string id, string project, string? cvss, (string Type, string Version)[] events, string[]? listed)
    {
        var affected = new JsonObject { ["package"] = new JsonObject { ["ecosystem"] = "PyPI", ["name"] = project } };
        if (events.Length > 0)
        {
            affected["ranges"] = new JsonArray(new JsonObject
            {
                ["type"] = "ECOSYSTEM",
                ["events"] = new JsonArray(events.Select(e => (JsonNode)new JsonObject { [e.Type] = e.Version }).ToArray()),
            });
        }
        if (listed is not null)
        {
            affected["versions"] = new JsonArray(listed.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());
        }
        var record = new JsonObject
        {
            ["schema_version"] = "1.6.0",
            ["id"] = id,
            ["modified"] = "2026-11-01T00:00:00Z",
            ["published"] = "2026-10-01T00:00:00Z",
            ["summary"] = id.StartsWith("MAL-", StringComparison.Ordinal) ? $"Malicious code in {project} (PyPI)" : $"a benchmark advisory for {project}",
            ["affected"] = new JsonArray(affected),
        };
        if (cvss is not null)
        {
            record["severity"] = new JsonArray(new JsonObject { ["type"] = "CVSS_V3", ["score"] = cvss });
        }
        return record;
    }
}
