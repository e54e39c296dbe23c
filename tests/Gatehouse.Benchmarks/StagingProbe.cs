using System.Diagnostics;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;

namespace Gatehouse.Benchmarks;

/// <summary>
/// Uploads N bytes from memory into a scratch blob the way StagingWriter does (4 MiB blocks, one staged while the next is
/// prepared, then one commit), so the staging share of a cold miss's FetchMs can be told apart from upstream transfer.
/// </summary>
public static class StagingProbe
{
    private const int BlockSize = 4 * 1024 * 1024;
    private const string Container = "bench-scratch";

    public static async Task<double> RunAsync(string connectionString, long bytes, CancellationToken cancellationToken = default)
    {
        var container = new BlobContainerClient(connectionString, Container);
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var blob = container.GetBlockBlobClient(Guid.NewGuid().ToString("N"));
        var block = new byte[BlockSize];
        Random.Shared.NextBytes(block);
        var ids = new List<string>();
        var started = Stopwatch.GetTimestamp();
        var staging = Task.CompletedTask;
        for (long sent = 0; sent < bytes;)
        {
            var n = (int)Math.Min(BlockSize, bytes - sent);
            await staging;
            var id = Convert.ToBase64String(BitConverter.GetBytes((long)ids.Count));
            ids.Add(id);
            staging = blob.StageBlockAsync(id, new MemoryStream(block, 0, n, writable: false), cancellationToken: cancellationToken);
            sent += n;
        }
        await staging;
        await blob.CommitBlockListAsync(ids, cancellationToken: cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await blob.DeleteIfExistsAsync(cancellationToken: cancellationToken);
        return elapsed;
    }
}
