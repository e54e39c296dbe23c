using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Gatehouse.Storage;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.WebConsole;

/// <summary>A console sign-in: the admin token it stands for, the CSRF token its page must send back, and when it ends.</summary>
public sealed record ConsoleSession(string TokenId, string TokenName, string Csrf, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt)
{
    /// <summary>Whether <paramref name="presented"/> is this session's CSRF token (compared in constant time).</summary>
    public bool CsrfMatches(string? presented) =>
        presented is { Length: > 0 } && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(Csrf));
}

/// <summary>
/// Console sessions in the <c>consolesessions</c> table, shared by every instance. The cookie carries 256 random bits;
/// the table holds only their SHA-256, so reading the table does not let anyone act as a signed-in reviewer, and the
/// session holds the token's id, never its secret. An expired row is deleted when it is next presented.
/// </summary>
public sealed class ConsoleSessions(GatehouseStorage storage, TimeProvider time)
{
    /// <summary>The session cookie's name.</summary>
    public const string CookieName = "gatehouse_session";

    /// <summary>The header a page sends its CSRF token in on every state-changing request.</summary>
    public const string CsrfHeader = "X-CSRF-Token";

    /// <summary>How long a sign-in lasts, at most (never past the token's own expiry).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);

    private const string Partition = "session";
    private readonly TableClient _table = storage.Table(GatehouseStorage.ConsoleSessionsTable);

    /// <summary>Starts a session for the token; the answer's cookie value is what the browser keeps, shown nowhere else.</summary>
    public async Task<(string Cookie, ConsoleSession Session)> StartAsync(string tokenId, string tokenName, DateTimeOffset? tokenExpires, CancellationToken cancellationToken)
    {
        var cookie = RandomValue();
        var now = time.GetUtcNow();
        var expires = now + Lifetime;
        if (tokenExpires is { } limit && limit < expires)
        {
            expires = limit;
        }
        var session = new ConsoleSession(tokenId, tokenName, RandomValue(), now, expires);
        await _table.AddEntityAsync(new TableEntity(Partition, Key(cookie))
        {
            ["TokenId"] = session.TokenId,
            ["TokenName"] = session.TokenName,
            ["Csrf"] = session.Csrf,
            ["CreatedAt"] = session.CreatedAt,
            ["ExpiresAt"] = session.ExpiresAt,
        }, cancellationToken);
        return (cookie, session);
    }

    /// <summary>The live session a cookie value names, or null (unknown, malformed or expired).</summary>
    public async Task<ConsoleSession?> FindAsync(string cookie, CancellationToken cancellationToken)
    {
        if (!WellFormed(cookie))
        {
            return null;
        }
        var found = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, Key(cookie), cancellationToken: cancellationToken);
        if (!found.HasValue || found.Value is not { } row)
        {
            return null;
        }
        var session = new ConsoleSession(row.GetString("TokenId") ?? "", row.GetString("TokenName") ?? "", row.GetString("Csrf") ?? "",
            row.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue, row.GetDateTimeOffset("ExpiresAt") ?? DateTimeOffset.MinValue);
        if (time.GetUtcNow() < session.ExpiresAt)
        {
            return session;
        }
        await EndAsync(cookie, cancellationToken);
        return null;
    }

    /// <summary>Ends the session a cookie value names; nothing happens when there is none.</summary>
    public async Task EndAsync(string cookie, CancellationToken cancellationToken)
    {
        if (!WellFormed(cookie))
        {
            return;
        }
        try
        {
            await _table.DeleteEntityAsync(Partition, Key(cookie), ETag.All, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == StatusCodes.Status404NotFound)
        {
        }
    }

    /// <summary>The session cookie a request carries, if any.</summary>
    public static string? CookieOf(HttpRequest request) => request.Cookies.TryGetValue(CookieName, out var value) && value is { Length: > 0 } ? value : null;

    /// <summary>Sets the session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Secure over HTTPS.</summary>
    public static void SetCookie(HttpContext context, string cookie, DateTimeOffset expires) =>
        context.Response.Cookies.Append(CookieName, cookie, Options(context, expires));

    /// <summary>Tells the browser to forget the session cookie.</summary>
    public static void ClearCookie(HttpContext context) =>
        context.Response.Cookies.Delete(CookieName, Options(context, DateTimeOffset.UnixEpoch));

    private static CookieOptions Options(HttpContext context, DateTimeOffset expires) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = context.Request.IsHttps || string.Equals(context.Request.Headers["X-Forwarded-Proto"], "https", StringComparison.OrdinalIgnoreCase),
        Path = "/",
        Expires = expires,
        IsEssential = true,
    };

    // 32 random bytes, base64url: 43 characters.
    private static string RandomValue() => Base64Url(RandomNumberGenerator.GetBytes(32));

    private static bool WellFormed(string cookie) => cookie.Length == 43 && cookie.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static string Key(string cookie) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(cookie)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
