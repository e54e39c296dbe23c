using System.IO.Compression;
using BenchmarkDotNet.Attributes;
using Gatehouse.Configuration;
using Gatehouse.Scans.Archives;

namespace Gatehouse.Benchmarks;

/// <summary>
/// The archive safety check over a 50 MB wheel of random data held in memory, its payload stored, deflated at level 6
/// (.NET's Optimal) or at level 1 (Fastest): the check's own speed, without storage. Beside it, the payload inflated
/// alone with 80 KiB reads (the check's read loop before) and 256 KiB reads (after), to show what the buffer is worth.
/// </summary>
[MemoryDiagnoser]
public class ArchiveSafetyBenchmarks
{
    public const int PayloadBytes = 50_000_000;
    private byte[] _wheel = [];

    [Params("stored", "deflate-6", "deflate-1")]
    public string Payload { get; set; } = "stored";

    [GlobalSetup]
    public void Setup() => _wheel = Wheel(Payload);

    /// <summary>A wheel-shaped zip: a dist-info and one member of random bytes compressed as <paramref name="payload"/> says.</summary>
    public static byte[] Wheel(string payload)
    {
        var data = new byte[PayloadBytes];
        new Random(42).NextBytes(data);
        var level = payload switch
        {
            "stored" => CompressionLevel.NoCompression,
            "deflate-6" => CompressionLevel.Optimal,
            "deflate-1" => CompressionLevel.Fastest,
            _ => throw new ArgumentException($"unknown payload {payload}"),
        };
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, text) in new[] { ("bench-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: bench\nVersion: 1.0\n"), ("bench-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n") })
            {
                using var writer = new StreamWriter(zip.CreateEntry(name).Open());
                writer.Write(text);
            }
            using var member = zip.CreateEntry("bench/payload.bin", level).Open();
            member.Write(data);
        }
        return buffer.ToArray();
    }

    [Benchmark(Baseline = true, Description = "ArchiveSafety.InspectAsync")]
    public async Task<int> Inspect()
    {
        var (_, findings) = await new ArchiveSafety(new ArchiveLimits()).InspectAsync(new MemoryStream(_wheel, writable: false), CancellationToken.None);
        return findings.Count;
    }

    [Benchmark(Description = "payload read alone, 80 KiB reads")]
    public Task<long> ReadSmall() => ReadPayloadAsync(80 * 1024);

    [Benchmark(Description = "payload read alone, 256 KiB reads")]
    public Task<long> ReadLarge() => ReadPayloadAsync(256 * 1024);

    private async Task<long> ReadPayloadAsync(int bufferSize)
    {
        using var zip = new ZipArchive(new MemoryStream(_wheel, writable: false), ZipArchiveMode.Read);
        await using var member = zip.GetEntry("bench/payload.bin")!.Open();
        var buffer = new byte[bufferSize];
        long total = 0;
        int read;
        while ((read = await member.ReadAsync(buffer)) > 0)
        {
            total += read;
        }
        return total;
    }
}
