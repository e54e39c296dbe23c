using System.Diagnostics;
using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Gatehouse.Pipeline;

namespace Gatehouse.Benchmarks;

/// <summary>
/// Stages N bytes from memory into a scratch blob with <see cref="StagingWriter"/> itself (its block size, the given
/// blocks in flight, then one commit), so the staging share of a cold miss's FetchMs can be told apart from upstream
/// transfer, and one block at a time compared with several.
/// </summary>
public static class StagingProbe
{
    private const string Container = "bench-scratch";

    public static async Task<double> RunAsync(string connectionString, long bytes, int blocksInFlight = StagingWriter.DefaultBlocksInFlight, CancellationToken cancellationToken = default)
    {
        var container = new BlobContainerClient(connectionString, Container);
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var blob = container.GetBlockBlobClient(Guid.NewGuid().ToString("N"));
        var body = new RepeatingStream(bytes);
        var sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(new RepeatingStream(bytes), cancellationToken));
        var started = Stopwatch.GetTimestamp();
        var outcome = await StagingWriter.WriteVerifiedAsync(body, blob, sha256, bytes, cancellationToken, blocksInFlight: blocksInFlight);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await blob.DeleteIfExistsAsync(cancellationToken: cancellationToken);
        return outcome.IsVerified ? elapsed : throw new InvalidOperationException($"the probe's staging was refused: {outcome.Problem}");
    }

    /// <summary>N bytes of one random 1 MiB pattern, read-only and never held whole.</summary>
    private sealed class RepeatingStream(long length) : Stream
    {
        private static readonly byte[] Pattern = RandomPattern();
        private long _position;

        private static byte[] RandomPattern()
        {
            var pattern = new byte[1024 * 1024];
            new Random(7).NextBytes(pattern);
            return pattern;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, length - _position);
            for (var done = 0; done < n;)
            {
                var at = (int)((_position + done) % Pattern.Length);
                var chunk = Math.Min(n - done, Pattern.Length - at);
                Pattern.AsSpan(at, chunk).CopyTo(buffer[done..]);
                done += chunk;
            }
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
