using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Extensions.Options;

namespace Gatehouse.Oci.Auth;

/// <summary>
/// Issues and checks the registry tokens of Gatehouse's token endpoint: JWTs signed with HS256 whose claims follow the
/// Docker registry token spec (jwt.md): <c>iss</c> "gatehouse", <c>aud</c> the service, <c>sub</c> the entitlement token's
/// id, <c>exp</c>/<c>nbf</c>/<c>iat</c>, <c>jti</c>, and <c>access</c>. A check accepts only HS256, the issuer, the
/// audience, and a lifetime that holds within 30 seconds of clock skew.
/// </summary>
public sealed class OciTokens(OciTokenSigningKey key, IOptions<GatehouseOptions> options, TimeProvider time)
{
    public const string Issuer = "gatehouse";

    /// <summary>Clock skew tolerated between instances.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    /// <summary>The token spec asks that no token live less than 60 seconds, for older clients.</summary>
    public const int MinLifetimeSeconds = 60;

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    private readonly OciOptions _options = options.Value.Oci;

    /// <summary>How long an issued token lives.</summary>
    public TimeSpan Lifetime => TimeSpan.FromSeconds(Math.Max(MinLifetimeSeconds, _options.TokenLifetimeSeconds));

    /// <summary>A token for <paramref name="subject"/> (an entitlement token id) that grants <paramref name="access"/>.</summary>
    public async Task<OciIssuedToken> IssueAsync(string subject, IReadOnlyList<OciAccess> access, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = _options.Service,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + Lifetime).UtcDateTime,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(await key.GetAsync(cancellationToken)), SecurityAlgorithms.HmacSha256),
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = subject,
                [JwtRegisteredClaimNames.Jti] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
                ["access"] = access.Select(a => new Dictionary<string, object> { ["type"] = a.Type, ["name"] = a.Name, ["actions"] = a.Actions.ToArray() }).ToArray(),
            },
        };
        return new OciIssuedToken(Handler.CreateToken(descriptor), now, Lifetime);
    }

    /// <summary>Checks a presented token: its subject and access, or why it is not a token of ours that is valid now.</summary>
    public async Task<OciTokenCheck> CheckAsync(string presented, CancellationToken cancellationToken)
    {
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = _options.Service,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            IssuerSigningKey = new SymmetricSecurityKey(await key.GetAsync(cancellationToken)),
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            // Lifetime is checked below on Gatehouse's clock (TimeProvider), which the library's validator does not read.
            ValidateLifetime = false,
        };
        var result = await Handler.ValidateTokenAsync(presented, parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return OciTokenCheck.Invalid("The registry token is not one Gatehouse signed for this service");
        }
        var now = time.GetUtcNow().UtcDateTime;
        if (jwt.ValidTo == DateTime.MinValue || now > jwt.ValidTo + ClockSkew)
        {
            return OciTokenCheck.Invalid($"The registry token expired at {jwt.ValidTo:u}", expired: true);
        }
        if (jwt.ValidFrom != DateTime.MinValue && now < jwt.ValidFrom - ClockSkew)
        {
            return OciTokenCheck.Invalid($"The registry token is not valid before {jwt.ValidFrom:u}");
        }
        return jwt.Subject is { Length: > 0 } subject && ReadAccess(jwt) is { } access
            ? new OciTokenCheck(subject, access, null, false)
            : OciTokenCheck.Invalid("The registry token names no subject or no access");
    }

    /// <summary>The <c>access</c> claim, read from the payload as the spec writes it; null when it is malformed.</summary>
    private static IReadOnlyList<OciAccess>? ReadAccess(JsonWebToken jwt)
    {
        try
        {
            using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload));
            if (!payload.RootElement.TryGetProperty("access", out var access) || access.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            return [.. access.EnumerateArray().Select(a => new OciAccess(
                a.GetProperty("type").GetString() ?? "",
                a.GetProperty("name").GetString() ?? "",
                [.. a.GetProperty("actions").EnumerateArray().Select(x => x.GetString() ?? "")]))];
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>A token as the token endpoint answers it.</summary>
public sealed record OciIssuedToken(string Token, DateTimeOffset IssuedAt, TimeSpan Lifetime);

/// <summary>What a presented registry token holds, or why it is refused (<see cref="Expired"/>: it was ours and ran out).</summary>
public sealed record OciTokenCheck(string? Subject, IReadOnlyList<OciAccess> Access, string? Refusal, bool Expired)
{
    public static OciTokenCheck Invalid(string refusal, bool expired = false) => new(null, [], refusal, expired);
}
