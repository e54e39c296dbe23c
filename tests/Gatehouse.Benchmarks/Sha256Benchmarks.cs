using System.Buffers;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;

namespace Gatehouse.Benchmarks;

/// <summary>
/// SHA-256 over a 50 MB body already in memory, the way StagingWriter feeds it (IncrementalHash, 4 MiB blocks),
/// so a cold miss's FetchMs can be split into hashing and transfer/staging.
/// </summary>
[MemoryDiagnoser]
public class Sha256Benchmarks
{
    private const int BlockSize = 4 * 1024 * 1024;
    private byte[] _data = [];

    [Params(50_000_000)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Bytes];
        new Random(42).NextBytes(_data);
    }

    [Benchmark(Baseline = true, Description = "IncrementalHash, 4 MiB blocks (StagingWriter)")]
    public byte[] IncrementalHashBlocks()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var offset = 0; offset < _data.Length; offset += BlockSize)
        {
            hash.AppendData(_data, offset, Math.Min(BlockSize, _data.Length - offset));
        }
        return hash.GetHashAndReset();
    }

    [Benchmark(Description = "SHA256.HashData, one shot")]
    public byte[] OneShot() => SHA256.HashData(_data);

    [Benchmark(Description = "IncrementalHash, 4 MiB blocks copied from a pooled buffer")]
    public byte[] IncrementalHashWithCopy()
    {
        // Adds the memcpy a stream read costs, for a rough upper bound on per-byte CPU in the fetch loop.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            for (var offset = 0; offset < _data.Length; offset += BlockSize)
            {
                var n = Math.Min(BlockSize, _data.Length - offset);
                _data.AsSpan(offset, n).CopyTo(buffer);
                hash.AppendData(buffer, 0, n);
            }
            return hash.GetHashAndReset();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
