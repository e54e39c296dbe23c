using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Audit;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Audit;

/// <summary>
/// <see cref="AuditLog"/> and <see cref="AuditReader"/> over the <c>audit</c> table in Azurite: the index rows written
/// with each record, queries by artifact, token, time and action, paging, and the affected-consumer report. Each test
/// has its own artifacts, tokens and days (far in the future), so runs never see each other's rows.
/// </summary>
public sealed class AuditLogTests
{
    private readonly FakeTimeProvider _time;
    private readonly TableClient _table;
    private readonly AuditLog _log;
    private readonly AuditReader _reader;
    private readonly string _unique = Guid.NewGuid().ToString("N")[..10];
    private readonly string _sha = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());

    public AuditLogTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        var storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        storage.TablesService.CreateTableIfNotExists(GatehouseStorage.AuditTable);
        _table = storage.Table(GatehouseStorage.AuditTable);
        // A day of its own, somewhere in the seven millennia after 2200.
        _time = new FakeTimeProvider(new DateTimeOffset(2200, 1, 1, 12, 0, 0, TimeSpan.Zero).AddDays(Random.Shared.Next(0, 2_500_000)));
        _log = new AuditLog(storage, _time);
        _reader = new AuditReader(storage, _time);
    }

    private static CancellationToken Ct => CancellationToken.None;

    private string Project => "gh-audit-" + _unique;

    private AuditArtifact File(string version = "1.0") => new("pypi", $"{Project} {version}", $"gh_audit_{_unique}-{version}.tar.gz", _sha)
    {
        ReferencePartition = "pypi:" + Project,
        ReferenceRow = $"gh_audit_{_unique}-{version}.tar.gz",
    };

    private Task DownloadAsync(string token, string ip, AuditArtifact? artifact = null) =>
        _log.WriteAsync(new AuditEntry(AuditActions.DownloadAction, "download", "4096 bytes")
        {
            Artifact = artifact ?? File(),
            Caller = new Caller(token, "name of " + token, ip),
        }, Ct);

    [Fact]
    public async Task A_download_is_one_day_row_and_one_copy_per_index_partition_all_under_one_row_key()
    {
        var token = "tok" + _unique;
        await DownloadAsync(token, "10.0.0.1");

        var indexed = Assert.Single(await RowsAsync(AuditIndex.TokenKey(token)));
        var copies = await ListAsync($"RowKey eq '{indexed.RowKey}'");
        var day = AuditLog.DayPartition(_time.GetUtcNow());
        Assert.Equal(new[] { day, "package:" + Project, $"release:{Project}==1.0", "sha256:" + _sha, "token:" + token }.Order(StringComparer.Ordinal),
            copies.Select(c => c.PartitionKey).Order(StringComparer.Ordinal));
        Assert.All(copies, c =>
        {
            Assert.Equal(token, c.GetString("TokenId"));
            Assert.Equal("10.0.0.1", c.GetString("ClientIp"));
            Assert.Equal(_sha, c.GetString("Sha256"));
            Assert.Equal(_time.GetUtcNow(), c.GetDateTimeOffset("At"));
        });
        Assert.All(copies.Where(c => c.PartitionKey != day), c => Assert.Equal(day, c.GetString("Day")));
    }

    [Fact]
    public async Task Each_artifact_filter_and_the_token_find_the_same_records_newest_first()
    {
        var token = "tok" + _unique;
        await DownloadAsync(token, "10.0.0.1");
        _time.Advance(TimeSpan.FromMinutes(5));
        await DownloadAsync("other" + _unique, "10.0.0.2");
        _time.Advance(TimeSpan.FromMinutes(5));
        await DownloadAsync(token, "10.0.0.1", File("2.0") with { Sha256 = null });

        foreach (var (filter, expected) in new[] { (_sha, new[] { "10.0.0.2", "10.0.0.1" }), ($"{Project}==1.0", ["10.0.0.2", "10.0.0.1"]), (Project, ["10.0.0.1", "10.0.0.2", "10.0.0.1"]) })
        {
            var page = await QueryAsync(artifact: filter);
            Assert.Equal(expected, page.Records.Select(r => r.ClientIp));
            Assert.Null(page.Continuation);
        }
        var byToken = await QueryAsync(token: token);
        Assert.Equal(["2.0", "1.0"], byToken.Records.Select(r => r.Artifact!.Subject.Split(' ')[1]));
        var both = await QueryAsync(artifact: Project, token: token);
        Assert.Equal(2, both.Records.Count);
        Assert.All(both.Records, r => Assert.Equal(token, r.TokenId));
        Assert.Equal(new AuditArtifact("pypi", $"{Project} 1.0", $"gh_audit_{_unique}-1.0.tar.gz", _sha) { ReferencePartition = "pypi:" + Project, ReferenceRow = $"gh_audit_{_unique}-1.0.tar.gz" },
            both.Records[1].Artifact);
    }

    [Fact]
    public async Task A_time_range_and_an_action_narrow_an_index_query()
    {
        var token = "tok" + _unique;
        var start = _time.GetUtcNow();
        for (var i = 0; i < 4; i++)
        {
            await DownloadAsync(token, $"10.0.0.{i}");
            _time.Advance(TimeSpan.FromHours(1));
        }
        await _log.WriteAsync(new AuditEntry(AuditActions.DecisionAction, "decision", "Quarantined by recalled") { Artifact = File(), Caller = new Caller(token, null, null) }, Ct);

        var middle = await QueryAsync(artifact: _sha, from: start.AddMinutes(30), to: start.AddHours(2), action: AuditActions.DownloadAction);
        Assert.Equal(["10.0.0.2", "10.0.0.1"], middle.Records.Select(r => r.ClientIp));
        var exact = await QueryAsync(artifact: _sha, from: start.AddHours(1), to: start.AddHours(1));
        Assert.Equal(["10.0.0.1"], exact.Records.Select(r => r.ClientIp));
        var decisions = await QueryAsync(token: token, action: AuditActions.DecisionAction);
        Assert.Equal(["Quarantined by recalled"], decisions.Records.Select(r => r.Detail));
    }

    [Fact]
    public async Task Pages_of_an_index_follow_each_other_without_gaps_or_repeats()
    {
        var token = "tok" + _unique;
        for (var i = 0; i < 7; i++)
        {
            await DownloadAsync(token, $"10.0.0.{i}");
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var seen = new List<string?>();
        string? continuation = null;
        var pages = 0;
        do
        {
            var page = await QueryAsync(token: token, limit: 3, continuation: continuation);
            Assert.InRange(page.Records.Count, 1, 3);
            seen.AddRange(page.Records.Select(r => r.ClientIp));
            continuation = page.Continuation;
            pages++;
        }
        while (continuation is not null && pages < 10);
        Assert.Equal(Enumerable.Range(0, 7).Reverse().Select(i => $"10.0.0.{i}"), seen);
    }

    [Fact]
    public async Task Without_artifact_or_token_the_days_are_read_backwards_a_page_at_a_time_across_days()
    {
        var action = "test." + _unique;
        var first = _time.GetUtcNow();
        for (var day = 0; day < 4; day++)
        {
            await _log.WriteAsync(new AuditEntry(action, "day " + day, "") { Caller = new Caller(null, null, null) }, Ct);
            _time.Advance(TimeSpan.FromDays(1));
        }
        // A day with nothing in it, then the query.
        _time.Advance(TimeSpan.FromDays(1));

        var subjects = new List<string>();
        string? continuation = null;
        var pages = 0;
        do
        {
            var page = await QueryAsync(action: action, from: first.AddHours(-1), limit: 3, continuation: continuation);
            subjects.AddRange(page.Records.Select(r => r.Subject));
            continuation = page.Continuation;
            pages++;
        }
        while (continuation is not null && pages < 10);
        Assert.Equal(["day 3", "day 2", "day 1", "day 0"], subjects);
        Assert.Equal(2, pages);
        Assert.Equal(["day 2", "day 1"], (await QueryAsync(action: action, from: first.AddDays(1), to: first.AddDays(2))).Records.Select(r => r.Subject));
    }

    [Fact]
    public async Task A_continuation_of_another_query_or_of_nothing_is_refused()
    {
        var token = "tok" + _unique;
        for (var i = 0; i < 2; i++)
        {
            await DownloadAsync(token, "10.0.0.1");
        }
        var page = await QueryAsync(token: token, limit: 1);
        Assert.NotNull(page.Continuation);

        await Assert.ThrowsAsync<FormatException>(() => QueryAsync(token: "someone-else", limit: 1, continuation: page.Continuation));
        await Assert.ThrowsAsync<FormatException>(() => QueryAsync(action: "x", limit: 1, continuation: page.Continuation));
        await Assert.ThrowsAsync<FormatException>(() => QueryAsync(token: token, continuation: "%%%"));
    }

    [Fact]
    public async Task The_text_form_names_the_current_requests_caller_and_indexes_a_token_action_under_the_token_it_is_about()
    {
        var admin = "adm" + _unique;
        var target = "new" + _unique;
        Caller.Ambient = new Caller(admin, "the admin", "192.0.2.7");
        try
        {
            await _log.WriteAsync("token.create", target, "reader (Read)", Ct);
        }
        finally
        {
            Caller.Ambient = null;
        }

        var about = Assert.Single((await QueryAsync(token: target)).Records);
        Assert.Equal(("token.create", admin, "the admin", "192.0.2.7", target), (about.Action, about.TokenId, about.TokenName, about.ClientIp, about.SubjectTokenId));
        Assert.Equal("token.create", Assert.Single((await QueryAsync(token: admin)).Records).Action);
    }

    [Fact]
    public async Task The_affected_report_groups_downloads_per_token_with_their_addresses_times_and_counts_and_each_files_decision()
    {
        var alice = "alice" + _unique;
        var bob = "bob" + _unique;
        var first = _time.GetUtcNow();
        await DownloadAsync(alice, "10.0.0.1");
        _time.Advance(TimeSpan.FromHours(1));
        await DownloadAsync(bob, "10.0.0.9");
        _time.Advance(TimeSpan.FromHours(1));
        await DownloadAsync(alice, "10.0.0.2");
        await _log.WriteAsync(new AuditEntry(AuditActions.DecisionAction, "d", "Quarantined") { Artifact = File(), Caller = new Caller("carol" + _unique, null, null) }, Ct);

        var filter = AuditIndex.ParseFilter($"{Project}==1.0", out _)!;
        var decisions = new FixedDecisions(new AuditDecision("Quarantined", "policy.rule", "recalled", "v2", "policy"));
        var report = await AffectedReport.BuildAsync(filter, await _reader.DownloadsAsync(filter, Ct), decisions, Ct);

        Assert.Equal($"{Project}==1.0", report.Artifact);
        var file = Assert.Single(report.Artifacts);
        Assert.Equal(new AffectedArtifact("pypi", $"{Project} 1.0", $"gh_audit_{_unique}-1.0.tar.gz", _sha, decisions.Decision, 3), file);
        Assert.Equal([File()], decisions.Asked);
        Assert.Equal(2, report.Consumers.Count);
        var a = report.Consumers[0];
        Assert.Equal((alice, "name of " + alice, first, first.AddHours(2), 2), (a.TokenId, a.TokenName, a.FirstDownload, a.LastDownload, a.DownloadCount));
        Assert.Equal(["10.0.0.1", "10.0.0.2"], a.ClientIps);
        var b = report.Consumers[1];
        Assert.Equal((bob, first.AddHours(1), first.AddHours(1), 1), (b.TokenId, b.FirstDownload, b.LastDownload, b.DownloadCount));
        Assert.False(report.Truncated);
    }

    [Fact]
    public async Task An_artifact_nobody_downloaded_has_an_empty_report()
    {
        var filter = AuditIndex.ParseFilter(_sha, out _)!;
        var report = await AffectedReport.BuildAsync(filter, await _reader.DownloadsAsync(filter, Ct), null, Ct);
        Assert.Empty(report.Artifacts);
        Assert.Empty(report.Consumers);
    }

    private Task<AuditPage> QueryAsync(string? artifact = null, string? token = null, DateTimeOffset? from = null, DateTimeOffset? to = null, string? action = null,
        int limit = AuditQuery.DefaultLimit, string? continuation = null) =>
        _reader.QueryAsync(new AuditQuery(artifact is null ? null : AuditIndex.ParseFilter(artifact, out _), token, from, to, action, limit, continuation), Ct);

    private Task<List<TableEntity>> RowsAsync(string partition) => ListAsync(TableClient.CreateQueryFilter($"PartitionKey eq {partition}"));

    private async Task<List<TableEntity>> ListAsync(string filter)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in _table.QueryAsync<TableEntity>(filter))
        {
            rows.Add(row);
        }
        return rows;
    }

    private sealed class FixedDecisions(AuditDecision decision) : IArtifactDecisions
    {
        public AuditDecision Decision => decision;

        public List<AuditArtifact> Asked { get; } = [];

        public Task<AuditDecision?> CurrentAsync(AuditArtifact artifact, CancellationToken cancellationToken)
        {
            Asked.Add(artifact);
            return Task.FromResult<AuditDecision?>(decision);
        }
    }
}
