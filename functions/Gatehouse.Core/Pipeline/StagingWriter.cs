using System.Buffers;
using System.Security.Cryptography;
using Azure.Storage.Blobs.Specialized;

namespace Gatehouse.Pipeline;

/// <summary>
/// Streams an upstream body into <c>staging/{sha256}</c> while hashing it. Blocks are staged as they arrive and
/// the blob is committed only when the digest and size match, so a mismatch or a crash leaves nothing visible.
/// Memory stays at two block buffers whatever the file size.
/// </summary>
public static class StagingWriter
{
    private const int BlockSize = 4 * 1024 * 1024;

    public static async Task<StagingOutcome> WriteVerifiedAsync(Stream body, BlockBlobClient target, string expectedSha256, long? expectedSize, CancellationToken cancellationToken,
        IDictionary<string, string>? metadata = null)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var blockIds = new List<string>();
        byte[] current = ArrayPool<byte>.Shared.Rent(BlockSize), spare = ArrayPool<byte>.Shared.Rent(BlockSize);
        var staging = Task.CompletedTask;
        long total = 0;
        try
        {
            while (true)
            {
                var filled = await FillAsync(body, current, cancellationToken);
                if (filled == 0)
                {
                    break;
                }
                total += filled;
                if (expectedSize is { } limit && total > limit)
                {
                    await staging;
                    return StagingOutcome.Mismatch($"the upstream sent more than the {limit} bytes the index declares");
                }
                hash.AppendData(current, 0, filled);
                await staging;
                var blockId = Convert.ToBase64String(BitConverter.GetBytes((long)blockIds.Count));
                blockIds.Add(blockId);
                staging = target.StageBlockAsync(blockId, new MemoryStream(current, 0, filled, writable: false), cancellationToken: cancellationToken);
                (current, spare) = (spare, current);
            }
            await staging;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(spare);
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
        await target.CommitBlockListAsync(blockIds, new Azure.Storage.Blobs.Models.CommitBlockListOptions { Metadata = metadata }, cancellationToken);
        return StagingOutcome.Verified(total);
    }

    private static async Task<int> FillAsync(Stream body, byte[] buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < BlockSize)
        {
            var read = await body.ReadAsync(buffer.AsMemory(filled, BlockSize - filled), cancellationToken);
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
