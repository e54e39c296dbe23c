using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Gatehouse.Storage;
using Microsoft.Extensions.Caching.Memory;

namespace Gatehouse.Tokens;

/// <summary>
/// Creates, lists, revokes and checks entitlement tokens. Tokens look like <c>ght_{id}_{secret}</c>; only the
/// sha256 of the whole token is stored, and checks compare hashes in constant time.
/// </summary>
public sealed class EntitlementTokenService
{
    private const string Partition = "token";
    /// <summary>Every entitlement token starts with this.</summary>
    public const string Prefix = "ght_";
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(15);

    private readonly TableClient _table;
    private readonly TimeProvider _time;
    private readonly IMemoryCache _cache;

    public EntitlementTokenService(GatehouseStorage storage, TimeProvider time, IMemoryCache cache)
    {
        _table = storage.Table(GatehouseStorage.TokensTable);
        _time = time;
        _cache = cache;
    }

    public async Task<CreatedToken> CreateAsync(string name, TokenScope scope, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100)
        {
            throw new ArgumentException("A token needs a name of 1 to 100 characters.", nameof(name));
        }
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = $"{Prefix}{id}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24))}";
        var created = _time.GetUtcNow();
        var entity = new TableEntity(Partition, id)
        {
            ["Name"] = name,
            ["Scope"] = scope.ToString(),
            ["Hash"] = Hash(secret),
            ["CreatedAt"] = created,
        };
        await _table.AddEntityAsync(entity, cancellationToken);
        return new CreatedToken(new EntitlementToken(id, name, scope, created, null), secret);
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

    /// <summary>Revokes a token; returns false when no such token exists.</summary>
    public async Task<bool> RevokeAsync(string id, CancellationToken cancellationToken)
    {
        if (!IsId(id))
        {
            return false;
        }
        var existing = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, id, cancellationToken: cancellationToken);
        if (!existing.HasValue || existing.Value is null)
        {
            return false;
        }
        var entity = existing.Value;
        entity["RevokedAt"] = _time.GetUtcNow();
        await _table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken);
        _cache.Remove(CacheKey(id));
        return true;
    }

    /// <summary>The token (id, name, scope) when the presented secret is a live token, else null.</summary>
    public async Task<ValidatedToken?> ValidateAsync(string presented, CancellationToken cancellationToken)
    {
        var id = ParseId(presented);
        if (id is null)
        {
            return null;
        }
        var stored = await _cache.GetOrCreateAsync(CacheKey(id), async entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = CacheFor;
            var found = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, id, cancellationToken: cancellationToken);
            return found.HasValue ? found.Value : null;
        });
        if (stored is null || stored.GetDateTimeOffset("RevokedAt") is not null)
        {
            return null;
        }
        var expected = Convert.FromHexString(stored.GetString("Hash"));
        var actual = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        if (!CryptographicOperations.FixedTimeEquals(expected, actual))
        {
            return null;
        }
        return new ValidatedToken(id, stored.GetString("Name") ?? "", Enum.Parse<TokenScope>(stored.GetString("Scope")));
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

    private static EntitlementToken ToToken(TableEntity e) => new(
        e.RowKey,
        e.GetString("Name"),
        Enum.Parse<TokenScope>(e.GetString("Scope")),
        e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
        e.GetDateTimeOffset("RevokedAt"));
}
