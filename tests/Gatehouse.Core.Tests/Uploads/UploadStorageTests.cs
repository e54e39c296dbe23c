using System.Security.Cryptography;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Gatehouse.Core.Tests.Pipeline;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Gatehouse.Uploads;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Core.Tests.Uploads;

/// <summary>
/// The uploads source against Azurite: a blob written with the Azure SDK (as a team would) is hashed and recorded with
/// its uploader, read back through the remote for staging, and a blob rewritten after it was hashed is never staged
/// under the earlier digest. The watcher starts each version once, across restarts.
/// </summary>
public sealed class UploadStorageTests
{
    private readonly GatehouseStorage _storage;
    private readonly UploadsRemote _remote;
    private readonly ReferenceStore _references;
    private readonly FakeAudit _audit = new();
    private readonly UploadIntake _intake;
    // Each test its own folder, so runs and tests never see each other's blobs.
    private readonly string _folder = $"models/test-{Guid.NewGuid():N}/unit";

    public UploadStorageTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        _storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        _storage.EnsureCreatedAsync(CancellationToken.None).GetAwaiter().GetResult();
        _remote = new UploadsRemote(_storage);
        _references = new ReferenceStore(_storage);
        _intake = new UploadIntake(_remote, _references, _storage, _audit, NullLogger<UploadIntake>.Instance);
    }

    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task A_blob_written_with_the_SDK_is_recorded_under_its_sha256_with_the_uploader_it_names()
    {
        var bytes = RandomNumberGenerator.GetBytes(300_000);
        var name = $"{_folder}/weights.bin";
        var etag = await WriteAsync(name, bytes, uploader: "team-ml");

        var prepared = await _intake.PrepareAsync(name, etag, Ct);

        Assert.Equal(UploadState.Recorded, prepared.State);
        var reference = Assert.IsType<ArtifactReference>(prepared.Reference);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), reference.Sha256);
        Assert.Equal(bytes.LongLength, reference.Size);
        Assert.Equal(UploadsRemote.Uploads, reference.Remote);
        Assert.Equal(etag, reference.ClientEtag);
        Assert.Equal("team-ml", prepared.Uploader);
        Assert.Equal(reference, (await _references.GetAsync(reference.Key, Ct))?.Reference);
        Assert.Equal("team-ml", await _intake.UploaderOfAsync(reference.Key, Ct));
        Assert.Contains(_audit.Rows, r => r.Action == "upload" && r.Subject.Contains(reference.Sha256, StringComparison.Ordinal)
            && r.Detail.Contains("team-ml", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_blob_that_names_no_uploader_is_recorded_as_unknown()
    {
        var name = $"{_folder}/anonymous.bin";
        var etag = await WriteAsync(name, [1, 2, 3], uploader: null);

        var prepared = await _intake.PrepareAsync(name, etag, Ct);

        Assert.Equal(UploadIntake.UnknownUploader, prepared.Uploader);
    }

    [Fact]
    public async Task A_version_rewritten_before_it_was_hashed_is_superseded_not_recorded()
    {
        var name = $"{_folder}/rewritten.bin";
        var first = await WriteAsync(name, [1, 2, 3], "a");
        await WriteAsync(name, [4, 5, 6, 7], "b");

        var prepared = await _intake.PrepareAsync(name, first, Ct);

        Assert.Equal(UploadState.Superseded, prepared.State);
        Assert.Null(await _references.GetAsync(UploadPath.Parse(name)!.Key, Ct));
    }

    [Fact]
    public async Task The_remote_opens_the_upload_for_staging_and_staging_keeps_it_under_its_digest()
    {
        var bytes = RandomNumberGenerator.GetBytes(200_000);
        var name = $"{_folder}/for staging #1.bin";
        var prepared = await _intake.PrepareAsync(name, await WriteAsync(name, bytes, "a"), Ct);
        var reference = prepared.Reference!;

        var outcome = await Fetcher().FetchAsync(reference, Ct);

        Assert.True(outcome.Staged, outcome.Message);
        var staged = await _storage.Staging(reference.Sha256).DownloadContentAsync(Ct);
        Assert.Equal(bytes, staged.Value.Content.ToArray());
    }

    [Fact]
    public async Task A_blob_rewritten_after_it_was_hashed_is_a_digest_mismatch_and_nothing_is_staged()
    {
        var name = $"{_folder}/swapped.bin";
        var prepared = await _intake.PrepareAsync(name, await WriteAsync(name, RandomNumberGenerator.GetBytes(50_000), "a"), Ct);
        await WriteAsync(name, RandomNumberGenerator.GetBytes(50_000), "b");

        var outcome = await Fetcher().FetchAsync(prepared.Reference!, Ct);

        Assert.False(outcome.Staged);
        Assert.Equal(FetchProblem.DigestMismatch, outcome.Problem);
        Assert.False(await _storage.Staging(prepared.Reference!.Sha256).ExistsAsync(Ct));
    }

    [Fact]
    public async Task The_remote_refuses_a_URL_outside_the_uploads_container_and_answers_404_for_a_deleted_blob()
    {
        using var foreign = await _remote.OpenAsync(new Uri(_storage.Container(GatehouseStorage.ArtifactsContainer).Uri + "/x"), 0, Ct);
        using var gone = await _remote.OpenAsync(_remote.UrlOf($"{_folder}/never-written.bin"), 0, Ct);

        Assert.NotNull(foreign.Failure);
        Assert.Null(gone.Failure);
        Assert.Equal(404, gone.Status);
    }

    [Fact]
    public async Task The_watcher_starts_each_version_once_and_a_restarted_watcher_starts_nothing_it_saw()
    {
        var a = $"{_folder}/a.bin";
        var b = $"{_folder}/b.bin";
        var etagA = await WriteAsync(a, [1], "x");
        var etagB = await WriteAsync(b, [2], "x");
        var scans = new RecordingScans();

        await NewWatcher().PollAsync(scans, Ct);
        await NewWatcher().PollAsync(scans, Ct); // a restart: a new watcher over the same checkpoint
        var etagA2 = await WriteAsync(a, [3], "x");
        await NewWatcher().PollAsync(scans, Ct);

        Assert.Equal(new[] { (a, etagA), (a, etagA2), (b, etagB) }.Order(), scans.Mine(_folder));
    }

    private UploadWatcher NewWatcher() => new(_remote, _storage, NullLogger<UploadWatcher>.Instance);

    private ContentFetcher Fetcher() =>
        new(new ContentStore(_storage), new RemoteRegistry([_remote]), _audit, TimeProvider.System, NullLogger<ContentFetcher>.Instance);

    private async Task<string> WriteAsync(string name, byte[] bytes, string? uploader)
    {
        var options = new BlobUploadOptions();
        if (uploader is not null)
        {
            options.Metadata = new Dictionary<string, string> { [UploadIntake.UploaderMetadata] = uploader };
        }
        var written = await _remote.Container.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(bytes), options, Ct);
        return UploadScans.VersionOf(written.Value.ETag);
    }

    /// <summary>Records every start the watcher asks for.</summary>
    private sealed class RecordingScans : IUploadScans
    {
        private readonly List<(string Name, string ETag)> _started = [];

        public Task<bool> StartAsync(string blobName, string etag, CancellationToken cancellationToken)
        {
            _started.Add((blobName, etag));
            return Task.FromResult(true);
        }

        public IReadOnlyList<(string Name, string ETag)> Mine(string folder) =>
            [.. _started.Where(s => s.Name.StartsWith(folder + "/", StringComparison.Ordinal)).Order()];
    }
}
