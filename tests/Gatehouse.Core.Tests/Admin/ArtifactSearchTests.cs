using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Admin;
using Gatehouse.Audit;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Gatehouse.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Admin;

/// <summary>
/// <see cref="ReferenceCatalog"/> and <see cref="ArtifactSearch"/> over the <c>references</c>, <c>verdicts</c>, <c>audit</c>
/// and <c>tokens</c> tables in Azurite, written the way Gatehouse writes them (<see cref="ReferenceStore"/>,
/// <see cref="AuditLog"/>, <see cref="EntitlementTokenService"/>). Each test names its own projects and contents and
/// decides them in a year of its own far ahead, so tests and runs never see each other's rows first.
/// </summary>
public sealed class ArtifactSearchTests
{
    private readonly GatehouseStorage _storage;
    private readonly FakeTimeProvider _time;
    private readonly ReferenceStore _references;
    private readonly ReferenceCatalog _catalog;
    private readonly AuditLog _audit;
    private readonly EntitlementTokenService _tokens;
    private readonly ArtifactSearch _search;
    private readonly string _unique = "cs" + Guid.NewGuid().ToString("N")[..10];

    public ArtifactSearchTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        _storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        _storage.EnsureCreatedAsync(CancellationToken.None).GetAwaiter().GetResult();
        _time = new FakeTimeProvider(new DateTimeOffset(8000, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(Random.Shared.Next(0, 900_000_000)));
        _references = new ReferenceStore(_storage);
        _catalog = new ReferenceCatalog(_storage);
        _audit = new AuditLog(_storage, _time);
        _tokens = EntitlementTokenService.ForStorage(_storage, _time, new MemoryCache(new MemoryCacheOptions()));
        _search = new ArtifactSearch(_catalog, _references, new AuditReader(_storage, _time), _tokens, _time);
    }

    private static CancellationToken Ct => CancellationToken.None;

    private static string NewSha() => Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());

    /// <summary>Records a reference and, unless <paramref name="decision"/> is null, its decision <paramref name="minutesAgo"/> before the test's now.</summary>
    private async Task<ArtifactReference> RecordAsync(string remote, string subject, string file, string? sha256 = null, Decision? decision = Decision.Allowed,
        int minutesAgo = 0, long size = 4096)
    {
        var partition = $"{remote}:{ReferenceKey.Escape(subject.Split(' ', '@')[0])}";
        var reference = new ArtifactReference(new RemoteKind(remote), new ReferenceKey(partition, ReferenceKey.Escape(file)), subject, file, sha256 ?? NewSha(), size,
            $"https://files.example/{file}", null);
        await _references.RecordAsync(reference, Ct);
        if (decision is { } d)
        {
            Assert.True(await _references.RecordDecisionAsync(reference,
                new ArtifactDecision(d, d == Decision.Allowed ? "policy.clean" : "install.pth-exec", d == Decision.Allowed ? "allowed" : "a .pth file runs code", "policy-test",
                    _time.GetUtcNow().AddMinutes(-minutesAgo)) { PolicyRule = d == Decision.Allowed ? "default" : "content-dangerous" }, Ct));
        }
        return reference;
    }

    private async Task<List<string>> FilesAsync(string? q, string? remote = null, int limit = ArtifactSearch.MaxLimit) =>
        [.. (await _search.SearchAsync(q, remote, limit, Ct)).Items.Where(i => i.Subject.Contains(_unique, StringComparison.Ordinal)).Select(i => i.File)];

    [Fact]
    public async Task The_catalog_reads_a_reference_with_its_decision_and_the_tally_reads_only_what_it_counts()
    {
        var reference = await RecordAsync("pypi", $"{_unique}-a 1.0", $"{_unique}_a-1.0.tar.gz", decision: Decision.Quarantined, minutesAgo: 5, size: 1234);

        var whole = await _catalog.GetAsync(reference.Key.Partition, reference.Key.Row, Ct);
        CatalogReference? tallied = null;
        await foreach (var row in _catalog.ListAsync(ReferenceColumns.Tally, null, Ct))
        {
            if (row.Partition == reference.Key.Partition && row.Row == reference.Key.Row)
            {
                tallied = row;
            }
        }

        Assert.Equal(new CatalogReference("pypi", reference.Key.Partition, reference.Key.Row, $"{_unique}-a 1.0", $"{_unique}_a-1.0.tar.gz", reference.Sha256, 1234,
            Decision.Quarantined, "install.pth-exec", "content-dangerous", "a .pth file runs code", _time.GetUtcNow().AddMinutes(-5)), whole);
        Assert.Equal("1.0", whole!.Version);
        Assert.NotNull(tallied);
        Assert.Equal((reference.Sha256, 1234L, (Decision?)Decision.Quarantined, (DateTimeOffset?)_time.GetUtcNow().AddMinutes(-5)),
            (tallied.Sha256, tallied.Size, tallied.Decision, tallied.DecidedAt));
        Assert.Equal(("", ""), (tallied.Subject, tallied.Reason));
    }

    [Fact]
    public async Task Rows_that_are_not_references_are_skipped_and_a_decision_without_a_policy_version_is_none()
    {
        var table = _storage.Table(GatehouseStorage.ReferencesTable);
        var partition = "pypi:" + _unique;
        var sha = NewSha();
        await table.UpsertEntityAsync(new TableEntity(partition, "event:1") { ["Kind"] = "decision" }, cancellationToken: Ct);
        await table.UpsertEntityAsync(new TableEntity(partition, "old.whl")
        {
            ["Remote"] = "pypi", ["Subject"] = $"{_unique} 0.1", ["FileName"] = "old.whl", ["Sha256"] = sha, ["Size"] = 10L, ["Decision"] = "Blocked",
        }, cancellationToken: Ct);

        var rows = new List<CatalogReference>();
        await foreach (var row in _catalog.ListAsync(ReferenceColumns.Listing, null, Ct))
        {
            if (row.Partition == partition)
            {
                rows.Add(row);
            }
        }

        var old = Assert.Single(rows);
        Assert.Equal(("old.whl", (Decision?)null, (DateTimeOffset?)null), (old.Row, old.Decision, old.DecidedAt));
    }

    [Fact]
    public async Task A_sha256_finds_every_reference_to_the_content_and_a_hex_prefix_of_eight_digits_does_too()
    {
        var sha = NewSha();
        await RecordAsync("pypi", $"{_unique}-b 2.0", $"{_unique}_b-2.0-py3-none-any.whl", sha, minutesAgo: 2);
        await RecordAsync("uploads", $"models/{_unique}/b", "weights.bin", sha, Decision.Blocked, minutesAgo: 1);
        await RecordAsync("pypi", $"{_unique}-b 2.1", $"{_unique}_b-2.1-py3-none-any.whl");

        var exact = (await _search.SearchAsync(sha.ToUpperInvariant(), null, 50, Ct)).Items;
        var prefixed = await FilesAsync(sha[..8]);

        Assert.Equal(["weights.bin", $"{_unique}_b-2.0-py3-none-any.whl"], exact.Select(i => i.File));
        Assert.All(exact, i => Assert.Equal(sha, i.Sha256));
        Assert.Equal("Blocked", exact[0].Decision.ToString());
        Assert.Equal(["weights.bin", $"{_unique}_b-2.0-py3-none-any.whl"], prefixed);
        Assert.DoesNotContain($"{_unique}_b-2.0-py3-none-any.whl", await FilesAsync(sha[..7]));
    }

    [Fact]
    public async Task A_subject_matches_in_any_case_a_file_name_by_part_and_a_version_exactly()
    {
        await RecordAsync("pypi", $"{_unique}-torchish 3.1.4", $"{_unique}_torchish-3.1.4-py3-none-any.whl", minutesAgo: 3);
        await RecordAsync("hf", $"org/{_unique}-model@0123456789abcdef0123456789abcdef01234567", "model.safetensors", minutesAgo: 2);
        await RecordAsync("pypi", $"{_unique}-other 9.9", $"{_unique}_other-9.9.tar.gz", minutesAgo: 1);

        Assert.Equal([$"{_unique}_torchish-3.1.4-py3-none-any.whl"], await FilesAsync($"{_unique}-TORCHISH"));
        Assert.Equal(["model.safetensors"], await FilesAsync($"ORG/{_unique}-model"));
        Assert.Equal([$"{_unique}_other-9.9.tar.gz", $"{_unique}_torchish-3.1.4-py3-none-any.whl"], await FilesAsync($"{_unique}_"));
        Assert.Equal(["model.safetensors"], (await _search.SearchAsync("model.safetensors", "hf", 500, Ct)).Items
            .Where(i => i.Subject.Contains(_unique, StringComparison.Ordinal)).Select(i => i.File));
        var byVersion = (await _search.SearchAsync("3.1.4", "pypi", 500, Ct)).Items.Where(i => i.Subject.Contains(_unique, StringComparison.Ordinal)).ToList();
        Assert.Equal("3.1.4", Assert.Single(byVersion).Version);
    }

    [Fact]
    public async Task A_token_id_or_name_finds_what_that_token_downloaded_from_the_audit_and_nothing_else()
    {
        var created = await _tokens.CreateAsync($"ci {_unique}", TokenScope.Read, Ct);
        var downloaded = await RecordAsync("pypi", $"{_unique}-dl 1.0", $"{_unique}_dl-1.0.tar.gz", minutesAgo: 4);
        var alsoDownloaded = await RecordAsync("hf", $"org/{_unique}@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "config.json", minutesAgo: 3);
        await RecordAsync("pypi", $"{_unique}-notdl 1.0", $"{_unique}_notdl-1.0.tar.gz", minutesAgo: 2);
        foreach (var reference in new[] { downloaded, alsoDownloaded, downloaded })
        {
            await _audit.WriteAsync(new AuditEntry(AuditActions.DownloadAction, "download", "4096 bytes")
            {
                Artifact = new AuditArtifact(reference.Remote.Name, reference.Subject, reference.FileName, reference.Sha256)
                {
                    ReferencePartition = reference.Key.Partition,
                    ReferenceRow = reference.Key.Row,
                },
                Caller = new Caller(created.Token.Id, created.Token.Name, "10.0.0.1"),
            }, Ct);
        }

        var byId = await _search.SearchAsync(created.Token.Id, null, 50, Ct);
        var byName = await _search.SearchAsync($"CI {_unique.ToUpperInvariant()}", null, 50, Ct);
        var hfOnly = await _search.SearchAsync(created.Token.Id, "hf", 50, Ct);

        Assert.Equal(["config.json", $"{_unique}_dl-1.0.tar.gz"], byId.Items.Where(i => i.Subject.Contains(_unique, StringComparison.Ordinal)).Select(i => i.File));
        Assert.Equal(["config.json", $"{_unique}_dl-1.0.tar.gz"], byName.Items.Select(i => i.File));
        Assert.Equal(["config.json"], hfOnly.Items.Where(i => i.Subject.Contains(_unique, StringComparison.Ordinal)).Select(i => i.File));
    }

    [Fact]
    public async Task Matches_come_newest_decision_first_cut_at_the_limit_and_say_when_more_matched()
    {
        // Later than the other tests' decisions, so these are among the newest of the whole table.
        _time.SetUtcNow(new DateTimeOffset(9999, 12, 30, 0, 0, 0, TimeSpan.Zero).AddSeconds(Random.Shared.Next(0, 80_000)));
        for (var i = 0; i < 5; i++)
        {
            await RecordAsync("pypi", $"{_unique}-many 1.{i}", $"{_unique}_many-1.{i}.tar.gz", minutesAgo: 10 - i);
        }
        await RecordAsync("pypi", $"{_unique}-many 2.0", $"{_unique}_many-2.0.tar.gz", decision: null);

        var cut = await _search.SearchAsync($"{_unique}-many", null, 3, Ct);
        var all = await _search.SearchAsync($"{_unique}-many", null, 6, Ct);
        var newest = await _search.SearchAsync("", null, ArtifactSearch.MaxLimit, Ct);

        Assert.True(cut.Truncated);
        Assert.Equal([$"{_unique}_many-1.4.tar.gz", $"{_unique}_many-1.3.tar.gz", $"{_unique}_many-1.2.tar.gz"], cut.Items.Select(i => i.File));
        Assert.False(all.Truncated);
        // An undecided reference matches a search, last; it is no decision, so the newest decisions leave it out.
        Assert.Equal($"{_unique}_many-2.0.tar.gz", all.Items[^1].File);
        Assert.Null(all.Items[^1].Decision);
        Assert.All(newest.Items, i => Assert.NotNull(i.Decision));
        Assert.Equal(newest.Items.OrderBy(i => i, ConsoleStats.NewestFirst.Instance), newest.Items);
        Assert.Equal(Enumerable.Range(0, 5).Reverse().Select(i => $"{_unique}_many-1.{i}.tar.gz"),
            newest.Items.Where(i => i.Subject.Contains(_unique, StringComparison.Ordinal)).Select(i => i.File));
    }

    [Theory]
    [InlineData("?remote=npm", "'remote' is one of pypi, hf, uploads")]
    [InlineData("?limit=0", "'limit' is a whole number from 1 to 500")]
    [InlineData("?limit=501", "'limit' is a whole number from 1 to 500")]
    [InlineData("?limit=ten", "'limit' is a whole number from 1 to 500")]
    [InlineData("?sort=name", "Unknown parameter 'sort'; artifacts are searched by q, remote and limit")]
    [InlineData("?q=a&q=b", "Give 'q' once")]
    [InlineData("?q=a%00b", "'q' is at most 500 printable characters")]
    public async Task A_bad_search_is_a_400_that_says_what_is_wrong(string queryString, string error)
    {
        var context = new DefaultHttpContext { Request = { Method = "GET", QueryString = new QueryString(queryString) } };
        context.Response.Body = new MemoryStream();

        await new AdminArtifactsEndpoint(_search).HandleAsync(context);

        Assert.Equal(StatusCodes.Status400BadRequest, context.Response.StatusCode);
        context.Response.Body.Position = 0;
        Assert.Contains(error, await new StreamReader(context.Response.Body).ReadToEndAsync(Ct), StringComparison.Ordinal);
    }
}
