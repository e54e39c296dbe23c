using System.Collections.Concurrent;
using System.Net;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Configuration;
using Gatehouse.Core.Tests.Pipeline;
using Gatehouse.Events;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Gatehouse.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Tokens;

/// <summary>The token service on Azurite, on a fake clock: limits, rotation, revocation across instances, exact counters.</summary>
public sealed class EntitlementTokenServiceTests : IDisposable
{
    private static readonly IPAddress Client = IPAddress.Parse("10.1.2.3");
    private static readonly CancellationToken Ct = CancellationToken.None;

    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly GatehouseStorage _storage;
    private readonly FakeAudit _audit = new();
    private readonly Outbox _events = new();
    private readonly List<MemoryCache> _caches = [];
    private readonly EntitlementTokenService _tokens;

    public EntitlementTokenServiceTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        _storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        _storage.TablesService.CreateTableIfNotExists(GatehouseStorage.TokensTable);
        _tokens = Instance();
    }

    public void Dispose()
    {
        foreach (var cache in _caches)
        {
            cache.Dispose();
        }
    }

    /// <summary>Another instance: its own cache, the same table and clock.</summary>
    private EntitlementTokenService Instance(int cacheMilliseconds = 1000)
    {
        var cache = new MemoryCache(new MemoryCacheOptions());
        _caches.Add(cache);
        return new EntitlementTokenService(_storage, _time, cache, _audit, _events,
            Options.Create(new GatehouseOptions { Auth = { TokenCacheMilliseconds = cacheMilliseconds } }));
    }

    private Task<CreatedToken> CreateAsync(TokenLimits? limits = null, params string[] scopes) =>
        _tokens.CreateAsync("test", TokenGrant.ParseAll(scopes.Length == 0 ? ["read"] : scopes), limits ?? TokenLimits.None, "a test", Ct);

    [Fact]
    public async Task A_live_token_checks_out_with_its_grants_and_a_wrong_secret_does_not()
    {
        var created = await CreateAsync(null, "pypi:read=numpy", "hf:read");
        var check = await _tokens.CheckAsync(created.Secret, Client, Ct);
        Assert.Equal(created.Token.Id, check.Token?.Id);
        Assert.Equal(["pypi:read=numpy", "hf:read"], check.Token!.Grants.Select(g => g.ToString()));

        var wrong = created.Secret[..^1] + (created.Secret[^1] == 'a' ? 'b' : 'a');
        var refused = await _tokens.CheckAsync(wrong, Client, Ct);
        Assert.Null(refused.Token);
        Assert.Equal(StatusCodes.Status401Unauthorized, refused.Status);
    }

    [Fact]
    public async Task An_expired_token_is_refused_401_from_its_expiry_on()
    {
        var created = await CreateAsync(new TokenLimits(ExpiresAt: _time.GetUtcNow().AddHours(1)));
        Assert.NotNull((await _tokens.CheckAsync(created.Secret, Client, Ct)).Token);
        _time.Advance(TimeSpan.FromHours(1));
        var check = await _tokens.CheckAsync(created.Secret, Client, Ct);
        Assert.Equal(StatusCodes.Status401Unauthorized, check.Status);
        Assert.Contains("expired", check.Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_is_refused_403_from_an_address_outside_its_allow_list()
    {
        var created = await CreateAsync(new TokenLimits(AllowedIps: ["10.0.0.0/8", "2001:db8::/32"]));
        Assert.NotNull((await _tokens.CheckAsync(created.Secret, Client, Ct)).Token);
        Assert.NotNull((await _tokens.CheckAsync(created.Secret, IPAddress.Parse("2001:db8::1"), Ct)).Token);
        var check = await _tokens.CheckAsync(created.Secret, IPAddress.Parse("192.0.2.1"), Ct);
        Assert.Equal(StatusCodes.Status403Forbidden, check.Status);
        Assert.Contains("192.0.2.1", check.Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_download_limit_refuses_the_token_once_reached()
    {
        var created = await CreateAsync(new TokenLimits(MaxDownloads: 2));
        await _tokens.RecordDownloadAsync(created.Token.Id, 10, _time.GetUtcNow(), Ct);
        Assert.NotNull((await _tokens.CheckAsync(created.Secret, Client, Ct)).Token);
        await _tokens.RecordDownloadAsync(created.Token.Id, 10, _time.GetUtcNow(), Ct);
        var check = await _tokens.CheckAsync(created.Secret, Client, Ct);
        Assert.Equal(StatusCodes.Status403Forbidden, check.Status);
        Assert.Contains("limit of 2 downloads", check.Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_bandwidth_limit_is_per_rolling_day_and_frees_up_as_hours_pass()
    {
        var created = await CreateAsync(new TokenLimits(MaxBytesPerDay: 1000));
        await _tokens.RecordDownloadAsync(created.Token.Id, 600, _time.GetUtcNow(), Ct);
        _time.Advance(TimeSpan.FromHours(2));
        await _tokens.RecordDownloadAsync(created.Token.Id, 400, _time.GetUtcNow(), Ct);
        var check = await _tokens.CheckAsync(created.Secret, Client, Ct);
        Assert.Equal(StatusCodes.Status403Forbidden, check.Status);
        Assert.Contains("per rolling day", check.Refusal, StringComparison.Ordinal);

        // A day after the first download its hour has left the window; the second's has not.
        _time.Advance(TimeSpan.FromHours(23));
        var again = await Instance().CheckAsync(created.Secret, Client, Ct);
        Assert.NotNull(again.Token);
        var usage = (await _tokens.GetAsync(created.Token.Id, Ct))!.Usage;
        Assert.Equal((2L, 1000L, 400L), (usage.Downloads, usage.Bytes, usage.BytesLastDay));
    }

    [Fact]
    public async Task Counters_are_exact_when_several_instances_count_at_once()
    {
        var created = await CreateAsync();
        var instances = Enumerable.Range(0, 4).Select(_ => Instance()).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => instances[i % 4].RecordDownloadAsync(created.Token.Id, 3, _time.GetUtcNow(), Ct)));
        var usage = (await _tokens.GetAsync(created.Token.Id, Ct))!.Usage;
        Assert.Equal((40L, 120L, 120L), (usage.Downloads, usage.Bytes, usage.BytesLastDay));
        Assert.Equal(_time.GetUtcNow(), usage.LastUsedAt);
    }

    [Fact]
    public async Task After_a_rotation_both_secrets_work_for_the_grace_period_then_only_the_new_one()
    {
        var created = await CreateAsync(new TokenLimits(MaxDownloads: 5));
        var rotated = await _tokens.RotateAsync(created.Token.Id, TimeSpan.FromHours(2), "a test", Ct);
        Assert.NotNull(rotated);
        Assert.Equal(created.Token.Id, rotated.Token.Id);
        Assert.NotEqual(created.Secret, rotated.Secret);
        Assert.Equal(5, rotated.Token.Limits.MaxDownloads);
        Assert.NotNull((await _tokens.CheckAsync(created.Secret, Client, Ct)).Token);
        Assert.NotNull((await _tokens.CheckAsync(rotated.Secret, Client, Ct)).Token);

        _time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(StatusCodes.Status401Unauthorized, (await _tokens.CheckAsync(created.Secret, Client, Ct)).Status);
        Assert.NotNull((await _tokens.CheckAsync(rotated.Secret, Client, Ct)).Token);
        Assert.Contains(_audit.Rows, r => r.Action == "token.rotate" && r.Subject == created.Token.Id);
    }

    [Fact]
    public async Task A_rotation_without_grace_ends_the_old_secret_now()
    {
        var created = await CreateAsync();
        var rotated = await _tokens.RotateAsync(created.Token.Id, TimeSpan.Zero, "a test", Ct);
        Assert.Equal(StatusCodes.Status401Unauthorized, (await _tokens.CheckAsync(created.Secret, Client, Ct)).Status);
        Assert.NotNull((await _tokens.CheckAsync(rotated!.Secret, Client, Ct)).Token);
    }

    [Fact]
    public async Task A_revocation_by_another_instance_is_seen_once_the_cache_lapses_and_is_announced()
    {
        var created = await CreateAsync();
        Assert.NotNull((await _tokens.CheckAsync(created.Secret, Client, Ct)).Token);

        Assert.True(await Instance().RevokeAsync(created.Token.Id, "another process", Ct));
        // Within the cache's second this instance may still hold the row; after it, it must not.
        await Task.Delay(TimeSpan.FromMilliseconds(1100));
        var check = await _tokens.CheckAsync(created.Secret, Client, Ct);
        Assert.Equal(StatusCodes.Status401Unauthorized, check.Status);
        Assert.Contains("revoked", check.Refusal, StringComparison.Ordinal);

        var revoked = Assert.Single(_events.Events, e => e.Subject == $"tokens/{created.Token.Id}");
        Assert.Equal(GatehouseEventTypes.TokenRevoked, revoked.Type);
        Assert.Contains(_audit.Rows, r => r.Action == "token.revoke" && r.Subject == created.Token.Id && r.Detail.Contains("another process", StringComparison.Ordinal));

        // Revoking again changes nothing and announces nothing more.
        Assert.True(await _tokens.RevokeAsync(created.Token.Id, "a test", Ct));
        Assert.Single(_events.Events, e => e.Subject == $"tokens/{created.Token.Id}");
        Assert.False(await _tokens.RevokeAsync("000000000000", "a test", Ct));
    }

    [Fact]
    public async Task Limits_and_scopes_can_be_changed_and_the_change_is_audited()
    {
        var created = await CreateAsync(new TokenLimits(MaxDownloads: 1));
        await _tokens.RecordDownloadAsync(created.Token.Id, 1, _time.GetUtcNow(), Ct);
        Assert.Equal(StatusCodes.Status403Forbidden, (await _tokens.CheckAsync(created.Secret, Client, Ct)).Status);

        var updated = await _tokens.UpdateAsync(created.Token.Id, new TokenLimits(MaxDownloads: 10), TokenGrant.ParseAll(["hf:read=org/"]), "a test", Ct);
        Assert.Equal(10, updated!.Limits.MaxDownloads);
        Assert.Equal(TokenScope.HfRead, updated.Scope);
        var check = await _tokens.CheckAsync(created.Secret, Client, Ct);
        Assert.Equal(["hf:read=org/"], check.Token!.Grants.Select(g => g.ToString()));
        Assert.Contains(_audit.Rows, r => r.Action == "token.update" && r.Subject == created.Token.Id);
        Assert.Contains(_audit.Rows, r => r.Action == "token.create" && r.Subject == created.Token.Id);
    }

    [Fact]
    public async Task A_row_written_before_scopes_were_split_keeps_working()
    {
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
        var secret = $"ght_{id}_{new string('a', 48)}";
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)));
        await _storage.Table(GatehouseStorage.TokensTable).AddEntityAsync(new TableEntity("token", id)
        {
            ["Name"] = "old reader", ["Scope"] = "Read", ["Hash"] = hash, ["CreatedAt"] = _time.GetUtcNow(),
        }, Ct);
        var check = await _tokens.CheckAsync(secret, Client, Ct);
        Assert.Equal(TokenScope.Read, check.Token!.Scope);
        Assert.True(new TokenAccess(TokenScope.HfRead, "any/repo").AllowedBy(check.Token.Grants));
        Assert.False(TokenAccess.Admin.AllowedBy(check.Token.Grants));
    }

    private sealed class Outbox : IEventOutbox
    {
        public ConcurrentQueue<GatehouseEvent> Events { get; } = new();

        public Task EnqueueAsync(GatehouseEvent gatehouseEvent, CancellationToken cancellationToken)
        {
            Events.Enqueue(gatehouseEvent);
            return Task.CompletedTask;
        }
    }
}
