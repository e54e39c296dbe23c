using System.Globalization;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Gatehouse.Scanning;
using Gatehouse.Scanning.Pickle;
using Gatehouse.Tests.Shared;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>scanner [--pickle F [--pickle-opcodes N]] [--checkpoint F [--checkpoint-source S]] [--out F] [--artifacts DIR]
/// [BenchmarkDotNet args]</c>: issue 3's two performance targets for Gatehouse.Scanning, measured with BenchmarkDotNet
/// in process. The pickle is generated in memory (byte for byte CPython's); a --pickle file written by Python is
/// checked to be identical and used instead. Without --checkpoint only the pickle is measured.
/// </summary>
public static class ScannerCommand
{
    private const double OpcodesTarget = 10e6;
    private const double RatioTarget = 1.2;
    private const double PicklescanOpcodesPerSecond = 0.48e6; // issue 3's figure for picklescan on this machine

    public static async Task<int> RunAsync(string[] args)
    {
        var parsed = BenchmarkDotNetArgs.Parse(args, "pickle", "pickle-opcodes", "checkpoint", "checkpoint-source");
        string? output = parsed.Get("out"), pickleFile = parsed.Get("pickle"), checkpoint = parsed.Get("checkpoint"), checkpointSource = parsed.Get("checkpoint-source");
        long? pickleOpcodes = parsed.Get("pickle-opcodes") is { } counted ? long.Parse(counted, CultureInfo.InvariantCulture) : null;

        // 1. The pickle, and a check that it is the benchmark's pickle and that the scanner calls it Safe.
        var (pickle, opcodes) = LargeDictPickle.Create(200_000);
        var pickleSource = "generated in memory (LargeDictPickle, CPython's protocol-4 layout)";
        if (pickleFile is not null)
        {
            var fromPython = await File.ReadAllBytesAsync(pickleFile);
            if (!fromPython.AsSpan().SequenceEqual(pickle))
            {
                Console.Error.WriteLine($"{pickleFile} ({fromPython.Length:N0} bytes) differs from the generated pickle ({pickle.Length:N0} bytes).");
                return 1;
            }
            pickleSource = $"{Path.GetFileName(pickleFile)} from python3 pickle.dumps, byte-identical to the in-memory generator";
        }
        if (pickleOpcodes is { } byPython && byPython != opcodes)
        {
            Console.Error.WriteLine($"pickletools counts {byPython:N0} opcodes, the generator {opcodes:N0}.");
            return 1;
        }
        var pickleFindings = new PickleScanner(new ScanLimits()).Scan(new MemoryStream(pickle, writable: false), null);
        var pickleReport = await new ModelScanner().ScanAsync(new MemoryStream(pickle, writable: false), "b02-dict-200000.pkl", CancellationToken.None);
        Console.WriteLine($"pickle: {pickle.Length:N0} bytes, {opcodes:N0} opcodes; PickleScanner findings {pickleFindings.Count}, ModelScanner verdict {pickleReport.Verdict} ({pickleReport.Format})");
        var gcBreakdown = GcBreakdown(pickle);
        Console.WriteLine($"pickle, 10 timed scans outside BenchmarkDotNet: {gcBreakdown.ToJsonString()}");

        // 2. The checkpoint: verdict, and what the scan reads of it.
        JsonObject? checkpointInfo = null;
        if (checkpoint is not null)
        {
            checkpointInfo = await ProbeCheckpointAsync(checkpoint, checkpointSource);
            Console.WriteLine($"checkpoint: {checkpointInfo.ToJsonString()}");
        }

        // 3. BenchmarkDotNet, in process (no generated project to build), as the hash command does.
        PickleScanBenchmarks.Pickle = pickle;
        CheckpointScanBenchmarks.CheckpointPath = checkpoint ?? "";
        Type[] types = checkpoint is null ? [typeof(PickleScanBenchmarks)] : [typeof(PickleScanBenchmarks), typeof(CheckpointScanBenchmarks)];
        var loadBefore = Results.LoadAverage();
        var summaries = BenchmarkRunner.Run(types, parsed.Config(3, 15), parsed.PassThrough);
        var loadAfter = Results.LoadAverage();
        var reports = summaries.SelectMany(s => s.Reports).Where(r => r.ResultStatistics is not null).ToList();
        if (reports.Count == 0)
        {
            Console.Error.WriteLine("BenchmarkDotNet produced no results.");
            return 1;
        }

        // 4. The figures.
        var pickleCases = new JsonArray();
        foreach (var report in reports.Where(r => r.BenchmarkCase.Descriptor.Type == typeof(PickleScanBenchmarks)))
        {
            var seconds = report.ResultStatistics!.Median / 1e9;
            var row = Case(report);
            row["MOpcodesPerSecond"] = Results.Round(opcodes / seconds / 1e6, 2);
            row["MBps"] = Results.Round(pickle.Length / 1e6 / seconds);
            pickleCases.Add(row);
        }
        var result = new JsonObject
        {
            ["kind"] = "scanner",
            ["label"] = "Gatehouse.Scanning: opcode-dense pickle and a PyTorch checkpoint (BenchmarkDotNet, in-process)",
            ["loadBefore"] = loadBefore,
            ["loadAfter"] = loadAfter,
            ["gc"] = System.Runtime.GCSettings.IsServerGC ? "server" : "workstation",
            ["pickle"] = new JsonObject
            {
                ["source"] = pickleSource,
                ["bytes"] = pickle.Length,
                ["opcodes"] = opcodes,
                ["pickleScannerFindings"] = pickleFindings.Count,
                ["modelScannerVerdict"] = pickleReport.Verdict.ToString(),
                ["stopwatch"] = gcBreakdown,
                ["picklescanMOpcodesPerSecond"] = PicklescanOpcodesPerSecond / 1e6,
                ["targetMOpcodesPerSecond"] = OpcodesTarget / 1e6,
                ["cases"] = pickleCases,
            },
        };
        var scan = pickleCases.FirstOrDefault(c => (string?)c!["method"] == PickleScanBenchmarks.ScanMethod);
        if (scan is not null)
        {
            var rate = scan["MOpcodesPerSecond"]!.GetValue<double>() * 1e6;
            result["pickle"]!["met"] = rate >= OpcodesTarget;
            result["pickle"]!["timesPicklescan"] = Results.Round(rate / PicklescanOpcodesPerSecond);
        }

        if (checkpointInfo is not null)
        {
            var checkpointCases = new JsonArray();
            double? hashMs = null, bothMs = null, scanMs = null;
            foreach (var report in reports.Where(r => r.BenchmarkCase.Descriptor.Type == typeof(CheckpointScanBenchmarks)))
            {
                var row = Case(report);
                var ms = report.ResultStatistics!.Median / 1e6;
                if ((string?)row["method"] != CheckpointScanBenchmarks.ScanMethod)
                {
                    // The whole file per second; for the scan alone that would count bytes it never reads.
                    row["MBps"] = Results.Round(checkpointInfo["bytes"]!.GetValue<long>() / 1e6 / (ms / 1000));
                }
                checkpointCases.Add(row);
                switch ((string?)row["method"])
                {
                    case CheckpointScanBenchmarks.HashMethod:
                        hashMs = ms;
                        break;
                    case CheckpointScanBenchmarks.ScanMethod:
                        scanMs = ms;
                        break;
                    case CheckpointScanBenchmarks.BothMethod:
                        bothMs = ms;
                        break;
                }
            }
            checkpointInfo["cases"] = checkpointCases;
            if (hashMs is { } a && bothMs is { } c)
            {
                checkpointInfo["ratio"] = Results.Round(c / a, 3);
                checkpointInfo["targetRatio"] = RatioTarget;
                checkpointInfo["met"] = c / a <= RatioTarget;
            }
            if (hashMs is { } h && scanMs is { } s)
            {
                checkpointInfo["scanOverHash"] = Results.Round(s / h, 5);
            }
            result["checkpoint"] = checkpointInfo;
        }
        Results.Write(result, output);
        return 0;
    }

    /// <summary>
    /// Where the pickle scan's time goes, roughly: 10 scans after 3 warm-ups, timed with a Stopwatch, with the GC's pause
    /// time and collection counts over the same scans (the rest is the symbolic machine itself).
    /// </summary>
    private static JsonObject GcBreakdown(byte[] pickle)
    {
        const int Runs = 10;
        var scanner = new PickleScanner(new ScanLimits());
        for (var i = 0; i < 3; i++)
        {
            scanner.Scan(new MemoryStream(pickle, writable: false), null);
        }
        var pauseBefore = GC.GetTotalPauseDuration();
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var times = new List<double>();
        var total = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < Runs; i++)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            scanner.Scan(new MemoryStream(pickle, writable: false), null);
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
        var elapsed = total.Elapsed.TotalMilliseconds;
        var pause = (GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds;
        return new JsonObject
        {
            ["runs"] = Runs,
            ["medianMs"] = Results.Round(Results.Median(times), 2),
            ["gcPauseMsPerScan"] = Results.Round(pause / Runs, 2),
            ["gcPauseShare"] = Results.Round(pause / elapsed, 3),
            ["gen0PerScan"] = Results.Round((GC.CollectionCount(0) - gen0) / (double)Runs, 1),
            ["gen1PerScan"] = Results.Round((GC.CollectionCount(1) - gen1) / (double)Runs, 1),
            ["gen2PerScan"] = Results.Round((GC.CollectionCount(2) - gen2) / (double)Runs, 1),
            ["allocatedMBPerScan"] = Results.Round((GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / 1e6 / Runs),
        };
    }

    /// <summary>One scan through two counters: what the scanner asks for, and what the 64 KiB-buffered FileStream reads.</summary>
    private static async Task<JsonObject> ProbeCheckpointAsync(string path, string? source)
    {
        var size = new FileInfo(path).Length;
        var file = new CountingReadStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan));
        var buffered = new CountingReadStream(new BufferedStream(file, 1 << 16));
        FileReport report;
        await using (buffered)
        {
            report = await new ModelScanner().ScanAsync(buffered, path, CancellationToken.None);
        }
        var members = ListMembers(path);
        return new JsonObject
        {
            ["source"] = source ?? "(not given)",
            ["file"] = Path.GetFileName(path),
            ["bytes"] = size,
            ["members"] = members,
            ["verdict"] = report.Verdict.ToString(),
            ["format"] = report.Format,
            ["findings"] = new JsonArray(report.Findings.Select(f => (JsonNode)JsonValue.Create($"{f.Level} {f.Rule}: {f.Message}")!).ToArray()),
            ["scannerBytesRequested"] = buffered.BytesRead,
            ["scannerReads"] = buffered.Reads,
            ["scannerSeeks"] = buffered.Seeks,
            ["fileBytesRead"] = file.BytesRead,
            ["fileReads"] = file.Reads,
            ["fileFractionRead"] = Results.Round((double)file.BytesRead / size, 6),
        };
    }

    /// <summary>Member names and sizes, from System.IO.Compression (independent of the scanner's own zip reader).</summary>
    private static JsonArray ListMembers(string path)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(path);
        return new JsonArray(zip.Entries.Select(e => (JsonNode)JsonValue.Create($"{e.FullName} ({e.Length:N0} bytes)")!).ToArray());
    }

    private static JsonObject Case(BenchmarkReport report)
    {
        var stats = report.ResultStatistics!;
        return new JsonObject
        {
            ["method"] = report.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\''),
            ["medianMs"] = Results.Round(stats.Median / 1e6, 2),
            ["meanMs"] = Results.Round(stats.Mean / 1e6, 2),
            ["stdDevMs"] = Results.Round(stats.StandardDeviation / 1e6, 2),
            ["minMs"] = Results.Round(stats.Min / 1e6, 2),
            ["maxMs"] = Results.Round(stats.Max / 1e6, 2),
            ["allocatedBytesPerOp"] = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase),
        };
    }
}
