using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Events;
using Gatehouse.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Gatehouse.Tokens;

/// <summary>
/// Creates, lists, rotates, limits, revokes and checks entitlement tokens. Tokens look like <c>ght_{id}_{secret}</c>;
/// only the sha256 of the whole token is stored, and checks compare hashes in constant time. One row per token holds
/// its scopes, limits and usage counters; every write is conditional on the row's ETag and retried on a conflict, so
/// counters stay exact when several instances count at once. An instance keeps a row at most
/// <c>Auth:TokenCacheMilliseconds</c> (1 s by default), which bounds how late it sees a change made elsewhere.
/// </summary>
public sealed class EntitlementTokenService
{
    /// <summary>Every entitlement token starts with this.</summary>
    public const string Prefix = "ght_";
    private const string Partition = "token";
    private const int MaxWriteAttempts = 30;
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    private readonly TableClient _table;
    private readonly TimeProvider _time;
    private readonly IMemoryCache _cache;
    private readonly IAuditLog _audit;
    private readonly IEventOutbox _events;
    private readonly TimeSpan _cacheFor;
    private readonly TimeSpan _defaultGrace;

    public EntitlementTokenService(GatehouseStorage storage, TimeProvider time, IMemoryCache cache, IAuditLog audit, IEventOutbox events, IOptions<GatehouseOptions> options)
    {
        _table = storage.Table(GatehouseStorage.TokensTable);
        _time = time;
        _cache = cache;
        _audit = audit;
        _events = events;
        _cacheFor = TimeSpan.FromMilliseconds(options.Value.Auth.TokenCacheMilliseconds);
        _defaultGrace = TimeSpan.FromHours(options.Value.Auth.RotationGraceHours);
    }

    /// <summary>
    /// The service straight on a storage account, outside a host (the CLI's bootstrap, tests): changes are audited, and
    /// the revocation event is recorded in the audit (there is no outbox destination outside a host).
    /// </summary>
    public static EntitlementTokenService ForStorage(GatehouseStorage storage, TimeProvider time, IMemoryCache cache)
    {
        var audit = new AuditLog(storage, time);
        return new(storage, time, cache, audit, new AuditOnlyEventOutbox(audit), Options.Create(new GatehouseOptions()));
    }

    /// <summary>A token with <paramref name="scope"/> over every resource and no limits.</summary>
    public Task<CreatedToken> CreateAsync(string name, TokenScope scope, CancellationToken cancellationToken) =>
        CreateAsync(name, TokenGrant.Unrestricted(scope), TokenLimits.None, "storage", cancellationToken);

    /// <summary>Creates a token; <paramref name="by"/> names who asked, for the audit.</summary>
    public async Task<CreatedToken> CreateAsync(string name, IReadOnlyList<TokenGrant> grants, TokenLimits limits, string by, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100)
        {
            throw new ArgumentException("A token needs a name of 1 to 100 characters.", nameof(name));
        }
        if (grants.Count == 0)
        {
            throw new ArgumentException("A token needs at least one scope.", nameof(grants));
        }
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = NewSecret(id);
        var entity = new TableEntity(Partition, id)
        {
            ["Name"] = name,
            ["Scope"] = TokenGrant.ScopesOf(grants).ToString(),
            ["Grants"] = string.Join(' ', grants),
            ["Hash"] = Hash(secret),
            ["CreatedAt"] = _time.GetUtcNow(),
        };
        WriteLimits(entity, limits);
        await _table.AddEntityAsync(entity, cancellationToken);
        var token = ToToken(entity);
        await _audit.WriteAsync("token.create", id, $"{name}: {Describe(token)} by {by}", cancellationToken);
        return new CreatedToken(token, secret);
    }

    public async Task<IReadOnlyList<EntitlementToken>> ListAsync(CancellationToken cancellationToken)
    {
        var tokens = new List<EntitlementToken>();
        await foreach (var e in _table.QueryAsync<TableEntity>(e => e.PartitionKey == Partition, cancellationToken: cancellationToken))
        {
            tokens.Add(ToToken(e));
        }
        return tokens;
    }

    /// <summary>One token with its usage, or null.</summary>
    public async Task<EntitlementToken?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (!IsId(id))
        {
            return null;
        }
        var found = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, id, cancellationToken: cancellationToken);
        return found.HasValue && found.Value is { } e ? ToToken(e) : null;
    }

    /// <summary>Revokes a token (audited, and a <see cref="GatehouseEventTypes.TokenRevoked"/> event); false when no such token exists.</summary>
    public async Task<bool> RevokeAsync(string id, string by, CancellationToken cancellationToken)
    {
        var revokedAt = _time.GetUtcNow();
        var wasLive = false;
        var entity = await MutateAsync(id, e =>
        {
            wasLive = e.GetDateTimeOffset("RevokedAt") is null;
            if (wasLive)
            {
                e["RevokedAt"] = revokedAt;
            }
            return wasLive;
        }, cancellationToken);
        if (entity is null)
        {
            return false;
        }
        if (wasLive)
        {
            var name = entity.GetString("Name") ?? "";
            await _audit.WriteAsync("token.revoke", id, $"{name}: revoked by {by}", cancellationToken);
            var data = new JsonObject { ["tokenId"] = id, ["name"] = name, ["revokedAt"] = revokedAt, ["by"] = by };
            await _events.EnqueueAsync(new GatehouseEvent($"token-revoked-{id}", GatehouseEventTypes.TokenRevoked, $"tokens/{id}", data, revokedAt), cancellationToken);
        }
        return true;
    }

    /// <summary>
    /// Issues a new secret for the token (same id, scopes, limits and usage); the secret before it stays valid for
    /// <paramref name="grace"/> (the configured default when null; zero ends it now). Null when there is no live token.
    /// </summary>
    public async Task<CreatedToken?> RotateAsync(string id, TimeSpan? grace, string by, CancellationToken cancellationToken)
    {
        var period = grace ?? _defaultGrace;
        if (period < TimeSpan.Zero)
        {
            throw new ArgumentException("The grace period cannot be negative.", nameof(grace));
        }
        var secret = NewSecret(id);
        var now = _time.GetUtcNow();
        var entity = await MutateAsync(id, e =>
        {
            if (e.GetDateTimeOffset("RevokedAt") is not null)
            {
                return false;
            }
            e["PreviousHash"] = e.GetString("Hash");
            e["PreviousValidUntil"] = now + period;
            e["Hash"] = Hash(secret);
            e["RotatedAt"] = now;
            return true;
        }, cancellationToken);
        if (entity is null || entity.GetString("Hash") != Hash(secret))
        {
            return null;
        }
        await _audit.WriteAsync("token.rotate", id, $"{entity.GetString("Name")}: new secret by {by}; the one before is valid until {now + period:O}", cancellationToken);
        return new CreatedToken(ToToken(entity), secret);
    }

    /// <summary>Replaces the token's limits, and its scopes when <paramref name="grants"/> is given; null when there is no such token.</summary>
    public async Task<EntitlementToken?> UpdateAsync(string id, TokenLimits limits, IReadOnlyList<TokenGrant>? grants, string by, CancellationToken cancellationToken)
    {
        if (grants is { Count: 0 })
        {
            throw new ArgumentException("A token needs at least one scope.", nameof(grants));
        }
        var entity = await MutateAsync(id, e =>
        {
            WriteLimits(e, limits);
            if (grants is not null)
            {
                e["Scope"] = TokenGrant.ScopesOf(grants).ToString();
                e["Grants"] = string.Join(' ', grants);
            }
            return true;
        }, cancellationToken);
        if (entity is null)
        {
            return null;
        }
        var token = ToToken(entity);
        await _audit.WriteAsync("token.update", id, $"{token.Name}: {Describe(token)} by {by}", cancellationToken);
        return token;
    }

    /// <summary>
    /// Checks a presented secret from <paramref name="client"/>: the token when it is live, unexpired, used from an
    /// allowed address and within its limits, else the refusal with its status (401: not a live credential; 403: a
    /// live token that may not be used now). Scopes are the caller's to check, with <see cref="TokenAccess"/>.
    /// </summary>
    public async Task<TokenCheck> CheckAsync(string presented, IPAddress? client, CancellationToken cancellationToken)
    {
        var id = ParseId(presented);
        var stored = id is null ? null : await CachedAsync(id, cancellationToken);
        if (id is null || stored is null || !SecretMatches(stored, presented))
        {
            return TokenCheck.Refused(StatusCodes.Status401Unauthorized, "The entitlement token is unknown");
        }
        return await CheckLiveAsync(id, stored, client, cancellationToken);
    }

    /// <summary>
    /// Checks the token <paramref name="id"/> as <see cref="CheckAsync"/> does after its secret matched: for a console
    /// session, which was made from the secret once and holds only the id, so revoking the token ends the session.
    /// </summary>
    public async Task<TokenCheck> CheckByIdAsync(string id, IPAddress? client, CancellationToken cancellationToken)
    {
        var stored = IsId(id) ? await CachedAsync(id, cancellationToken) : null;
        return stored is null
            ? TokenCheck.Refused(StatusCodes.Status401Unauthorized, "The entitlement token is unknown")
            : await CheckLiveAsync(id, stored, client, cancellationToken);
    }

    private async Task<TokenCheck> CheckLiveAsync(string id, TableEntity stored, IPAddress? client, CancellationToken cancellationToken)
    {
        var token = ToToken(stored);
        var now = _time.GetUtcNow();
        if (token.RevokedAt is { } revoked)
        {
            return TokenCheck.Refused(StatusCodes.Status401Unauthorized, $"The entitlement token {id} was revoked at {revoked:u}");
        }
        if (token.Limits.ExpiresAt is { } expires && now >= expires)
        {
            return TokenCheck.Refused(StatusCodes.Status401Unauthorized, $"The entitlement token {id} expired at {expires:u}");
        }
        if (!IpAllowList.Parse(token.Limits.AllowedIps).Allows(client))
        {
            return TokenCheck.Refused(StatusCodes.Status403Forbidden, $"The entitlement token {id} may not be used from {client?.ToString() ?? "an unknown address"}");
        }
        if (token.Limits.MaxDownloads is { } maxDownloads && token.Usage.Downloads >= maxDownloads)
        {
            return TokenCheck.Refused(StatusCodes.Status403Forbidden, $"The entitlement token {id} reached its limit of {maxDownloads} downloads");
        }
        if (token.Limits.MaxBytesPerDay is { } maxBytes && token.Usage.BytesLastDay >= maxBytes)
        {
            return TokenCheck.Refused(StatusCodes.Status403Forbidden,
                $"The entitlement token {id} reached its limit of {maxBytes} bytes per rolling day (24 hours); it has downloaded {token.Usage.BytesLastDay}");
        }
        if (token.Usage.LastUsedAt is not { } last || now - last >= LastUsedResolution)
        {
            await MutateAsync(id, e =>
            {
                e["LastUsedAt"] = now;
                return true;
            }, cancellationToken);
        }
        return new TokenCheck(new ValidatedToken(id, token.Name, token.Scope) { Grants = token.Grants }, StatusCodes.Status200OK, null);
    }

    /// <summary>Counts a download of <paramref name="bytes"/> against the token's usage and limits.</summary>
    public Task RecordDownloadAsync(string id, long bytes, DateTimeOffset at, CancellationToken cancellationToken) =>
        MutateAsync(id, e =>
        {
            e["Downloads"] = (e.GetInt64("Downloads") ?? 0) + 1;
            e["Bytes"] = (e.GetInt64("Bytes") ?? 0) + bytes;
            e["LastUsedAt"] = at;
            var hours = HourlyBytes(e.GetString("BytesByHour"), at);
            var hour = HourOf(at);
            hours[hour] = hours.GetValueOrDefault(hour) + bytes;
            e["BytesByHour"] = string.Join(' ', hours.Select(h => $"{h.Key}={h.Value.ToString(CultureInfo.InvariantCulture)}"));
            return true;
        }, cancellationToken);

    /// <summary>
    /// Reads the row, lets <paramref name="change"/> edit it (false: nothing to write) and writes it back if the row has
    /// not changed meanwhile, else starts again. Returns the row as written (or as read when nothing was written), or
    /// null when there is no such token. The instance's cache gets the new row at once.
    /// </summary>
    private async Task<TableEntity?> MutateAsync(string id, Func<TableEntity, bool> change, CancellationToken cancellationToken)
    {
        if (!IsId(id))
        {
            return null;
        }
        for (var attempt = 1; ; attempt++)
        {
            var found = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, id, cancellationToken: cancellationToken);
            if (!found.HasValue || found.Value is not { } entity)
            {
                return null;
            }
            if (!change(entity))
            {
                return entity;
            }
            try
            {
                var response = await _table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken);
                entity.ETag = response.Headers.ETag ?? default;
                Remember(id, entity);
                return entity;
            }
            catch (RequestFailedException e) when (e.Status == StatusCodes.Status412PreconditionFailed && attempt < MaxWriteAttempts)
            {
                // A short random pause (wall-clock: it spaces out real writes) so conflicting writers do not collide again in step.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 10 * Math.Min(attempt, 10))), cancellationToken);
            }
        }
    }

    private async Task<TableEntity?> CachedAsync(string id, CancellationToken cancellationToken)
    {
        if (_cacheFor > TimeSpan.Zero && _cache.TryGetValue(CacheKey(id), out TableEntity? cached))
        {
            return cached;
        }
        var found = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, id, cancellationToken: cancellationToken);
        var entity = found.HasValue ? found.Value : null;
        Remember(id, entity);
        return entity;
    }

    private void Remember(string id, TableEntity? entity)
    {
        if (_cacheFor > TimeSpan.Zero)
        {
            _cache.Set(CacheKey(id), entity, _cacheFor);
        }
    }

    private bool SecretMatches(TableEntity stored, string presented)
    {
        var actual = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        if (CryptographicOperations.FixedTimeEquals(Convert.FromHexString(stored.GetString("Hash")), actual))
        {
            return true;
        }
        return stored.GetString("PreviousHash") is { } previous && stored.GetDateTimeOffset("PreviousValidUntil") is { } until && _time.GetUtcNow() < until
            && CryptographicOperations.FixedTimeEquals(Convert.FromHexString(previous), actual);
    }

    private static void WriteLimits(TableEntity entity, TokenLimits limits)
    {
        if (limits.MaxDownloads is < 0 || limits.MaxBytesPerDay is < 0)
        {
            throw new ArgumentException("Limits cannot be negative.", nameof(limits));
        }
        entity["ExpiresAt"] = limits.ExpiresAt;
        entity["MaxDownloads"] = limits.MaxDownloads;
        entity["MaxBytesPerDay"] = limits.MaxBytesPerDay;
        entity["AllowedIps"] = string.Join(' ', IpAllowList.Canonical(limits.AllowedIps));
    }

    /// <summary>The bytes per hour (<c>yyyyMMddHH</c>, UTC) of the current hour and the 23 before it: the rolling day.</summary>
    private static SortedDictionary<string, long> HourlyBytes(string? stored, DateTimeOffset now)
    {
        var oldest = HourOf(now.AddHours(-23));
        var hours = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var pair in (stored ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            if (at > 0 && string.CompareOrdinal(pair[..at], oldest) >= 0 && long.TryParse(pair[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var bytes))
            {
                hours[pair[..at]] = bytes;
            }
        }
        return hours;
    }

    private static string HourOf(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMddHH", CultureInfo.InvariantCulture);

    private static string NewSecret(string id) => $"{Prefix}{id}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24))}";

    private static string Describe(EntitlementToken token)
    {
        var limits = token.Limits;
        var parts = new List<string> { "scopes " + string.Join(' ', token.Grants) };
        if (limits.ExpiresAt is { } expires)
        {
            parts.Add($"expires {expires:O}");
        }
        if (limits.MaxDownloads is { } downloads)
        {
            parts.Add($"at most {downloads} downloads");
        }
        if (limits.MaxBytesPerDay is { } bytes)
        {
            parts.Add($"at most {bytes} bytes per rolling day");
        }
        if (limits.AllowedIps.Count > 0)
        {
            parts.Add("from " + string.Join(' ', limits.AllowedIps));
        }
        return string.Join(", ", parts);
    }

    private static string? ParseId(string presented)
    {
        if (!presented.StartsWith(Prefix, StringComparison.Ordinal) || presented.Length != Prefix.Length + 12 + 1 + 48)
        {
            return null;
        }
        var id = presented.Substring(Prefix.Length, 12);
        return IsId(id) && presented[Prefix.Length + 12] == '_' ? id : null;
    }

    private static bool IsId(string id) => id.Length == 12 && id.All(char.IsAsciiHexDigitLower);

    private static string CacheKey(string id) => "token:" + id;

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private EntitlementToken ToToken(TableEntity e)
    {
        var scope = Enum.Parse<TokenScope>(e.GetString("Scope"));
        var grants = e.GetString("Grants") is { Length: > 0 } written ? TokenGrant.ParseAll(written.Split(' ')) : TokenGrant.Unrestricted(scope);
        var allowed = e.GetString("AllowedIps") is { Length: > 0 } ips ? ips.Split(' ') : [];
        return new EntitlementToken(e.RowKey, e.GetString("Name") ?? "", scope, e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue, e.GetDateTimeOffset("RevokedAt"))
        {
            Grants = grants,
            Limits = new TokenLimits(e.GetDateTimeOffset("ExpiresAt"), e.GetInt64("MaxDownloads"), e.GetInt64("MaxBytesPerDay"), allowed),
            Usage = new TokenUsage(e.GetInt64("Downloads") ?? 0, e.GetInt64("Bytes") ?? 0,
                HourlyBytes(e.GetString("BytesByHour"), _time.GetUtcNow()).Values.Sum(), e.GetDateTimeOffset("LastUsedAt")),
            RotatedAt = e.GetDateTimeOffset("RotatedAt"),
            PreviousSecretValidUntil = e.GetDateTimeOffset("PreviousValidUntil"),
        };
    }
}

/// <summary>The outcome of checking a presented token: the token, or the status and reason to refuse it with.</summary>
public sealed record TokenCheck(ValidatedToken? Token, int Status, string? Refusal)
{
    public static TokenCheck Refused(int status, string reason) => new(null, status, reason);
}
