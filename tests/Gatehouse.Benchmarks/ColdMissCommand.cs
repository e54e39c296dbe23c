using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>coldmiss</c>: a fresh synthetic wheel, fetched through Gatehouse the way pip does (project page, then the file),
/// with the time to first byte split by the host's own log lines into fetch (transfer + sha256 + staging in one pass),
/// scan orchestration (checks, promotion) and the rest.
/// </summary>
public static class ColdMissCommand
{
    /// <summary>
    /// The <c>Accept</c> pip ≥ 22.2 sends for a project page (pip's <c>src/pip/_internal/index/collector.py</c>).
    /// </summary>
    public const string PipAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

    public static async Task<int> RunAsync(Arguments args)
    {
        var gatehouse = args.Required("gatehouse").TrimEnd('/');
        var token = args.Required("token");
        var project = args.Required("project");
        var log = args.Required("log");
        using var http = Streaming.NewHttpClient();

        var wheel = await SyntheticCommand.CreateAsync(http, args.Required("simulator"), project, args.Required("version"), args.Long("size"));
        Console.Error.WriteLine($"[coldmiss] {wheel.Filename}: {wheel.Size} bytes, sha256 {wheel.Sha256}");

        var pageUrl = $"{gatehouse}/pypi/simple/{project}/";
        var indexStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        using var page = await http.SendAsync(Streaming.Get(pageUrl, token, PipAccept));
        var pageBody = await page.Content.ReadAsStringAsync();
        var indexMs = System.Diagnostics.Stopwatch.GetElapsedTime(indexStarted).TotalMilliseconds;
        if (!page.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET {pageUrl} answered {(int)page.StatusCode}: {pageBody}");
        }
        var fileUrl = FindFileUrl(pageBody, wheel.Filename, pageUrl);

        var download = await Streaming.HttpAsync(http, fileUrl, token);
        if (download.Bytes != wheel.Size)
        {
            throw new InvalidOperationException($"got {download.Bytes} bytes, expected {wheel.Size}");
        }
        var entries = await HostLog.WaitForVerdictAsync(log, wheel.Sha256, TimeSpan.FromSeconds(30));
        var result = Breakdown(args.Optional("label") ?? "coldmiss", args.Optional("series"), wheel, indexMs, download, entries);

        // The two halves of the fetch on their own, afterwards: the upstream body read straight from the simulator, and
        // the same number of bytes staged into Azurite from memory. Hashing is the micro-benchmark's share.
        var upstream = await Streaming.HttpAsync(http, wheel.Url, token: null);
        result["upstreamAloneMs"] = Results.Round(upstream.TotalMs);
        if (args.Optional("connection-string") is { } connectionString)
        {
            result["stagingAloneMs"] = Results.Round(await StagingProbe.RunAsync(connectionString, wheel.Size));
        }
        Results.Write(result, args.Optional("out"));
        return 0;
    }

    public static string FindFileUrl(string pageJson, string filename, string pageUrl)
    {
        using var doc = JsonDocument.Parse(pageJson);
        foreach (var file in doc.RootElement.GetProperty("files").EnumerateArray())
        {
            if (file.GetProperty("filename").GetString() == filename)
            {
                return new Uri(new Uri(pageUrl), file.GetProperty("url").GetString()!).AbsoluteUri;
            }
        }
        throw new InvalidOperationException($"{filename} is not on {pageUrl}");
    }

    private static JsonObject Breakdown(string label, string? series, SyntheticWheel wheel, double indexMs, Download download, IReadOnlyList<HostLogEntry> entries)
    {
        HostLogEntry? Find(string prefix) => entries.FirstOrDefault(e => e.Template.StartsWith(prefix, StringComparison.Ordinal));
        var fetched = Find("Fetched ") ?? throw new InvalidOperationException($"no 'Fetched' log line for {wheel.Sha256}");
        var verdict = Find("Verdict ") ?? throw new InvalidOperationException($"no 'Verdict' log line for {wheel.Sha256}");
        var started = Find("Scan started ");
        var fetchMs = fetched.Number("FetchMs");
        var fetchEnd = fetched.Timestamp;
        var fetchStart = fetchEnd - TimeSpan.FromMilliseconds(fetchMs);
        var firstByte = download.StartedAt + TimeSpan.FromMilliseconds(download.TtfbMs);
        var checks = new JsonObject();
        foreach (var check in entries.Where(e => e.Template.StartsWith("Check ", StringComparison.Ordinal)))
        {
            checks[check.Text("Check")] = Results.Round(check.Number("CheckMs"));
        }
        return new JsonObject
        {
            ["kind"] = "coldmiss",
            ["label"] = label,
            ["series"] = series,
            ["filename"] = wheel.Filename,
            ["sha256"] = wheel.Sha256,
            ["sizeBytes"] = wheel.Size,
            ["decision"] = verdict.Text("Decision"),
            ["container"] = verdict.Text("Container"),
            ["indexPageMs"] = Results.Round(indexMs),
            ["ttfbMs"] = Results.Round(download.TtfbMs),
            ["totalMs"] = Results.Round(download.TotalMs),
            // Request sent → the fetch began: facts and reference lookups, the index (cached), the scan claim, scheduling the
            // content's orchestration, and Durable dispatching it and its fetch activity.
            ["beforeFetchMs"] = Results.Round((fetchStart - download.StartedAt).TotalMilliseconds),
            // Of that: request sent → the orchestration was scheduled; then scheduled → the fetch activity began.
            ["scheduleMs"] = started is null ? null : Results.Round((started.Timestamp - download.StartedAt).TotalMilliseconds),
            ["dispatchMs"] = started is null ? null : Results.Round((fetchStart - started.Timestamp).TotalMilliseconds),
            ["fetchMs"] = Results.Round(fetchMs),
            // The target: a cold file's first byte within 1.3× its fetch (transfer, sha256, staging) alone.
            ["ttfbOverFetch"] = Results.Round(download.TtfbMs / fetchMs, 2),
            ["fetchMBps"] = Results.Round(wheel.Size / 1e6 / (fetchMs / 1000)),
            ["checksMs"] = checks,
            ["promoteMs"] = Results.Round(verdict.Number("PromoteMs")),
            // Fetch end → verdict logged: the checks in parallel, promotion, the facts row, the decision, audit.
            ["orchestrationMs"] = Results.Round((verdict.Timestamp - fetchEnd).TotalMilliseconds),
            // Verdict logged → first byte at the client: the in-process signal wakes the request, facts read, decision, blob opened.
            ["afterVerdictMs"] = Results.Round((firstByte - verdict.Timestamp).TotalMilliseconds),
        };
    }
}
