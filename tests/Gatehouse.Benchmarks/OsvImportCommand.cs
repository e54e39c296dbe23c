using System.Diagnostics;
using System.Text.Json.Nodes;
using Gatehouse.TestHelpers;
using Gatehouse.Vulnerabilities;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>osvimport --connection-string CS [--records 20000] [--seed 1] [--dir D] [--out F]</c>: OsvImporter.ImportAsync
/// of a synthetic export the size of OSV's whole PyPI dump into the storage account, twice: the first import (every
/// row written) and a re-import of the same file (every row unchanged). Each is timed, and this process's resident
/// set sampled, with the kernel's high-water mark reset at each phase where it allows. The zip is read from a file,
/// as the refresh reads its download.
/// </summary>
public static class OsvImportCommand
{
    public static async Task<int> RunAsync(Arguments args)
    {
        var records = (int)args.Long("records", 20_000);
        var seed = (int)args.Long("seed", 1);
        var dir = args.Optional("dir") ?? Path.GetTempPath();
        var zipPath = Path.Combine(dir, $"osv-synthetic-{records}-{seed}.zip");
        var generate = Stopwatch.StartNew();
        await using (var file = File.Create(zipPath))
        {
            OsvSyntheticExport.Write(file, records, seed);
        }
        var generateMs = generate.Elapsed.TotalMilliseconds;
        var zipBytes = new FileInfo(zipPath).Length;
        Console.WriteLine($"export: {records:N0} records, {zipBytes:N0} bytes, written in {generateMs:F0} ms");

        var importer = OsvBench.Importer(args.Required("connection-string"));
        var pid = Environment.ProcessId;
        var loadBefore = Results.LoadAverage();
        var phases = new JsonObject();
        await using (var sampler = new RssSampler(pid, TimeSpan.FromMilliseconds(20), args.Optional("samples")))
        {
            foreach (var phase in new[] { "first", "reimport" })
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                var startRss = RssReading.Read(pid);
                var reset = sampler.BeginPhase(phase);
                var watch = Stopwatch.StartNew();
                OsvImportResult result;
                await using (var zip = File.OpenRead(zipPath))
                {
                    result = await importer.ImportAsync(zip, new OsvImportSource("file://" + zipPath, null, null), CancellationToken.None);
                }
                var wallMs = watch.Elapsed.TotalMilliseconds;
                var rss = sampler.Summary(reset);
                rss["vmRssAtStartMiB"] = Results.Round(startRss.VmRssMiB);
                rss["wallMs"] = Results.Round(wallMs, 0);
                rss["recordsPerSecond"] = Results.Round(result.Records / (wallMs / 1000), 0);
                rss["records"] = result.Records;
                rss["projects"] = result.Projects;
                rss["upserted"] = result.Upserted;
                rss["unchanged"] = result.Unchanged;
                rss["deleted"] = result.Deleted;
                rss["skippedInvalid"] = result.SkippedInvalid;
                phases[phase] = rss;
                Console.WriteLine($"{phase}: {rss.ToJsonString()}");
            }
        }
        File.Delete(zipPath);
        Results.Write(new JsonObject
        {
            ["kind"] = "osvimport",
            ["label"] = $"OsvImporter.ImportAsync of a synthetic {records:N0}-record export (OsvSyntheticExport, seed {seed}) into Azurite",
            ["records"] = records,
            ["zipBytes"] = zipBytes,
            ["generateMs"] = Results.Round(generateMs, 0),
            ["gc"] = System.Runtime.GCSettings.IsServerGC ? "server" : "workstation",
            ["loadBefore"] = loadBefore,
            ["loadAfter"] = Results.LoadAverage(),
            ["first"] = phases["first"]!.DeepClone(),
            ["reimport"] = phases["reimport"]!.DeepClone(),
        }, args.Optional("out"));
        return 0;
    }
}
