using System.Buffers;
using System.Security.Cryptography;
using Azure.Storage.Blobs.Specialized;

namespace Gatehouse.Pipeline;

/// <summary>
/// Streams an upstream body into <c>staging/{sha256}</c> while hashing it. Blocks are staged as they arrive, several at
/// once (Azure Storage takes blocks of one blob in parallel), and the blob is committed only when the digest and size
/// match, so a mismatch or a crash leaves nothing visible. Memory stays at <c>blocksInFlight + 1</c> block buffers
/// whatever the file size.
/// </summary>
public static class StagingWriter
{
    public const int BlockSize = 8 * 1024 * 1024;

    /// <summary>Blocks staged at once: four 8 MiB blocks keep one connection's worth of latency hidden without much memory.</summary>
    public const int DefaultBlocksInFlight = 4;

    /// <param name="copy">Given every block's bytes in order as they are hashed (the local copy the checks read); the bytes count only when the outcome is verified.</param>
    /// <param name="verified">Called with the size once the whole body matched its digest and size, while the last blocks may still be staging.</param>
    public static async Task<StagingOutcome> WriteVerifiedAsync(Stream body, BlockBlobClient target, string expectedSha256, long? expectedSize, CancellationToken cancellationToken,
        IDictionary<string, string>? metadata = null, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask>? copy = null, Func<long, Task>? verified = null,
        int blocksInFlight = DefaultBlocksInFlight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocksInFlight, 1);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var blockIds = new List<string>();
        var inFlight = new Queue<(Task Staging, byte[] Buffer)>();
        // A body the index says is small takes a buffer its size, not a whole block (a host fetching many small files
        // at once would otherwise hold 8 MiB for each); a body longer than it promised fails below all the same.
        var blockSize = expectedSize is { } promised && promised < BlockSize ? (int)Math.Max(promised, 1) : BlockSize;
        var current = ArrayPool<byte>.Shared.Rent(blockSize);
        long total = 0;
        try
        {
            while (true)
            {
                var filled = await FillAsync(body, current, blockSize, cancellationToken);
                if (filled == 0)
                {
                    break;
                }
                total += filled;
                if (expectedSize is { } limit && total > limit)
                {
                    return StagingOutcome.Mismatch($"the upstream sent more than the {limit} bytes the index declares");
                }
                hash.AppendData(current, 0, filled);
                if (copy is not null)
                {
                    await copy(current.AsMemory(0, filled), cancellationToken);
                }
                var blockId = Convert.ToBase64String(BitConverter.GetBytes((long)blockIds.Count));
                blockIds.Add(blockId);
                inFlight.Enqueue((target.StageBlockAsync(blockId, new MemoryStream(current, 0, filled, writable: false), cancellationToken: cancellationToken), current));
                if (inFlight.Count < blocksInFlight)
                {
                    current = ArrayPool<byte>.Shared.Rent(blockSize);
                }
                else
                {
                    // The oldest block's buffer is reused once Storage has it; a failed block ends the write here.
                    var (staging, buffer) = inFlight.Dequeue();
                    current = buffer;
                    await staging;
                }
            }
            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != expectedSha256)
            {
                return StagingOutcome.Mismatch($"sha256 {actual} differs from the index's {expectedSha256}");
            }
            if (expectedSize is { } size && size != total)
            {
                return StagingOutcome.Mismatch($"size {total} differs from the index's {size}");
            }
            if (verified is not null)
            {
                // The bytes are the promised ones: whoever reads the local copy may start while the last blocks are staged.
                await verified(total);
            }
            while (inFlight.TryPeek(out var oldest))
            {
                await oldest.Staging;
                ArrayPool<byte>.Shared.Return(inFlight.Dequeue().Buffer);
            }
        }
        finally
        {
            // No buffer goes back to the pool while a request may still read it.
            foreach (var (staging, buffer) in inFlight)
            {
                await staging.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                ArrayPool<byte>.Shared.Return(buffer);
            }
            ArrayPool<byte>.Shared.Return(current);
        }
        await target.CommitBlockListAsync(blockIds, new Azure.Storage.Blobs.Models.CommitBlockListOptions { Metadata = metadata }, cancellationToken);
        return StagingOutcome.Verified(total);
    }

    private static async Task<int> FillAsync(Stream body, byte[] buffer, int blockSize, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < blockSize)
        {
            var read = await body.ReadAsync(buffer.AsMemory(filled, blockSize - filled), cancellationToken);
            if (read == 0)
            {
                break;
            }
            filled += read;
        }
        return filled;
    }
}

/// <summary>Whether the staged content is the one the index promised.</summary>
public sealed record StagingOutcome(bool IsVerified, long Size, string? Problem)
{
    public static StagingOutcome Verified(long size) => new(true, size, null);
    public static StagingOutcome Mismatch(string problem) => new(false, 0, problem);
}
