using System.Buffers;
using System.Security.Cryptography;

namespace Gatehouse.UpstreamSimulator.Catalog;

/// <summary>The digests Warehouse reports for a file, as lowercase hex.</summary>
public sealed record FileDigests(string Sha256, string Md5, string Blake2b256)
{
    private const int ChunkSize = 4 << 20;

    /// <summary>
    /// Streams the file once through all three hashes, chunk by chunk (never loading it whole);
    /// BLAKE2b runs beside SHA-256 + MD5 so a 2 GB synthetic wheel hashes in seconds.
    /// </summary>
    public static Task<(FileDigests Digests, long Size)> ComputeAsync(string path, CancellationToken ct = default) =>
        Task.Run(() => Compute(path, ct), ct);

    /// <summary>Digests of an in-memory buffer (core-metadata files).</summary>
    public static FileDigests Of(ReadOnlySpan<byte> data) =>
        new(Hex(SHA256.HashData(data)), Hex(MD5.HashData(data)), Hex(Blake2b.Hash(data)));

    internal static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    private static (FileDigests, long) Compute(string path, CancellationToken ct)
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var blake = new Blake2b(32);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        long size = 0;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            int read;
            while ((read = stream.ReadAtLeast(buffer.AsSpan(0, ChunkSize), ChunkSize, throwOnEndOfStream: false)) > 0)
            {
                ct.ThrowIfCancellationRequested();
                var chunk = new ArraySegment<byte>(buffer, 0, read);
                Parallel.Invoke(
                    () =>
                    {
                        sha256.AppendData(chunk);
                        md5.AppendData(chunk);
                    },
                    () => blake.Append(chunk));
                size += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return (new FileDigests(Hex(sha256.GetHashAndReset()), Hex(md5.GetHashAndReset()), Hex(blake.GetHash())), size);
    }
}
