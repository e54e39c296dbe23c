using System.Text.Json.Nodes;
using Azure.Storage.Sas;

namespace Gatehouse.Benchmarks;

/// <summary><c>download</c>: one GET to nowhere (bench.sh reads the host's peak RSS around it).</summary>
public static class DownloadCommand
{
    public static async Task<int> RunAsync(Arguments args)
    {
        using var http = Streaming.NewHttpClient();
        var download = await Streaming.HttpAsync(http, args.Required("url"), args.Optional("token"));
        Results.Write(new JsonObject
        {
            ["kind"] = "download",
            ["label"] = args.Optional("label") ?? "download",
            ["bytes"] = download.Bytes,
            ["ttfbMs"] = Results.Round(download.TtfbMs),
            ["totalMs"] = Results.Round(download.TotalMs),
            ["MBps"] = Results.Round(download.MBps),
        }, args.Optional("out"));
        return 0;
    }
}

/// <summary><c>sas</c>: a two-hour read SAS URL for one blob (for curl).</summary>
public static class SasCommand
{
    public static int Run(Arguments args)
    {
        var blob = ThroughputCommand.Blob(args.Required("connection-string"), args.Required("container"), args.Required("blob"));
        Console.WriteLine(blob.GenerateSasUri(BlobSasPermissions.Read, DateTimeOffset.UtcNow.AddHours(2)).AbsoluteUri);
        return 0;
    }
}
