using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Gatehouse.WebConsole;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.WebConsole;

/// <summary>Console sessions on Azurite, on a fake clock: what the table keeps, expiry, sign-out, and the CSRF check.</summary>
public sealed class ConsoleSessionsTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly GatehouseStorage _storage;
    private readonly ConsoleSessions _sessions;

    public ConsoleSessionsTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        _storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        _storage.TablesService.CreateTableIfNotExists(GatehouseStorage.ConsoleSessionsTable);
        _sessions = new ConsoleSessions(_storage, _time);
    }

    [Fact]
    public async Task A_session_is_found_by_its_cookie_until_it_expires_and_the_table_holds_neither_the_cookie_nor_a_secret()
    {
        var (cookie, started) = await _sessions.StartAsync("0123456789ab", "reviewer", null, Ct);

        Assert.Equal(43, cookie.Length);
        Assert.Equal(_time.GetUtcNow() + ConsoleSessions.Lifetime, started.ExpiresAt);
        var found = await _sessions.FindAsync(cookie, Ct);
        Assert.Equal(started, found);
        await foreach (var row in _storage.Table(GatehouseStorage.ConsoleSessionsTable).QueryAsync<TableEntity>(cancellationToken: Ct))
        {
            Assert.NotEqual(cookie, row.RowKey);
            Assert.DoesNotContain(((IDictionary<string, object>)row).Values, v => v is string s && s.Contains(cookie, StringComparison.Ordinal));
        }

        _time.Advance(ConsoleSessions.Lifetime - TimeSpan.FromSeconds(1));
        Assert.NotNull(await _sessions.FindAsync(cookie, Ct));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await _sessions.FindAsync(cookie, Ct));
    }

    [Fact]
    public async Task A_session_ends_no_later_than_its_token_and_at_sign_out()
    {
        var tokenExpires = _time.GetUtcNow().AddMinutes(30);
        var (cookie, started) = await _sessions.StartAsync("0123456789ab", "reviewer", tokenExpires, Ct);
        Assert.Equal(tokenExpires, started.ExpiresAt);

        await _sessions.EndAsync(cookie, Ct);
        Assert.Null(await _sessions.FindAsync(cookie, Ct));
        await _sessions.EndAsync(cookie, Ct); // twice is fine
    }

    [Theory]
    [InlineData("")]
    [InlineData("short")]
    [InlineData("../../../../etc/passwd")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'")]
    public async Task A_malformed_or_unknown_cookie_finds_nothing(string cookie) => Assert.Null(await _sessions.FindAsync(cookie, Ct));

    [Fact]
    public async Task Only_the_sessions_own_csrf_token_matches()
    {
        var (_, session) = await _sessions.StartAsync("0123456789ab", "reviewer", null, Ct);
        var (_, other) = await _sessions.StartAsync("0123456789ab", "reviewer", null, Ct);

        Assert.True(session.CsrfMatches(session.Csrf));
        Assert.False(session.CsrfMatches(other.Csrf));
        Assert.False(session.CsrfMatches(null));
        Assert.False(session.CsrfMatches(""));
        Assert.False(session.CsrfMatches(session.Csrf[..^1]));
    }
}
