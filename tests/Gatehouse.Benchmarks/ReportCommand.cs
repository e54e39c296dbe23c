using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Gatehouse.Benchmarks;

/// <summary><c>report --dir D</c>: the Markdown tables for every JSON result in D.</summary>
public static class ReportCommand
{
    private const double RatioTarget = 0.8;
    private const double RssTargetMiB = 300;

    public static int Run(Arguments args)
    {
        var results = Directory.GetFiles(args.Required("dir"), "*.json").Order(StringComparer.Ordinal)
            .Select(f => JsonNode.Parse(File.ReadAllText(f))!.AsObject()).ToList();
        var md = new StringBuilder();
        Throughput(md, results.Where(r => Kind(r) == "throughput"));
        Memory(md, results.Where(r => Kind(r) == "rss"));
        Index(md, results.Where(r => Kind(r) == "wrk"));
        ColdMiss(md, results.Where(r => Kind(r) == "coldmiss"), HashMBps(results));
        Hash(md, results.Where(r => Kind(r) == "hash"));
        ArchiveSafety(md, results.Where(r => Kind(r) == "archivesafety"));
        Staging(md, results.Where(r => Kind(r) == "staging"));
        Scanner(md, results.Where(r => Kind(r) == "scanner"));
        HfLfs(md, results.Where(r => Kind(r) == "hflfs"));
        Prefetch(md, results.Where(r => Kind(r) == "prefetch"));
        Policy(md, results.Where(r => Kind(r) == "policy"));
        PolicyIndex(md, results.Where(r => Kind(r) == "policyindex"));
        OsvImport(md, results.Where(r => Kind(r) == "osvimport"));
        Upload(md, results.Where(r => Kind(r) == "upload"));
        OciCommand.Report(md, results.Where(r => Kind(r).StartsWith("oci-", StringComparison.Ordinal)));
        Console.Write(md.ToString());
        return 0;
    }

    private static void Upload(StringBuilder md, IEnumerable<JsonObject> results)
    {
        foreach (var r in results)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"### 11. Direct upload to verdict ({r["sizeBytes"]!.GetValue<long>():N0} bytes, median of {r["runs"]}, standalone host on Azurite)");
            md.AppendLine();
            md.AppendLine("| from the SDK's write returning to | median | runs |");
            md.AppendLine("|---|---:|---|");
            var samples = r["samples"]!.AsArray();
            md.AppendLine(CultureInfo.InvariantCulture, $"| the content's facts row | {F(r["medianFactsMs"], "F0")} ms | {string.Join(", ", samples.Select(s => F(s!["factsMs"], "F0")))} |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| the upload's decision on its reference | {F(r["medianVerdictMs"], "F0")} ms | {string.Join(", ", samples.Select(s => F(s!["verdictMs"], "F0")))} |");
            md.AppendLine();
        }
    }

    private static string Kind(JsonObject r) => (string?)r["kind"] ?? "";

    private static string F(JsonNode? n, string format = "F1") =>
        n is null ? "–" : n.GetValue<double>().ToString(format, CultureInfo.InvariantCulture);

    private static void Throughput(StringBuilder md, IEnumerable<JsonObject> results)
    {
        foreach (var r in results)
        {
            var size = r["sizeBytes"]!.GetValue<long>();
            md.AppendLine(CultureInfo.InvariantCulture, $"### 1. Cached-file throughput ({size:N0} bytes, median of {r["repeat"]}, MB = 10^6 bytes)");
            md.AppendLine();
            md.AppendLine("| client | through Gatehouse | Azurite direct | ratio | target ≥ 0.8 |");
            md.AppendLine("|---|---:|---:|---:|---|");
            Row(md, ".NET HttpClient vs BlobClient.DownloadStreamingAsync", r["gatehouse"], r["direct"], r["ratio"]);
            Row(md, "curl vs curl + read SAS", r["gatehouse-curl"], r["direct-curl"], r["ratioCurl"]);
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Runs (MB/s): Gatehouse {r["gatehouse"]!["runsMBps"]!.ToJsonString()}, direct {r["direct"]!["runsMBps"]!.ToJsonString()}, " +
                $"Gatehouse curl {r["gatehouse-curl"]!["runsMBps"]!.ToJsonString()}, direct curl {r["direct-curl"]!["runsMBps"]!.ToJsonString()}.");
            md.AppendLine();
        }

        static void Row(StringBuilder md, string client, JsonNode? gatehouse, JsonNode? direct, JsonNode? ratio)
        {
            var ok = ratio!.GetValue<double>() >= RatioTarget ? "met" : "**missed**";
            md.AppendLine(CultureInfo.InvariantCulture, $"| {client} | {F(gatehouse!["medianMBps"])} MB/s | {F(direct!["medianMBps"])} MB/s | {F(ratio, "F2")} | {ok} |");
        }
    }

    private static void Memory(StringBuilder md, IEnumerable<JsonObject> results)
    {
        var byCase = results.GroupBy(r => (string)r["case"]!).ToList();
        if (byCase.Count == 0)
        {
            return;
        }
        md.AppendLine("### 2. Host memory (fresh host process per case; MiB = 2^20 bytes)");
        md.AppendLine();
        md.AppendLine("| case | RSS after start-up | peak RSS (VmHWM) over the whole process life | target < 300 MB |");
        md.AppendLine("|---|---:|---:|---|");
        foreach (var group in byCase)
        {
            var before = group.FirstOrDefault(r => (string?)r["phase"] == "before");
            var after = group.FirstOrDefault(r => (string?)r["phase"] == "after");
            var peak = after?["vmHwmMiB"]?.GetValue<double>() ?? double.NaN;
            // 300 MB read as 300 MiB would be lenient by 14 MB; judge against 300 × 10^6 bytes.
            var ok = peak * 1024 * 1024 < RssTargetMiB * 1e6 ? "met" : "**missed**";
            md.AppendLine(CultureInfo.InvariantCulture, $"| {group.Key} | {F(before?["vmRssMiB"])} MiB | {F(after?["vmHwmMiB"])} MiB | {ok} |");
        }
        md.AppendLine();
    }

    private static void Index(StringBuilder md, IEnumerable<JsonObject> results)
    {
        var list = results.ToList();
        if (list.Count == 0)
        {
            return;
        }
        md.AppendLine("### 3. Cached project page under load (wrk, 2 threads, 32 connections, pip's Accept header and Basic auth)");
        md.AppendLine();
        md.AppendLine("| server | p50 | p75 | p90 | p99 | requests/s | non-2xx | socket errors | host log lines per request |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|---:|");
        foreach (var r in list)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r["label"]} | {F(r["p50Ms"], "F2")} ms | {F(r["p75Ms"], "F2")} ms | {F(r["p90Ms"], "F2")} ms | {F(r["p99Ms"], "F2")} ms | {F(r["requestsPerSecond"], "F0")} | {r["non2xx"]} | {(string?)r["socketErrors"] ?? "none"} | {F(r["hostLogLinesPerRequest"], "F1")} |");
        }
        md.AppendLine();
        foreach (var r in list.Where(r => r["command"] is not null))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"    {r["command"]}");
        }
        md.AppendLine();
    }

    /// <summary>IncrementalHash throughput from the micro-benchmark, to estimate the sha256 share of a fetch.</summary>
    private static double? HashMBps(IEnumerable<JsonObject> results) =>
        results.Where(r => Kind(r) == "hash").SelectMany(r => r["cases"]!.AsArray())
            .FirstOrDefault(c => ((string?)c!["method"])?.Contains("StagingWriter", StringComparison.Ordinal) == true)?["MBps"]?.GetValue<double>();

    private static void ColdMiss(StringBuilder md, IEnumerable<JsonObject> results, double? hashMBps)
    {
        var list = results.ToList();
        if (list.Count == 0)
        {
            return;
        }
        md.AppendLine("### 4. Cold miss: time to first byte, split by the host's log lines (ms)");
        md.AppendLine();
        md.AppendLine("| run | size | TTFB | TTFB ÷ fetch (target ≤ 1.3) | before fetch (request → scheduled + dispatch) | fetch = transfer + sha256 + staging (MB/s) | checks (each, parallel) | promote | fetch end → verdict | verdict → first byte | verdict |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|");
        foreach (var r in list)
        {
            var checks = string.Join(", ", r["checksMs"]!.AsObject().Select(c => $"{c.Key.Replace("Activity", "", StringComparison.Ordinal)} {F(c.Value, "F0")}"));
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r["label"]} | {r["sizeBytes"]!.GetValue<long>() / 1e6:F0} MB | {F(r["ttfbMs"], "F0")} | {F(r["ttfbOverFetch"], "F2")} | {F(r["beforeFetchMs"], "F0")} ({F(r["scheduleMs"], "F0")} + {F(r["dispatchMs"], "F0")}) | {F(r["fetchMs"], "F0")} ({F(r["fetchMBps"], "F0")}) | {checks} | {F(r["promoteMs"], "F0")} | {F(r["orchestrationMs"], "F0")} | {F(r["afterVerdictMs"], "F0")} | {r["decision"]} |");
        }
        foreach (var series in list.Where(r => r["series"] is not null).GroupBy(r => (string)r["series"]!).Where(g => g.Count() > 1))
        {
            var runs = series.ToList();
            double M(string key) => Results.Median(runs.Select(r => r[key]!.GetValue<double>()));
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| **median of {runs.Count}** | {runs[0]["sizeBytes"]!.GetValue<long>() / 1e6:F0} MB | **{M("ttfbMs"):F0}** | **{M("ttfbOverFetch"):F2}** | {M("beforeFetchMs"):F0} ({M("scheduleMs"):F0} + {M("dispatchMs"):F0}) | {M("fetchMs"):F0} ({M("fetchMBps"):F0}) | | {M("promoteMs"):F0} | {M("orchestrationMs"):F0} | {M("afterVerdictMs"):F0} | |");
        }
        md.AppendLine();
        md.AppendLine("The fetch's parts measured alone right after each run (ms): the body read straight from the simulator, the same bytes staged into");
        md.AppendLine("Azurite from memory (StagingWriter itself: 8 MiB blocks, 4 in flight), and sha256 at the micro-benchmark's rate.");
        md.AppendLine();
        md.AppendLine("| run | FetchMs (one pass) | upstream alone | staging alone | sha256 (estimate) |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var r in list)
        {
            var hashMs = hashMBps is { } rate ? r["sizeBytes"]!.GetValue<long>() / 1e6 / rate * 1000 : double.NaN;
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r["label"]} | {F(r["fetchMs"], "F0")} | {F(r["upstreamAloneMs"], "F0")} | {F(r["stagingAloneMs"], "F0")} | {(double.IsNaN(hashMs) ? "–" : hashMs.ToString("F0", CultureInfo.InvariantCulture))} |");
        }
        md.AppendLine();
    }

    private static void ArchiveSafety(StringBuilder md, IEnumerable<JsonObject> results)
    {
        foreach (var r in results)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"### {r["label"]} (BenchmarkDotNet, in process; load {r["load"]})");
            md.AppendLine();
            md.AppendLine("| payload | method | median ms | MB/s (target ≥ 300 for the check) |");
            md.AppendLine("|---|---|---:|---:|");
            foreach (var c in r["cases"]!.AsArray())
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {c!["payload"]} | {c["method"]} | {F(c["medianMs"], "F2")} | {F(c["MBps"], "F0")} |");
            }
            md.AppendLine();
        }
    }

    private static void Staging(StringBuilder md, IEnumerable<JsonObject> results)
    {
        foreach (var r in results)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"### {r["label"]} into this run's Azurite (load {r["load"]})");
            md.AppendLine();
            md.AppendLine("| blocks in flight | block size | median ms | runs ms | MB/s |");
            md.AppendLine("|---:|---:|---:|---|---:|");
            foreach (var c in r["cases"]!.AsArray())
            {
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {c!["blocksInFlight"]} | {c["blockBytes"]!.GetValue<int>() / 1048576} MiB | {F(c["medianMs"], "F0")} | {string.Join(", ", c["runsMs"]!.AsArray())} | {F(c["MBps"], "F0")} |");
            }
            md.AppendLine();
        }
    }

    private static void Scanner(StringBuilder md, IEnumerable<JsonObject> results)
    {
        foreach (var r in results)
        {
            var pickle = r["pickle"]!;
            md.AppendLine(CultureInfo.InvariantCulture,
                $"### 5. Model scanner (BenchmarkDotNet, in-process, 3 warm-ups + 15 iterations; {r["gc"]} GC; load average {r["loadBefore"]} before, {r["loadAfter"]} after)");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Opcode-dense pickle: {pickle["bytes"]!.GetValue<long>():N0} bytes, {pickle["opcodes"]!.GetValue<long>():N0} opcodes ({pickle["source"]}); PickleScanner findings {pickle["pickleScannerFindings"]}, ModelScanner verdict {pickle["modelScannerVerdict"]}.");
            md.AppendLine();
            md.AppendLine("| method | median | mean ± sd | M opcodes/s | MB/s | allocated/op | target ≥ 10 M opcodes/s (picklescan ≈ 0.48) |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---|");
            foreach (var c in pickle["cases"]!.AsArray())
            {
                var ok = c!["MOpcodesPerSecond"]!.GetValue<double>() >= pickle["targetMOpcodesPerSecond"]!.GetValue<double>() ? "met" : "**missed**";
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {c["method"]} | {F(c["medianMs"], "F2")} ms | {F(c["meanMs"], "F2")} ± {F(c["stdDevMs"], "F2")} ms | {F(c["MOpcodesPerSecond"], "F2")} | {F(c["MBps"], "F0")} | {c["allocatedBytesPerOp"]!.GetValue<long>() / 1e6:F1} MB | {ok} |");
            }
            md.AppendLine();
            if (pickle["stopwatch"] is JsonObject sw)
            {
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"Where PickleScanner.Scan's time goes ({sw["runs"]} Stopwatch-timed scans outside BenchmarkDotNet): median {F(sw["medianMs"], "F1")} ms, of which GC pauses {F(sw["gcPauseMsPerScan"], "F1")} ms " +
                    $"({sw["gcPauseShare"]!.GetValue<double>() * 100:F0} %); {F(sw["allocatedMBPerScan"], "F1")} MB allocated and {F(sw["gen0PerScan"], "F1")}/{F(sw["gen1PerScan"], "F1")}/{F(sw["gen2PerScan"], "F1")} gen0/1/2 collections per scan.");
                md.AppendLine();
            }
            if (r["checkpoint"] is not JsonObject checkpoint)
            {
                continue;
            }
            md.AppendLine(CultureInfo.InvariantCulture,
                $"PyTorch checkpoint: {checkpoint["bytes"]!.GetValue<long>():N0} bytes, {checkpoint["source"]}; verdict {checkpoint["verdict"]} ({checkpoint["format"]}). " +
                $"The scan asked for {checkpoint["scannerBytesRequested"]!.GetValue<long>():N0} bytes in {checkpoint["scannerReads"]} reads and {checkpoint["scannerSeeks"]} seeks; " +
                $"under a 64 KiB buffer that is {checkpoint["fileBytesRead"]!.GetValue<long>():N0} bytes read from the file ({checkpoint["fileFractionRead"]!.GetValue<double>() * 100:F2} %).");
            md.AppendLine();
            md.AppendLine("| method | median | mean ± sd | MB/s | allocated/op |");
            md.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var c in checkpoint["cases"]!.AsArray())
            {
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {c!["method"]} | {F(c["medianMs"], "F2")} ms | {F(c["meanMs"], "F2")} ± {F(c["stdDevMs"], "F2")} ms | {F(c["MBps"], "F0")} | {c["allocatedBytesPerOp"]!.GetValue<long>():N0} B |");
            }
            md.AppendLine();
            if (checkpoint["ratio"] is { } ratio)
            {
                var ok = checkpoint["met"]!.GetValue<bool>() ? "met" : "**missed**";
                md.AppendLine(CultureInfo.InvariantCulture, $"(c)/(a) = **{F(ratio, "F3")}** (target ≤ 1.2: {ok}); (b)/(a) = {F(checkpoint["scanOverHash"], "F5")}.");
                md.AppendLine();
            }
        }
    }

    private static void HfLfs(StringBuilder md, IEnumerable<JsonObject> results)
    {
        foreach (var r in results)
        {
            var size = r["sizeBytes"]!.GetValue<long>();
            md.AppendLine(CultureInfo.InvariantCulture, $"### 6. Hugging Face: a {size / 1e9:F1} GB synthetic safetensors file through /hf resolve, cold then warm (one host process; MiB = 2^20 bytes, MB = 10^6 bytes)");
            md.AppendLine();
            md.AppendLine("| phase | time to first byte | total | MB/s | peak RSS (VmHWM) | sampled peak RSS (anon / file / shmem) | RSS at end | target < 300 MB |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
            foreach (var phase in new[] { "cold", "warm" })
            {
                var p = r[phase]!;
                var ok = HfLfsCommand.Peak(p) * 1024 * 1024 < HfLfsCommand.TargetBytes ? "PASS" : "**FAIL**";
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {phase} | {F(p["ttfbMs"], "F0")} ms | {Seconds(p["totalMs"])} | {F(p["MBps"], "F0")} | {F(p["vmHwmMiB"])} MiB (since {p["vmHwmSince"]}) | {F(p["sampledPeakVmRssMiB"])} MiB ({F(p["sampledPeakRssAnonMiB"])} / {F(p["sampledPeakRssFileMiB"])} / {F(p["sampledPeakRssShmemMiB"])}) | {F(p["vmRssAtEndMiB"])} MiB | {ok} |");
            }
            md.AppendLine();
            var cold = r["cold"]!;
            var checks = string.Join(", ", cold["checksMs"]!.AsObject().Select(c => $"{c.Key.Replace("Activity", "", StringComparison.Ordinal)} {F(c.Value, "F0")} ms"));
            var simulator = r["simulatorPeakRssMiB"] is { } sim ? $"; its own peak RSS was {F(sim)} MiB." : ".";
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Overall: peak {F(r["peakMiB"])} MiB = {r["peakMiB"]!.GetValue<double>() * 1024 * 1024 / 1e6:F0} MB → **{(r["met"]!.GetValue<bool>() ? "PASS" : "FAIL")}**. RSS after start-up {F(r["startupRssMiB"])} MiB. " +
                $"Cold: fetch (transfer + sha256 + staging) {Seconds(cold["fetchMs"])}, checks {checks}, promote {F(cold["promoteMs"], "F0")} ms, decision {cold["decision"]}, {cold["retries503"]} × 503. " +
                $"sha256 of both downloads verified. The simulator generated and hashed the file at registration in {Seconds(r["simulatorHashMs"])}{simulator}");
            md.AppendLine();
        }
    }

    private static void Prefetch(StringBuilder md, IEnumerable<JsonObject> results)
    {
        foreach (var r in results)
        {
            var seq = r["sequential"]!;
            var pre = r["prefetch"]!;
            md.AppendLine(CultureInfo.InvariantCulture,
                $"### 7. Hugging Face prefetch of a {r["files"]}-file repo ({r["bytesPerRepo"]!.GetValue<long>() / 1e6:F0} MB: {r["layout"]}) on {r["cores"]} cores");
            md.AppendLine();
            md.AppendLine("| | wall time | sum of per-file times | sum of fetches (host) | sum of scans (model scanner) | host peak RSS |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|");
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| repo A, each file cold through /hf resolve, one at a time | {Seconds(seq["wallMs"])} | {Seconds(seq["sumMs"])} | {Seconds(seq["sumFetchMs"])} | {Seconds(seq["sumScanMs"])} | {F(Peak(seq["rss"]))} MiB |");
            if (pre["wallMs"] is null)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| repo B, POST /admin/prefetch/hf | **not run**: {pre["status"]} — {pre["detail"]} | | | | |");
                md.AppendLine();
                continue;
            }
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| repo B, POST /admin/prefetch/hf → Completed | **{Seconds(pre["wallMs"])}** | – | {Seconds(pre["sumFetchMs"])} (API) | {Seconds(pre["sumScanMs"])} (API), {Seconds(pre["sumHostScanMs"])} (host log) | {F(Peak(pre["rss"]))} MiB |");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Speed-up (sum of sequential single-file times / prefetch wall time): **{F(r["speedup"], "F2")}×** on {r["cores"]} cores, which the host, Azurite, the simulator and this client share. " +
                $"{pre["allowed"]} of {r["files"]} files Allowed; afterwards every file resolved warm ({Seconds(pre["warmGetSumMs"])} for all {r["files"]}). " +
                $"Problems: {(pre["problems"]!.AsArray().Count == 0 ? "none" : string.Join("; ", pre["problems"]!.AsArray().Select(p => (string?)p)))}.");
            md.AppendLine();
        }

        static double Peak(JsonNode? rss) => rss is null ? double.NaN : HfLfsCommand.Peak(rss);
    }

    private static void Policy(StringBuilder md, IEnumerable<JsonObject> results)
    {
        foreach (var r in results)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"### 8. Policy evaluation per file: {r["rules"]} rules, {r["exceptions"]} exceptions, every rule asked (load average {r["loadBefore"]} before, {r["loadAfter"]} after)");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture,
                $"No rule decides (the file is allowed by the default) and {r["warningsPerDecision"]} warn rules hold, each searching the exceptions for a waiver. " +
                $"BenchmarkDotNet (in-process, 5 warm-ups + 30 iterations): percentiles over iteration means; per decision: single decisions each timed with the Stopwatch.");
            md.AppendLine();
            md.AppendLine("| input | mean | p95 (iterations) | p99 (iterations) | p50 per decision | p99 per decision | p99.9 per decision | allocated/decision |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var c in r["cases"]!.AsArray())
            {
                var each = c!["perCall"];
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {c["method"]} | {F(c["meanUs"])} µs | {F(c["p95Us"])} µs | {F(c["p99Us"])} µs | {F(each?["p50Us"])} µs | **{F(each?["p99Us"])} µs** | {F(each?["p999Us"])} µs | {c["allocatedBytesPerOp"]!.GetValue<long>() / 1024.0:F1} KiB |");
            }
            md.AppendLine();
        }
    }

    private static void PolicyIndex(StringBuilder md, IEnumerable<JsonObject> results)
    {
        foreach (var r in results)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"### 9. Project page with the policy: {r["label"]} (load average {r["loadBefore"]} before, {r["loadAfter"]} after)");
            md.AppendLine();
            md.AppendLine("| policy | files (yanked) | requests | p50 | p90 | p99 | max | judged again (at most) | uncached p50 (n) | uncached max |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var (name, label) in new[] { ("unfiltered", "no rules (unfiltered)"), ("filtered", "default policy + OSV (filtered)") })
            {
                var m = r[name]!;
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {label} | {m["files"]} ({m["yanked"]}) | {m["requests"]} | {F(m["p50Ms"], "F2")} ms | {F(m["p90Ms"], "F2")} ms | {F(m["p99Ms"], "F2")} ms | {F(m["maxMs"], "F2")} ms | {m["recomputedAtMost"]} ({m["recomputedShare"]!.GetValue<double>() * 100:F1} %) | {F(m["uncachedP50Ms"], "F2")} ms ({m["uncachedRequests"]}) | {F(m["uncachedMaxMs"], "F2")} ms |");
            }
            md.AppendLine();
            var ok = r["met"]!.GetValue<bool>() ? "met" : "**missed**";
            md.AppendLine(CultureInfo.InvariantCulture,
                $"p50 filtered / unfiltered = **{F(r["ratio"], "F2")}×** (target ≤ {F(r["targetRatio"], "F0")}×: {ok}); with the judgement cache expired before each request: {F(r["uncachedRatio"], "F2")}×.");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture,
                $"p50 per round (ms; the order alternates by round): unfiltered {r["unfiltered"]!["p50MsPerRound"]?.ToJsonString() ?? "–"}, filtered {r["filtered"]!["p50MsPerRound"]?.ToJsonString() ?? "–"}.");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"    {r["command"]}");
            md.AppendLine();
        }
    }

    private static void OsvImport(StringBuilder md, IEnumerable<JsonObject> results)
    {
        foreach (var r in results)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"### 10. OSV import: {r["label"]} ({r["zipBytes"]!.GetValue<long>() / 1e6:F1} MB zip; {r["gc"]} GC; load average {r["loadBefore"]} before, {r["loadAfter"]} after; MiB = 2^20 bytes)");
            md.AppendLine();
            md.AppendLine("| import | wall time | records/s | records (projects) | upserted | unchanged | deleted | RSS at start | peak RSS (VmHWM) | sampled peak RSS (anon) |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var phase in new[] { "first", "reimport" })
            {
                var p = r[phase]!;
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {(phase == "first" ? "first (empty table)" : "re-import (same file)")} | {Seconds(p["wallMs"])} | {F(p["recordsPerSecond"], "F0")} | {p["records"]} ({p["projects"]}) | {p["upserted"]} | {p["unchanged"]} | {p["deleted"]} | {F(p["vmRssAtStartMiB"])} MiB | {F(p["vmHwmMiB"])} MiB (since {p["vmHwmSince"]}) | {F(p["sampledPeakVmRssMiB"])} MiB ({F(p["sampledPeakRssAnonMiB"])}) |");
            }
            md.AppendLine();
        }
    }

    private static string Seconds(JsonNode? ms) =>
        ms is null ? "–" : (ms.GetValue<double>() / 1000).ToString("F1", CultureInfo.InvariantCulture) + " s";

    private static void Hash(StringBuilder md, IEnumerable<JsonObject> results)
    {
        foreach (var r in results)
        {
            md.AppendLine("### SHA-256 over 50 MB in memory (BenchmarkDotNet, in-process, 15 iterations)");
            md.AppendLine();
            md.AppendLine("| method | median | mean ± sd | MB/s |");
            md.AppendLine("|---|---:|---:|---:|");
            foreach (var c in r["cases"]!.AsArray())
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {c!["method"]} | {F(c["medianMs"], "F2")} ms | {F(c["meanMs"], "F2")} ± {F(c["stdDevMs"], "F2")} ms | {F(c["MBps"], "F0")} |");
            }
            md.AppendLine();
        }
    }
}
