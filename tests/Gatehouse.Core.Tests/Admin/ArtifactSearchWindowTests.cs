using System.Runtime.CompilerServices;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Admin;
using Gatehouse.Audit;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Gatehouse.Tokens;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Admin;

/// <summary>
/// The newest decisions without a walk over every reference: when the last day holds more decisions than asked for,
/// they are the newest; when it holds too few, every reference is read. Over a catalog in memory that records its walks.
/// </summary>
public sealed class ArtifactSearchWindowTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 5, 0, 0, TimeSpan.Zero);
    private readonly RecordingCatalog _catalog = new();
    private readonly ArtifactSearch _search;

    public ArtifactSearchWindowTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        var storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        var time = new FakeTimeProvider(Now);
        // An empty search reads neither the audit nor the tokens.
        _search = new ArtifactSearch(_catalog, new ReferenceStore(storage), new AuditReader(storage, time),
            EntitlementTokenService.ForStorage(storage, time, new MemoryCache(new MemoryCacheOptions())), time);
    }

    private static CatalogReference Row(int i, DateTimeOffset? decidedAt) =>
        new("pypi", "pypi:p", $"f{i}.whl", "p 1.0", $"f{i}.whl", i.ToString("x64"), 1, decidedAt is null ? null : Decision.Allowed, "", "", "", decidedAt);

    [Fact]
    public async Task More_decisions_in_the_last_day_than_the_limit_are_answered_from_that_day_alone()
    {
        _catalog.Rows.AddRange([Row(1, Now.AddHours(-1)), Row(2, Now.AddHours(-2)), Row(3, Now.AddHours(-3)), Row(4, Now.AddDays(-3)), Row(5, null)]);

        var found = await _search.SearchAsync("", null, 2, CancellationToken.None);

        Assert.Equal(["f1.whl", "f2.whl"], found.Items.Select(i => i.File));
        Assert.True(found.Truncated);
        Assert.Equal([Now - ArtifactSearch.RecentWindow], _catalog.Walks);
    }

    [Fact]
    public async Task Too_few_in_the_last_day_and_every_reference_is_read()
    {
        _catalog.Rows.AddRange([Row(1, Now.AddHours(-1)), Row(4, Now.AddDays(-3)), Row(5, null)]);

        var found = await _search.SearchAsync("", null, 2, CancellationToken.None);

        Assert.Equal(["f1.whl", "f4.whl"], found.Items.Select(i => i.File));
        Assert.False(found.Truncated);
        Assert.Equal([Now - ArtifactSearch.RecentWindow, null], _catalog.Walks);
    }

    private sealed class RecordingCatalog : IReferenceCatalog
    {
        public List<CatalogReference> Rows { get; } = [];
        public List<DateTimeOffset?> Walks { get; } = [];

        public async IAsyncEnumerable<CatalogReference> ListAsync(ReferenceColumns columns, DateTimeOffset? decidedSince,
            [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            Walks.Add(decidedSince);
            await Task.Yield();
            foreach (var row in Rows.Where(r => decidedSince is null || r.DecidedAt >= decidedSince))
            {
                yield return row;
            }
        }

        public Task<CatalogReference?> GetAsync(string partition, string row, CancellationToken cancellationToken) =>
            Task.FromResult(Rows.SingleOrDefault(r => r.Partition == partition && r.Row == row));
    }
}
