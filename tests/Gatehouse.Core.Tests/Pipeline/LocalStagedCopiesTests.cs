using System.Security.Cryptography;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Gatehouse.Core.Tests.Pipeline;

/// <summary>
/// The local copy of a staged content, through <see cref="ContentStore"/> on Azurite: the checks read it when it is
/// whole and verified, it goes when the content is placed, and a mismatched, damaged or too large content is read
/// from the blob instead, with nothing left on disk.
/// </summary>
public sealed class LocalStagedCopiesTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"gatehouse-copies-test-{Guid.NewGuid():N}");
    private readonly GatehouseStorage _storage;
    private readonly List<LocalStagedCopies> _made = [];

    public LocalStagedCopiesTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        _storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        foreach (var container in new[] { GatehouseStorage.StagingContainer, GatehouseStorage.ArtifactsContainer, GatehouseStorage.QuarantineContainer })
        {
            _storage.Container(container).CreateIfNotExists();
        }
    }

    public void Dispose()
    {
        foreach (var copies in _made)
        {
            copies.Dispose();
        }
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private LocalStagedCopies Copies(long maxBytes = 1L << 30)
    {
        var copies = new LocalStagedCopies(Options.Create(new StagingOptions { LocalCopyMaxBytes = maxBytes, LocalCopyDirectory = _root }), NullLogger<LocalStagedCopies>.Instance);
        _made.Add(copies);
        return copies;
    }

    private static (byte[] Bytes, string Sha) Content(int length = 3_000_000)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return (bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        await using (stream)
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer);
            return buffer.ToArray();
        }
    }

    private static string[] FilesIn(LocalStagedCopies copies) => Directory.Exists(copies.Directory) ? Directory.GetFiles(copies.Directory) : [];

    [Fact]
    public async Task A_verified_content_is_read_from_its_local_copy_not_from_the_blob()
    {
        var copies = Copies();
        var store = new ContentStore(_storage, copies);
        var (bytes, sha) = Content();
        var told = false;

        var outcome = await store.WriteVerifiedAsync(new MemoryStream(bytes), sha, bytes.Length, CancellationToken.None, () => told = copies.Holds(sha));
        // Without the blob, only the local copy can answer.
        await store.Staging(sha).DeleteAsync();
        var read = await store.OpenAsync(sha, CancellationToken.None);

        Assert.True(outcome.IsVerified);
        Assert.True(told);
        Assert.IsType<FileStream>(read);
        Assert.Equal(bytes, await ReadAllAsync(read));
        Assert.Equal(bytes.Length, copies.ReservedBytes);
    }

    [Fact]
    public async Task Placing_the_content_deletes_its_copy_and_frees_its_bytes()
    {
        var copies = Copies();
        var store = new ContentStore(_storage, copies);
        var (bytes, sha) = Content();
        await store.WriteVerifiedAsync(new MemoryStream(bytes), sha, bytes.Length, CancellationToken.None);
        Assert.Single(FilesIn(copies));

        await store.PlaceAsync(sha, GatehouseStorage.ArtifactsContainer, CancellationToken.None);

        Assert.False(copies.Holds(sha));
        Assert.Empty(FilesIn(copies));
        Assert.Equal(0, copies.ReservedBytes);
        Assert.Equal(bytes, await ReadAllAsync(await store.OpenAsync(sha, CancellationToken.None)));
    }

    [Theory]
    [InlineData("other bytes")]
    [InlineData("cut short")]
    public async Task A_content_that_does_not_match_leaves_no_copy_and_nothing_on_disk(string how)
    {
        var copies = Copies();
        var store = new ContentStore(_storage, copies);
        var (bytes, sha) = Content();
        var body = how == "other bytes" ? bytes.Reverse().ToArray() : bytes[..^1000];

        var outcome = await store.WriteVerifiedAsync(new MemoryStream(body), sha, null, CancellationToken.None);

        Assert.False(outcome.IsVerified);
        Assert.False(copies.Holds(sha));
        Assert.Null(copies.OpenRead(sha));
        Assert.Empty(FilesIn(copies));
        Assert.Equal(0, copies.ReservedBytes);
        await Assert.ThrowsAsync<FileNotFoundException>(() => store.OpenAsync(sha, CancellationToken.None));
    }

    [Fact]
    public async Task A_copy_damaged_on_disk_is_not_read_and_the_blob_answers()
    {
        var copies = Copies();
        var store = new ContentStore(_storage, copies);
        var (bytes, sha) = Content();
        await store.WriteVerifiedAsync(new MemoryStream(bytes), sha, bytes.Length, CancellationToken.None);
        await using (var file = new FileStream(Assert.Single(FilesIn(copies)), FileMode.Open, FileAccess.Write))
        {
            file.SetLength(bytes.Length / 2);
        }

        var read = await store.OpenAsync(sha, CancellationToken.None);

        Assert.IsNotType<FileStream>(read);
        Assert.Equal(bytes, await ReadAllAsync(read));
        Assert.False(copies.Holds(sha));
        Assert.Empty(FilesIn(copies));
        Assert.Equal(0, copies.ReservedBytes);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_content_over_the_limit_is_staged_without_a_copy_whether_or_not_its_size_was_promised(bool promised)
    {
        var copies = Copies(maxBytes: 2_000_000);
        var store = new ContentStore(_storage, copies);
        var (bytes, sha) = Content(3_000_000);

        var outcome = await store.WriteVerifiedAsync(new MemoryStream(bytes), sha, promised ? bytes.Length : null, CancellationToken.None);

        Assert.True(outcome.IsVerified);
        Assert.False(copies.Holds(sha));
        Assert.Empty(FilesIn(copies));
        Assert.Equal(0, copies.ReservedBytes);
        Assert.Equal(bytes, await ReadAllAsync(await store.OpenAsync(sha, CancellationToken.None)));
    }

    [Fact]
    public async Task The_limit_counts_every_copy_kept_at_once()
    {
        var copies = Copies(maxBytes: 5_000_000);
        var store = new ContentStore(_storage, copies);
        var (first, firstSha) = Content();
        var (second, secondSha) = Content();

        await store.WriteVerifiedAsync(new MemoryStream(first), firstSha, first.Length, CancellationToken.None);
        await store.WriteVerifiedAsync(new MemoryStream(second), secondSha, second.Length, CancellationToken.None);

        Assert.True(copies.Holds(firstSha));
        Assert.False(copies.Holds(secondSha));
        Assert.Equal(first.Length, copies.ReservedBytes);
    }

    [Fact]
    public async Task A_limit_of_zero_turns_the_copies_off()
    {
        var copies = Copies(maxBytes: 0);
        var store = new ContentStore(_storage, copies);
        var (bytes, sha) = Content();

        var outcome = await store.WriteVerifiedAsync(new MemoryStream(bytes), sha, bytes.Length, CancellationToken.None);

        Assert.True(outcome.IsVerified);
        Assert.False(copies.Holds(sha));
        Assert.False(Directory.Exists(copies.Directory));
    }

    [Fact]
    public void Copies_a_process_that_ended_left_behind_are_deleted_at_start_and_a_running_ones_are_kept()
    {
        var ended = Path.Combine(_root, $"{int.MaxValue - 1}-{Guid.NewGuid():N}");
        var running = Path.Combine(_root, $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        foreach (var folder in new[] { ended, running })
        {
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(Path.Combine(folder, new string('b', 64)), [1, 2, 3]);
        }

        var copies = Copies();

        Assert.False(Directory.Exists(ended));
        Assert.True(Directory.Exists(running));
        Assert.True(Directory.Exists(copies.Directory));
    }
}
