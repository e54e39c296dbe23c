using System.Security.Cryptography;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Gatehouse.Pipeline;
using Gatehouse.Tests.Shared;

namespace Gatehouse.Core.Tests.Pipeline;

/// <summary>
/// <see cref="StagingWriter"/> against Azurite, with a pipeline policy that watches the Put Block requests: several
/// blocks go out at once but never more than asked, the blob holds the bytes in order whatever order the blocks
/// finished in, and a failure or a mismatch commits nothing.
/// </summary>
public sealed class StagingWriterTests
{
    private const int Block = StagingWriter.BlockSize;

    private readonly BlockWatch _watch = new();
    private readonly BlobContainerClient _container;

    public StagingWriterTests()
    {
        var options = new BlobClientOptions();
        options.AddPolicy(_watch, HttpPipelinePosition.PerCall);
        _container = new BlobContainerClient(TestAzurite.ConnectionString, "staging-writer-tests", options);
        _container.CreateIfNotExists();
    }

    private BlockBlobClient NewBlob() => _container.GetBlockBlobClient(Guid.NewGuid().ToString("N"));

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task Blocks_are_staged_that_many_at_once_and_never_more(int blocksInFlight)
    {
        var body = RandomBytes(5 * Block + 12_345);
        var blob = NewBlob();

        var outcome = await StagingWriter.WriteVerifiedAsync(new MemoryStream(body), blob, Sha(body), body.Length, CancellationToken.None, blocksInFlight: blocksInFlight);

        Assert.True(outcome.IsVerified);
        Assert.Equal(6, _watch.Blocks);
        Assert.Equal(blocksInFlight, _watch.MostAtOnce);
        Assert.Equal(body, (await blob.DownloadContentAsync()).Value.Content.ToArray());
    }

    [Fact]
    public async Task The_blob_holds_the_bytes_in_order_when_later_blocks_finish_first()
    {
        _watch.DelayFirstBlock = TimeSpan.FromMilliseconds(400);
        var body = RandomBytes(3 * Block + 1);
        var blob = NewBlob();

        var outcome = await StagingWriter.WriteVerifiedAsync(new MemoryStream(body), blob, Sha(body), null, CancellationToken.None);

        Assert.True(outcome.IsVerified);
        Assert.Equal(body.Length, outcome.Size);
        Assert.True(_watch.FinishedBeforeFirst >= 2, $"{_watch.FinishedBeforeFirst} blocks finished before the first");
        Assert.Equal(body, (await blob.DownloadContentAsync()).Value.Content.ToArray());
    }

    [Fact]
    public async Task A_block_that_fails_commits_nothing_and_the_error_reaches_the_caller()
    {
        _watch.FailBlock = 2;
        var body = RandomBytes(5 * Block);
        var blob = NewBlob();

        await Assert.ThrowsAsync<Azure.RequestFailedException>(() =>
            StagingWriter.WriteVerifiedAsync(new MemoryStream(body), blob, Sha(body), body.Length, CancellationToken.None));

        Assert.False(await blob.ExistsAsync());
    }

    [Theory]
    [InlineData("other bytes")]
    [InlineData("shorter than promised")]
    [InlineData("longer than promised")]
    public async Task A_body_that_is_not_what_was_promised_commits_nothing_and_is_never_called_verified(string how)
    {
        var body = RandomBytes(2 * Block + 7);
        var (sha, size) = how switch
        {
            "other bytes" => (new string('a', 64), (long?)body.Length),
            "shorter than promised" => (Sha(body), body.Length + 1L),
            _ => (Sha(body), body.Length - 1L),
        };
        var blob = NewBlob();
        var verified = false;
        var copied = 0L;

        var outcome = await StagingWriter.WriteVerifiedAsync(new MemoryStream(body), blob, sha, size, CancellationToken.None,
            copy: (bytes, _) => { copied += bytes.Length; return ValueTask.CompletedTask; }, verified: _ => { verified = true; return Task.CompletedTask; });

        Assert.False(outcome.IsVerified);
        Assert.NotNull(outcome.Problem);
        Assert.False(verified);
        Assert.False(await blob.ExistsAsync());
        Assert.True(copied > 0);
    }

    [Fact]
    public async Task Verified_is_told_with_the_size_before_the_commit_and_the_copy_gets_every_byte_in_order()
    {
        var body = RandomBytes(2 * Block + 99);
        var blob = NewBlob();
        using var copy = new MemoryStream();
        bool? existedWhenVerified = null;
        long verifiedSize = 0;

        var outcome = await StagingWriter.WriteVerifiedAsync(new MemoryStream(body), blob, Sha(body), body.Length, CancellationToken.None,
            copy: (bytes, ct) => copy.WriteAsync(bytes, ct),
            verified: async size =>
            {
                verifiedSize = size;
                existedWhenVerified = await blob.ExistsAsync();
            });

        Assert.True(outcome.IsVerified);
        Assert.Equal(body.Length, verifiedSize);
        Assert.False(existedWhenVerified);
        Assert.True(await blob.ExistsAsync());
        Assert.Equal(body, copy.ToArray());
    }

    /// <summary>Counts Put Block requests and how many are out at once; can hold back the first or fail the Nth.</summary>
    private sealed class BlockWatch : HttpPipelinePolicy
    {
        private int _now;
        private int _started;
        private int _finished;

        public int Blocks => _started;
        public int MostAtOnce { get; private set; }
        public int FinishedBeforeFirst { get; private set; }
        public TimeSpan DelayFirstBlock { get; set; }
        public int FailBlock { get; set; } = -1;

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var query = message.Request.Uri.Query;
            if (!query.Contains("comp=block", StringComparison.Ordinal) || query.Contains("comp=blocklist", StringComparison.Ordinal))
            {
                await ProcessNextAsync(message, pipeline);
                return;
            }
            var index = Interlocked.Increment(ref _started) - 1;
            var now = Interlocked.Increment(ref _now);
            lock (this)
            {
                MostAtOnce = Math.Max(MostAtOnce, now);
            }
            try
            {
                if (index == FailBlock)
                {
                    throw new Azure.RequestFailedException(500, "injected failure of a Put Block");
                }
                // Long enough for the writer to send the next blocks while this one is out.
                await Task.Delay(index == 0 ? DelayFirstBlock + TimeSpan.FromMilliseconds(50) : TimeSpan.FromMilliseconds(50));
                await ProcessNextAsync(message, pipeline);
                if (index == 0)
                {
                    FinishedBeforeFirst = Volatile.Read(ref _finished);
                }
                Interlocked.Increment(ref _finished);
            }
            finally
            {
                Interlocked.Decrement(ref _now);
            }
        }
    }
}
