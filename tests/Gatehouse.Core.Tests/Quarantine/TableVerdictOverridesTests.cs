using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Pipeline;
using Gatehouse.Quarantine;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Quarantine;

/// <summary>
/// <see cref="TableVerdictOverrides"/> on the <c>overrides</c> table in Azurite: the override in force is found by
/// sha256, a release stops standing at its expiry, a new override supersedes the one in force, a lift ends it, and
/// the history keeps each with how it ended.
/// </summary>
public sealed class TableVerdictOverridesTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly TableVerdictOverrides _overrides;
    // Each test its own content, so runs never see each other's rows.
    private readonly string _sha256 = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());

    public TableVerdictOverridesTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        var storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        storage.TablesService.CreateTableIfNotExists(GatehouseStorage.OverridesTable);
        _overrides = new TableVerdictOverrides(storage, _time);
    }

    [Fact]
    public async Task A_content_without_an_override_has_none()
    {
        Assert.Null(await _overrides.FindAsync(Reference(), CancellationToken.None));
        Assert.Empty(await _overrides.HistoryAsync(_sha256, CancellationToken.None));
    }

    [Fact]
    public async Task A_release_stands_until_its_expiry_and_not_after()
    {
        var expires = _time.GetUtcNow().AddHours(2);
        var placed = await _overrides.PlaceAsync(_sha256, Decision.Allowed, "needed for the demo", "alice", expires, CancellationToken.None);

        var found = await _overrides.FindAsync(Reference(), CancellationToken.None);
        Assert.NotNull(found);
        Assert.Equal(placed.Id, found.Id);
        Assert.Equal(Decision.Allowed, found.Decision);
        Assert.Equal("needed for the demo", found.Reason);
        Assert.Equal("alice", found.By);
        Assert.Equal(expires, found.Expires);

        _time.Advance(TimeSpan.FromHours(2) - TimeSpan.FromSeconds(1));
        Assert.NotNull(await _overrides.FindAsync(Reference(), CancellationToken.None));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await _overrides.FindAsync(Reference(), CancellationToken.None));
        Assert.Equal("expired", Assert.Single(await _overrides.HistoryAsync(_sha256, CancellationToken.None)).StateAt(_time.GetUtcNow()));
    }

    [Fact]
    public async Task A_block_has_no_expiry_and_supersedes_the_release_in_force()
    {
        var release = await _overrides.PlaceAsync(_sha256, Decision.Allowed, "waiver", "alice", _time.GetUtcNow().AddDays(7), CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(5));
        var block = await _overrides.PlaceAsync(_sha256, Decision.Blocked, "the maintainer's account was taken over", "bob", _time.GetUtcNow().AddDays(1),
            CancellationToken.None);

        var found = await _overrides.FindAsync(Reference(), CancellationToken.None);
        Assert.NotNull(found);
        Assert.Equal(block.Id, found.Id);
        Assert.Equal(Decision.Blocked, found.Decision);
        Assert.Null(found.Expires);
        _time.Advance(TimeSpan.FromDays(400));
        Assert.Equal(block.Id, (await _overrides.FindAsync(Reference(), CancellationToken.None))?.Id);

        var history = await _overrides.HistoryAsync(_sha256, CancellationToken.None);
        Assert.Equal([block.Id, release.Id], history.Select(h => h.Override.Id));
        Assert.Equal(["active", "superseded"], history.Select(h => h.StateAt(_time.GetUtcNow())));
        Assert.Equal(TableVerdictOverrides.SupersededPrefix + block.Id, history[1].LiftedBy);
    }

    [Fact]
    public async Task A_lift_ends_the_override_in_force_and_records_who_lifted_it()
    {
        var block = await _overrides.PlaceAsync(_sha256, Decision.Blocked, "suspicious", "bob", null, CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));

        var lifted = await _overrides.LiftAsync(_sha256, "carol", "false positive", CancellationToken.None);

        Assert.Equal(block.Id, lifted?.Id);
        Assert.Null(await _overrides.FindAsync(Reference(), CancellationToken.None));
        Assert.Null(await _overrides.LiftAsync(_sha256, "carol", "again", CancellationToken.None));
        var record = Assert.Single(await _overrides.HistoryAsync(_sha256, CancellationToken.None));
        Assert.Equal("lifted", record.StateAt(_time.GetUtcNow()));
        Assert.Equal("carol", record.LiftedBy);
        Assert.Equal("false positive", record.LiftReason);
        Assert.Equal(_time.GetUtcNow(), record.LiftedAt);
    }

    [Fact]
    public async Task A_release_without_an_expiry_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _overrides.PlaceAsync(_sha256, Decision.Allowed, "forever", "alice", null, CancellationToken.None));
        Assert.Null(await _overrides.FindAsync(Reference(), CancellationToken.None));
    }

    [Fact]
    public async Task Overrides_are_per_content()
    {
        await _overrides.PlaceAsync(_sha256, Decision.Blocked, "bad", "bob", null, CancellationToken.None);

        Assert.NotNull(await _overrides.FindAsync(Reference(), CancellationToken.None));
        Assert.Null(await _overrides.FindAsync(Reference() with { Sha256 = new string('0', 64) }, CancellationToken.None));
    }

    private ArtifactReference Reference() => new(new RemoteKind("pypi"), new ReferenceKey("pypi:gh-x", "gh_x-1.0.whl"), "gh-x", "gh_x-1.0.whl", _sha256, 10,
        "https://files.example/gh_x-1.0.whl", null, null);
}
