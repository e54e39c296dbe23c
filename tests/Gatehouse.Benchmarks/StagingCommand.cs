using System.Text.Json.Nodes;
using Gatehouse.Pipeline;

namespace Gatehouse.Benchmarks;

/// <summary>
/// <c>staging --connection-string CS [--size 200000000] [--runs 3] [--out F]</c>: <see cref="StagingWriter"/> staging the
/// same bytes from memory into the given storage with one block in flight and with several, alternating, so both see
/// the same machine.
/// </summary>
public static class StagingCommand
{
    public static async Task<int> RunAsync(Arguments args)
    {
        var connectionString = args.Required("connection-string");
        var size = args.Long("size", 200_000_000);
        var runs = (int)args.Long("runs", 3);
        int[] modes = [1, StagingWriter.DefaultBlocksInFlight];
        var times = modes.ToDictionary(m => m, _ => new List<double>());
        // One unmeasured round warms the connections.
        await StagingProbe.RunAsync(connectionString, StagingWriter.BlockSize * 2L, 1);
        for (var run = 0; run < runs; run++)
        {
            foreach (var mode in modes)
            {
                times[mode].Add(await StagingProbe.RunAsync(connectionString, size, mode));
            }
        }
        var cases = new JsonArray();
        foreach (var mode in modes)
        {
            var median = Results.Median(times[mode]);
            cases.Add(new JsonObject
            {
                ["blocksInFlight"] = mode,
                ["blockBytes"] = StagingWriter.BlockSize,
                ["medianMs"] = Results.Round(median),
                ["runsMs"] = new JsonArray([.. times[mode].Select(t => (JsonNode)Results.Round(t))]),
                ["MBps"] = Results.Round(size / 1e6 / (median / 1000)),
            });
        }
        Results.Write(new JsonObject
        {
            ["kind"] = "staging",
            ["label"] = $"StagingWriter, {size} bytes from memory",
            ["sizeBytes"] = size,
            ["load"] = Results.LoadAverage(),
            ["cases"] = cases,
        }, args.Optional("out"));
        return 0;
    }
}
