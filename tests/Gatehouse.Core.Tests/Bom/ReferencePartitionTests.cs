using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.HuggingFace;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;

namespace Gatehouse.Core.Tests.Bom;

/// <summary><see cref="ReferenceStore.ListAsync(string, CancellationToken)"/> over the <c>references</c> table in Azurite: one partition, every row of it, with its decision.</summary>
public sealed class ReferencePartitionTests
{
    private readonly ReferenceStore _store;
    // Each test its own repository, so runs never see each other's rows.
    private readonly string _repo = $"acme/model-{Guid.NewGuid():N}";

    public ReferencePartitionTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        var storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        storage.TablesService.CreateTableIfNotExists(GatehouseStorage.ReferencesTable);
        storage.TablesService.CreateTableIfNotExists(GatehouseStorage.VerdictsTable);
        _store = new ReferenceStore(storage);
    }

    [Fact]
    public async Task A_partition_lists_its_own_files_with_their_decisions_and_nothing_of_another()
    {
        const string Commit = "0123456789abcdef0123456789abcdef01234567";
        var partition = HfFileDigests.ReferencePartition("models", _repo);
        var other = HfFileDigests.ReferencePartition("models", _repo + "-other");
        var weights = Reference(partition, Commit, "weights/model.safetensors", new string('1', 64));
        var config = Reference(partition, Commit, "config.json", new string('2', 64));
        var elsewhere = Reference(other, Commit, "config.json", new string('3', 64));
        foreach (var reference in new[] { weights, config, elsewhere })
        {
            await _store.RecordAsync(reference, CancellationToken.None);
        }
        var decision = new ArtifactDecision(Decision.Blocked, "pickle.dangerous-global", "os.system", "pv-1", DateTimeOffset.UnixEpoch) { PolicyRule = "content" };
        await _store.RecordDecisionAsync(weights, decision, CancellationToken.None);

        var listed = new List<StoredReference>();
        await foreach (var stored in _store.ListAsync(partition, CancellationToken.None))
        {
            listed.Add(stored);
        }

        Assert.Equal([config.Key.Row, weights.Key.Row], listed.Select(s => s.Reference.Key.Row));
        Assert.Equal(new string('1', 64), listed[1].Reference.Sha256);
        Assert.Equal(Decision.Blocked, listed[1].Decision?.Decision);
        Assert.Equal("pv-1", listed[1].Decision?.PolicyVersion);
        Assert.Null(listed[0].Decision);
    }

    private static ArtifactReference Reference(string partition, string commit, string path, string sha256) =>
        new(HuggingFaceRemote.Hf, new ReferenceKey(partition, HfFileDigests.ReferenceRowKey(commit, path)), $"x@{commit}", path[(path.LastIndexOf('/') + 1)..],
            sha256, 10, "https://huggingface.co/x", null);
}
