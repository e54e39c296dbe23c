using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Names;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Names;

/// <summary><see cref="NamespaceCheck"/> over the <c>names</c> table in Azurite.</summary>
public class NamespaceCheckTests
{
    private static readonly DateTimeOffset Created = new(2023, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly TableRepoIdentityStore _store;
    private readonly NamespaceCheck _check;
    // Each test its own repo, so runs and tests never see each other's sightings.
    private readonly string _repo = $"Org-{Guid.NewGuid():N}/Model.v1";

    public NamespaceCheckTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        var storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        storage.TablesService.CreateTableIfNotExists(GatehouseStorage.NamesTable);
        _store = new TableRepoIdentityStore(storage);
        _check = new NamespaceCheck(_store, _time);
    }

    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task The_first_sight_is_remembered_and_raises_nothing()
    {
        Assert.Null(await _store.GetAsync(_repo, Ct));
        Assert.Empty(await _check.CheckAsync(_repo, "Org", Created, Ct));
        Assert.Equal(new RepoIdentity(_repo, "Org", Created, _time.GetUtcNow()), await _store.GetAsync(_repo, Ct));
    }

    [Theory]
    [InlineData("Org")]
    [InlineData("org")]
    [InlineData(null)]
    public async Task The_same_author_and_creation_time_raise_nothing(string? author)
    {
        await _check.CheckAsync(_repo, "Org", Created, Ct);
        _time.Advance(TimeSpan.FromDays(30));
        Assert.Empty(await _check.CheckAsync(_repo, author, Created, Ct));
        Assert.Empty(await _check.CheckAsync(_repo.ToUpperInvariant(), author, null, Ct));
        var kept = await _store.GetAsync(_repo, Ct);
        Assert.Equal(("Org", Created, _time.GetUtcNow() - TimeSpan.FromDays(30)), (kept?.Author, kept?.CreatedAt, kept?.FirstSeen));
    }

    [Fact]
    public async Task Another_author_is_namespace_reuse_and_stays_so()
    {
        await _check.CheckAsync(_repo, "Org", Created, Ct);
        Assert.Equal([NamespaceCheck.NamespaceReusedSignal], await _check.CheckAsync(_repo, "someone-else", Created, Ct));
        Assert.Equal([NamespaceCheck.NamespaceReusedSignal], await _check.CheckAsync(_repo, "someone-else", Created, Ct));
        Assert.Equal("Org", (await _store.GetAsync(_repo, Ct))?.Author);
    }

    [Fact]
    public async Task Another_creation_time_is_a_repo_deleted_and_created_again()
    {
        await _check.CheckAsync(_repo, "Org", Created, Ct);
        Assert.Equal([NamespaceCheck.NamespaceReusedSignal], await _check.CheckAsync(_repo, "Org", Created.AddDays(700), Ct));
    }

    [Fact]
    public async Task What_was_unknown_at_first_sight_is_filled_in_and_then_compared()
    {
        await _check.CheckAsync(_repo, null, null, Ct);
        Assert.Empty(await _check.CheckAsync(_repo, "Org", Created, Ct));
        Assert.Equal(("Org", Created), ((await _store.GetAsync(_repo, Ct))?.Author, (await _store.GetAsync(_repo, Ct))?.CreatedAt));
        Assert.Equal([NamespaceCheck.NamespaceReusedSignal], await _check.CheckAsync(_repo, "someone-else", Created, Ct));
    }

    [Theory]
    [InlineData("gpt2", "hf:", "gpt2")]
    [InlineData("Org/Model.v1", "hf:org", "model.v1")]
    [InlineData("datasets/Org/Data", "hf:datasets|org", "data")]
    public void Keys_are_the_lower_cased_namespace_and_name(string repo, string partition, string row)
    {
        Assert.Equal((partition, row), TableRepoIdentityStore.Keys(repo));
    }

    [Theory]
    [InlineData("org/a#b")]
    [InlineData("org\\model")]
    [InlineData("org/model?")]
    [InlineData("org|x/model")]
    [InlineData("/model")]
    [InlineData("org/")]
    [InlineData(" ")]
    public void A_string_that_is_no_repo_id_is_refused(string repo)
    {
        Assert.ThrowsAny<ArgumentException>(() => TableRepoIdentityStore.Keys(repo));
    }
}
