using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Azure.Storage.Sas;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>throughput</c>: an allowed, cached file read through Gatehouse and straight from its blob in <c>artifacts</c>,
/// alternating, --repeat times each; medians and their ratio. The same two reads are repeated with curl (the
/// direct one through a read SAS) so a .NET client quirk cannot hide in the figure.
/// </summary>
public static class ThroughputCommand
{
    public static async Task<int> RunAsync(Arguments args)
    {
        var gatehouse = args.Required("gatehouse").TrimEnd('/');
        var token = args.Required("token");
        var sha256 = args.Required("sha256");
        var repeat = (int)args.Long("repeat", 3);
        var url = $"{gatehouse}/pypi/files/{args.Required("project")}/{sha256}/{args.Required("filename")}";
        var blob = Blob(args.Required("connection-string"), "artifacts", sha256);
        var sas = blob.GenerateSasUri(BlobSasPermissions.Read, DateTimeOffset.UtcNow.AddHours(2)).AbsoluteUri;
        using var http = Streaming.NewHttpClient();

        var runs = new Dictionary<string, List<Download>> { ["gatehouse"] = [], ["direct"] = [], ["gatehouse-curl"] = [], ["direct-curl"] = [] };
        for (var i = 1; i <= repeat; i++)
        {
            await Measure(runs["gatehouse"], i, "gatehouse (HttpClient)", () => Streaming.HttpAsync(http, url, token));
            await Measure(runs["direct"], i, "Azurite direct (BlobClient)", () => Streaming.BlobAsync(blob));
            await Measure(runs["gatehouse-curl"], i, "gatehouse (curl)", () => Streaming.CurlAsync(url, token));
            await Measure(runs["direct-curl"], i, "Azurite direct (curl + SAS)", () => Streaming.CurlAsync(sas, null));
        }

        var result = new JsonObject
        {
            ["kind"] = "throughput",
            ["label"] = args.Optional("label") ?? "cached file",
            ["sizeBytes"] = runs["gatehouse"][0].Bytes,
            ["repeat"] = repeat,
        };
        foreach (var (name, list) in runs)
        {
            result[name] = new JsonObject
            {
                ["medianMBps"] = Results.Round(Results.Median(list.Select(r => r.MBps))),
                ["medianTtfbMs"] = Results.Round(Results.Median(list.Select(r => r.TtfbMs))),
                ["runsMBps"] = new JsonArray(list.Select(r => (JsonNode)Results.Round(r.MBps)).ToArray()),
            };
        }
        result["ratio"] = Results.Round(Results.Median(runs["gatehouse"].Select(r => r.MBps)) / Results.Median(runs["direct"].Select(r => r.MBps)), 2);
        result["ratioCurl"] = Results.Round(Results.Median(runs["gatehouse-curl"].Select(r => r.MBps)) / Results.Median(runs["direct-curl"].Select(r => r.MBps)), 2);
        Results.Write(result, args.Optional("out"));
        return 0;
    }

    public static BlobClient Blob(string connectionString, string container, string name)
    {
        var options = new BlobClientOptions();
        options.Retry.NetworkTimeout = TimeSpan.FromMinutes(10);
        return new BlobClient(connectionString, container, name, options);
    }

    private static async Task Measure(List<Download> runs, int i, string what, Func<Task<Download>> run)
    {
        var download = await run();
        Console.Error.WriteLine($"[throughput] run {i} {what}: {download.Bytes} bytes in {download.TotalMs:F0} ms = {download.MBps:F1} MB/s (first byte {download.TtfbMs:F1} ms)");
        runs.Add(download);
    }
}
