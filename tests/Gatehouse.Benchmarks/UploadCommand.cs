using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>upload</c>: upload-to-verdict latency of a direct upload on the standalone host. A fresh random file is written
/// into <c>uploads</c> with the Azure SDK (as a team would); the clock starts when the write returns and stops when
/// the content's facts row exists and when the upload's reference carries its decision. The host's watcher has to
/// notice the blob first, so its listing interval is part of the figure.
/// </summary>
public static class UploadCommand
{
    private const int BlockSize = 4 * 1024 * 1024;

    public static async Task<int> RunAsync(Arguments args)
    {
        var connectionString = args.Required("connection-string");
        var size = args.Long("size");
        var runs = (int)(args.Optional("runs") is { } r ? long.Parse(r, System.Globalization.CultureInfo.InvariantCulture) : 3);
        var timeout = TimeSpan.FromSeconds(args.Optional("timeout-seconds") is { } t ? double.Parse(t, System.Globalization.CultureInfo.InvariantCulture) : 600);
        var uploads = new BlobContainerClient(connectionString, "uploads");
        await uploads.CreateIfNotExistsAsync();
        var tables = new TableServiceClient(connectionString);
        var verdicts = tables.GetTableClient("verdicts");
        var references = tables.GetTableClient("references");
        var samples = new JsonArray();
        var factsMs = new List<double>();
        var verdictMs = new List<double>();
        for (var run = 1; run <= runs; run++)
        {
            var folder = $"bench-{Guid.NewGuid():N}"[..16];
            var name = $"models/bench/{folder}/weights.bin";
            var (sha256, writeMs) = await WriteAsync(uploads.GetBlockBlobClient(name), size);
            var written = Stopwatch.GetTimestamp();
            Console.Error.WriteLine($"[upload] run {run}: {name}, {size} bytes, sha256 {sha256}, written in {writeMs:F0} ms");
            double? facts = null, verdict = null;
            while (Stopwatch.GetElapsedTime(written) < timeout && (facts is null || verdict is null))
            {
                if (facts is null && (await verdicts.GetEntityIfExistsAsync<TableEntity>(sha256, "facts")).HasValue)
                {
                    facts = Stopwatch.GetElapsedTime(written).TotalMilliseconds;
                }
                if (verdict is null && await references.GetEntityIfExistsAsync<TableEntity>($"uploads:models%2Fbench%2F{folder}", "weights.bin") is
                    { HasValue: true, Value: { } row } && row.GetString("Sha256") == sha256 && row.GetString("Decision") is { } decision)
                {
                    verdict = Stopwatch.GetElapsedTime(written).TotalMilliseconds;
                    Console.Error.WriteLine($"[upload] run {run}: {decision} by {row.GetString("Rule")}");
                }
                await Task.Delay(50);
            }
            if (facts is null || verdict is null)
            {
                throw new InvalidOperationException($"no verdict for {name} within {timeout}");
            }
            factsMs.Add(facts.Value);
            verdictMs.Add(verdict.Value);
            samples.Add(new JsonObject { ["run"] = run, ["writeMs"] = Results.Round(writeMs), ["factsMs"] = Results.Round(facts.Value), ["verdictMs"] = Results.Round(verdict.Value) });
            await uploads.DeleteBlobIfExistsAsync(name);
        }
        Results.Write(new JsonObject
        {
            ["kind"] = "upload",
            ["label"] = args.Optional("label") ?? "upload",
            ["sizeBytes"] = size,
            ["runs"] = runs,
            ["medianFactsMs"] = Results.Round(Results.Median(factsMs)),
            ["medianVerdictMs"] = Results.Round(Results.Median(verdictMs)),
            ["samples"] = samples,
            ["load"] = Results.LoadAverage(),
        }, args.Optional("out"));
        return 0;
    }

    /// <summary>Writes <paramref name="size"/> random bytes in 4 MiB blocks, hashing them on the way; the sha256 and the write's duration.</summary>
    private static async Task<(string Sha256, double WriteMs)> WriteAsync(BlockBlobClient blob, long size)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var block = new byte[BlockSize];
        var ids = new List<string>();
        var started = Stopwatch.GetTimestamp();
        for (long sent = 0; sent < size;)
        {
            var n = (int)Math.Min(BlockSize, size - sent);
            RandomNumberGenerator.Fill(block.AsSpan(0, n));
            hash.AppendData(block, 0, n);
            var id = Convert.ToBase64String(BitConverter.GetBytes((long)ids.Count));
            ids.Add(id);
            await blob.StageBlockAsync(id, new MemoryStream(block, 0, n, writable: false));
            sent += n;
        }
        await blob.CommitBlockListAsync(ids, new Azure.Storage.Blobs.Models.CommitBlockListOptions
        {
            Metadata = new Dictionary<string, string> { ["uploader"] = "bench" },
        });
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }
}
