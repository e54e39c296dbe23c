using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.Oci;
using Gatehouse.Oci.Auth;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Gatehouse.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Core.Tests.Oci.Auth;

/// <summary>
/// Gatehouse's token endpoint and the /v2/ authorizer on Azurite with real entitlement tokens: the challenge, the token
/// flow, scope limits, expiry, tampering, revocation, Basic directly, and the signing key the instances share.
/// </summary>
public sealed class OciAuthTests : IDisposable
{
    private const string Origin = "https://gatehouse.example";
    private static readonly IPAddress Client = IPAddress.Parse("10.9.8.7");
    private static readonly CancellationToken Ct = CancellationToken.None;

    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly GatehouseStorage _storage;
    private readonly List<MemoryCache> _caches = [];
    private readonly EntitlementTokenService _tokens;
    private readonly IOptions<GatehouseOptions> _options = Options.Create(new GatehouseOptions());

    public OciAuthTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        _storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        _storage.EnsureCreatedAsync(Ct).GetAwaiter().GetResult();
        _tokens = EntitlementTokenService.ForStorage(_storage, _time, Cache());
    }

    public void Dispose()
    {
        foreach (var cache in _caches)
        {
            cache.Dispose();
        }
    }

    private MemoryCache Cache()
    {
        var cache = new MemoryCache(new MemoryCacheOptions());
        _caches.Add(cache);
        return cache;
    }

    /// <summary>One Gatehouse instance: its own failure limiter and signing key reader over the shared storage.</summary>
    private (OciTokenEndpoint Endpoint, OciAuthorizer Authorizer) Instance(IOptions<GatehouseOptions>? options = null)
    {
        options ??= _options;
        var credentials = new TokenCredentials(_tokens, new AuthFailureLimiter(options, _time));
        var issuer = new OciTokens(new OciTokenSigningKey(_storage, options, NullLogger<OciTokenSigningKey>.Instance), options, _time);
        return (new OciTokenEndpoint(credentials, issuer, options, NullLogger<OciTokenEndpoint>.Instance),
            new OciAuthorizer(credentials, issuer, new PublicUrls(Origin), options, NullLogger<OciAuthorizer>.Instance));
    }

    private Task<CreatedToken> EntitlementAsync(params string[] scopes) =>
        _tokens.CreateAsync("oci test", TokenGrant.ParseAll(scopes), TokenLimits.None, "a test", Ct);

    private static OciRepository Repository(string name) => OciRepository.Resolve(name, new OciOptions(), out _)!;

    private static DefaultHttpContext Context(string path, string? authorization = null, string query = "")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query);
        context.Connection.RemoteIpAddress = Client;
        context.Response.Body = new MemoryStream();
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }
        return context;
    }

    private static string Basic(string secret, string user = "anyone") => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{secret}"));

    private static JsonElement Body(HttpContext context) => JsonDocument.Parse(((MemoryStream)context.Response.Body).ToArray()).RootElement;

    private static string ErrorCode(HttpContext context) => Body(context).GetProperty("errors")[0].GetProperty("code").GetString()!;

    private static string ErrorMessage(HttpContext context) => Body(context).GetProperty("errors")[0].GetProperty("message").GetString()!;

    /// <summary>Asks the token endpoint as podman does after a challenge; returns the answer's context.</summary>
    private static async Task<HttpContext> RequestTokenAsync(OciTokenEndpoint endpoint, string? authorization, params string[] scopes)
    {
        var query = "?service=gatehouse" + string.Concat(scopes.Select(s => "&scope=" + Uri.EscapeDataString(s)));
        var context = Context(OciAuthorizer.TokenPath, authorization, query);
        await endpoint.HandleAsync(context);
        return context;
    }

    private static async Task<string> TokenAsync(OciTokenEndpoint endpoint, string secret, params string[] scopes)
    {
        var answer = await RequestTokenAsync(endpoint, Basic(secret), scopes);
        Assert.Equal(200, answer.Response.StatusCode);
        return Body(answer).GetProperty("token").GetString()!;
    }

    private static JsonElement Claims(string jwt) => JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jwt.Split('.')[1])).RootElement;

    private static async Task<(bool Allowed, HttpContext Context)> AuthorizeAsync(OciAuthorizer authorizer, string? authorization, string? repository)
    {
        var context = Context(repository is null ? "/v2/" : $"/v2/{repository}/manifests/latest", authorization);
        var allowed = await authorizer.AuthorizeAsync(context, repository is null ? null : Repository(repository), Ct);
        return (allowed, context);
    }

    [Fact]
    public async Task No_credential_gets_401_with_the_exact_Bearer_challenge()
    {
        var (_, authorizer) = Instance();

        var (allowed, context) = await AuthorizeAsync(authorizer, null, "alpine");

        Assert.False(allowed);
        Assert.Equal(401, context.Response.StatusCode);
        Assert.Equal("Bearer realm=\"https://gatehouse.example/oci/token\",service=\"gatehouse\",scope=\"repository:alpine:pull\"",
            context.Response.Headers.WWWAuthenticate.ToString());
        Assert.Equal("UNAUTHORIZED", ErrorCode(context));
        Assert.Equal("application/json", context.Response.ContentType);
        Assert.Equal("registry/2.0", context.Response.Headers[OciErrors.ApiVersionHeader].ToString());

        var (_, root) = await AuthorizeAsync(authorizer, null, null);
        Assert.Equal(401, root.Response.StatusCode);
        Assert.Equal("Bearer realm=\"https://gatehouse.example/oci/token\",service=\"gatehouse\"", root.Response.Headers.WWWAuthenticate.ToString());
    }

    [Fact]
    public async Task The_token_endpoint_refuses_no_credential_and_a_bad_one_with_a_Basic_challenge()
    {
        var (endpoint, _) = Instance();

        var none = await RequestTokenAsync(endpoint, null, "repository:alpine:pull");
        Assert.Equal(401, none.Response.StatusCode);
        Assert.Equal("Basic realm=\"Gatehouse\"", none.Response.Headers.WWWAuthenticate.ToString());
        Assert.Equal("UNAUTHORIZED", ErrorCode(none));

        var bad = await RequestTokenAsync(endpoint, Basic("ght_000000000000_" + new string('a', 48)), "repository:alpine:pull");
        Assert.Equal(401, bad.Response.StatusCode);
        Assert.Contains("unknown", ErrorMessage(bad), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_from_the_endpoint_pulls_the_repository_it_names_and_the_caller_is_set()
    {
        var entitlement = await EntitlementAsync("oci:read");
        var (endpoint, authorizer) = Instance();

        var answer = await RequestTokenAsync(endpoint, Basic(entitlement.Secret, user: "podman-user"), "repository:library/alpine:pull");

        Assert.Equal(200, answer.Response.StatusCode);
        var body = Body(answer);
        var jwt = body.GetProperty("token").GetString()!;
        Assert.Equal(jwt, body.GetProperty("access_token").GetString());
        Assert.Equal(300, body.GetProperty("expires_in").GetInt32());
        Assert.Equal(_time.GetUtcNow().ToUnixTimeSeconds(), DateTimeOffset.Parse(body.GetProperty("issued_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds());
        var claims = Claims(jwt);
        Assert.Equal("gatehouse", claims.GetProperty("iss").GetString());
        Assert.Equal("gatehouse", claims.GetProperty("aud").GetString());
        Assert.Equal(entitlement.Token.Id, claims.GetProperty("sub").GetString());
        Assert.True(claims.GetProperty("jti").GetString()!.Length >= 16);
        Assert.Equal(300, claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64());
        Assert.Equal("""[{"type":"repository","name":"library/alpine","actions":["pull"]}]""", claims.GetProperty("access").GetRawText());

        // The client asked for library/alpine and pulls it as alpine, as docker and podman name Docker Hub's official images.
        var (allowed, context) = await AuthorizeAsync(authorizer, "Bearer " + jwt, "alpine");
        Assert.True(allowed, ErrorMessageOrEmpty(context));
        Assert.Equal(entitlement.Token.Id, Caller.Of(context)?.TokenId);
        Assert.Equal("10.9.8.7", Caller.Of(context)?.ClientIp);
    }

    private static string ErrorMessageOrEmpty(HttpContext context) => context.Response.Body.Length > 0 ? ErrorMessage(context) : "";

    [Fact]
    public async Task Scopes_the_entitlement_does_not_cover_are_left_out_and_the_registry_refuses_with_the_reason()
    {
        var entitlement = await EntitlementAsync("oci:read=alpine");
        var (endpoint, authorizer) = Instance();

        var jwt = await TokenAsync(endpoint, entitlement.Secret, "repository:bitnami/redis:pull", "repository:alpine:pull,push", "repository:alpine:delete", "registry:catalog:*");

        Assert.Equal("""[{"type":"repository","name":"alpine","actions":["pull"]}]""", Claims(jwt).GetProperty("access").GetRawText());
        var (allowed, context) = await AuthorizeAsync(authorizer, "Bearer " + jwt, "bitnami/redis");
        Assert.False(allowed);
        Assert.Equal(403, context.Response.StatusCode);
        Assert.Equal("DENIED", ErrorCode(context));
        Assert.Equal("This token may not pull the image repository bitnami/redis (scope oci:read)", ErrorMessage(context));
        Assert.True((await AuthorizeAsync(authorizer, "Bearer " + jwt, "library/alpine")).Allowed);
    }

    [Fact]
    public async Task A_token_for_another_repository_the_entitlement_covers_is_challenged_for_the_right_scope()
    {
        var entitlement = await EntitlementAsync("oci:read");
        var (endpoint, authorizer) = Instance();
        var jwt = await TokenAsync(endpoint, entitlement.Secret, "repository:alpine:pull");

        var (allowed, context) = await AuthorizeAsync(authorizer, "Bearer " + jwt, "python");

        Assert.False(allowed);
        Assert.Equal(401, context.Response.StatusCode);
        Assert.EndsWith("scope=\"repository:python:pull\",error=\"insufficient_scope\"", context.Response.Headers.WWWAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_with_no_access_logs_in_at_the_root_as_podman_login_does()
    {
        var entitlement = await EntitlementAsync("pypi:read");
        var (endpoint, authorizer) = Instance();
        var jwt = await TokenAsync(endpoint, entitlement.Secret);

        Assert.Equal("[]", Claims(jwt).GetProperty("access").GetRawText());
        Assert.True((await AuthorizeAsync(authorizer, "Bearer " + jwt, null)).Allowed);
        Assert.Equal(403, (await AuthorizeAsync(authorizer, "Bearer " + jwt, "alpine")).Context.Response.StatusCode);
    }

    [Fact]
    public async Task The_token_expires_after_its_lifetime_and_30_seconds_of_skew()
    {
        var entitlement = await EntitlementAsync("oci:read");
        var (endpoint, authorizer) = Instance();
        var jwt = await TokenAsync(endpoint, entitlement.Secret, "repository:alpine:pull");

        _time.Advance(TimeSpan.FromSeconds(300 + 29));
        Assert.True((await AuthorizeAsync(authorizer, "Bearer " + jwt, "alpine")).Allowed);

        _time.Advance(TimeSpan.FromSeconds(2));
        var (allowed, context) = await AuthorizeAsync(authorizer, "Bearer " + jwt, "alpine");
        Assert.False(allowed);
        Assert.Equal(401, context.Response.StatusCode);
        Assert.EndsWith("error=\"invalid_token\"", context.Response.Headers.WWWAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Contains("expired", ErrorMessage(context), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tampered_signature_a_changed_claim_and_another_key_are_refused()
    {
        var entitlement = await EntitlementAsync("oci:read=alpine");
        var (endpoint, authorizer) = Instance();
        var jwt = await TokenAsync(endpoint, entitlement.Secret, "repository:alpine:pull");
        var parts = jwt.Split('.');

        var signature = parts[2].ToCharArray();
        signature[5] = signature[5] == 'A' ? 'B' : 'A';
        var flipped = $"{parts[0]}.{parts[1]}.{new string(signature)}";
        var widened = $"{parts[0]}.{Base64UrlEncoder.Encode(Base64UrlEncoder.Decode(parts[1]).Replace("\"alpine\"", "\"bitnami/redis\"", StringComparison.Ordinal))}.{parts[2]}";
        var unsigned = $"{Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""")}.{parts[1]}.";
        var other = Options.Create(new GatehouseOptions { Oci = { TokenSigningKey = Convert.ToBase64String(new byte[32]) } });
        var foreign = await TokenAsync(Instance(other).Endpoint, entitlement.Secret, "repository:alpine:pull");

        foreach (var (forged, repository) in new[] { (flipped, "alpine"), (widened, "bitnami/redis"), (unsigned, "alpine"), (foreign, "alpine") })
        {
            var (allowed, context) = await AuthorizeAsync(authorizer, "Bearer " + forged, repository);
            Assert.False(allowed);
            Assert.Equal(401, context.Response.StatusCode);
            Assert.EndsWith("error=\"invalid_token\"", context.Response.Headers.WWWAuthenticate.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_token_for_another_service_is_refused()
    {
        var entitlement = await EntitlementAsync("oci:read");
        var key = Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        var elsewhere = Options.Create(new GatehouseOptions { Oci = { TokenSigningKey = key, Service = "elsewhere" } });
        var here = Options.Create(new GatehouseOptions { Oci = { TokenSigningKey = key } });
        var asked = Context(OciAuthorizer.TokenPath, Basic(entitlement.Secret), "?service=elsewhere&scope=repository:alpine:pull");
        await Instance(elsewhere).Endpoint.HandleAsync(asked);
        var jwtElsewhere = Body(asked).GetProperty("token").GetString()!;
        var jwtHere = await TokenAsync(Instance(here).Endpoint, entitlement.Secret, "repository:alpine:pull");

        Assert.False((await AuthorizeAsync(Instance(here).Authorizer, "Bearer " + jwtElsewhere, "alpine")).Allowed);
        Assert.True((await AuthorizeAsync(Instance(here).Authorizer, "Bearer " + jwtHere, "alpine")).Allowed);
    }

    [Fact]
    public async Task A_revoked_entitlement_token_ends_its_registry_tokens_within_about_a_second()
    {
        var entitlement = await EntitlementAsync("oci:read");
        var (endpoint, authorizer) = Instance();
        var jwt = await TokenAsync(endpoint, entitlement.Secret, "repository:alpine:pull");
        Assert.True((await AuthorizeAsync(authorizer, "Bearer " + jwt, "alpine")).Allowed);

        // Revoked on another instance: this one sees it once its token cache (1 s) lets the row go.
        Assert.True(await EntitlementTokenService.ForStorage(_storage, _time, Cache()).RevokeAsync(entitlement.Token.Id, "a test", Ct));
        await Task.Delay(TimeSpan.FromMilliseconds(1200));

        var (allowed, context) = await AuthorizeAsync(authorizer, "Bearer " + jwt, "alpine");
        Assert.False(allowed);
        Assert.Equal(401, context.Response.StatusCode);
        Assert.Contains("revoked", ErrorMessage(context), StringComparison.Ordinal);
        Assert.Equal(401, (await RequestTokenAsync(endpoint, Basic(entitlement.Secret), "repository:alpine:pull")).Response.StatusCode);
    }

    [Fact]
    public async Task Basic_with_the_entitlement_token_works_directly_within_its_scope()
    {
        var images = await EntitlementAsync("oci:read=library/*");
        var packages = await EntitlementAsync("pypi:read");
        var admin = await EntitlementAsync("admin");
        var (_, authorizer) = Instance();

        Assert.True((await AuthorizeAsync(authorizer, Basic(images.Secret), "alpine")).Allowed);
        Assert.True((await AuthorizeAsync(authorizer, Basic(images.Secret, user: ""), "library/python")).Allowed);
        Assert.True((await AuthorizeAsync(authorizer, "Bearer " + images.Secret, "alpine")).Allowed);
        Assert.True((await AuthorizeAsync(authorizer, Basic(admin.Secret), "ghcr.io/anyone/anything")).Allowed);

        var (allowed, context) = await AuthorizeAsync(authorizer, Basic(images.Secret), "bitnami/redis");
        Assert.False(allowed);
        Assert.Equal(403, context.Response.StatusCode);
        Assert.Equal("DENIED", ErrorCode(context));

        Assert.Equal(403, (await AuthorizeAsync(authorizer, Basic(packages.Secret), "alpine")).Context.Response.StatusCode);
        Assert.True((await AuthorizeAsync(authorizer, Basic(packages.Secret), null)).Allowed);

        var (_, unknown) = await AuthorizeAsync(authorizer, Basic("ght_000000000000_" + new string('b', 48)), "alpine");
        Assert.Equal(401, unknown.Response.StatusCode);
        Assert.StartsWith("Bearer realm=", unknown.Response.Headers.WWWAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_stored_as_read_before_images_existed_does_not_pull_images()
    {
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
        var secret = $"ght_{id}_{new string('c', 48)}";
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
        await _storage.Table(GatehouseStorage.TokensTable).AddEntityAsync(new TableEntity("token", id)
        {
            ["Name"] = "old reader", ["Scope"] = "Read", ["Hash"] = hash, ["CreatedAt"] = _time.GetUtcNow(),
        }, Ct);
        var (endpoint, authorizer) = Instance();

        Assert.Equal(403, (await AuthorizeAsync(authorizer, Basic(secret), "alpine")).Context.Response.StatusCode);
        Assert.Equal("[]", Claims(await TokenAsync(endpoint, secret, "repository:alpine:pull")).GetProperty("access").GetRawText());
    }

    [Fact]
    public async Task An_address_that_keeps_failing_is_answered_429_before_its_tokens_are_looked_up()
    {
        var entitlement = await EntitlementAsync("oci:read");
        var (endpoint, authorizer) = Instance();
        var limit = _options.Value.Auth.FailureLimit;
        for (var i = 0; i < limit; i++)
        {
            Assert.Equal(401, (await AuthorizeAsync(authorizer, Basic("ght_000000000000_" + new string('d', 48)), "alpine")).Context.Response.StatusCode);
        }

        var (allowed, context) = await AuthorizeAsync(authorizer, Basic(entitlement.Secret), "alpine");
        Assert.False(allowed);
        Assert.Equal(429, context.Response.StatusCode);
        Assert.Equal("TOOMANYREQUESTS", ErrorCode(context));
        Assert.NotEqual("", context.Response.Headers.RetryAfter.ToString());
        Assert.Equal(429, (await RequestTokenAsync(endpoint, Basic(entitlement.Secret), "repository:alpine:pull")).Response.StatusCode);
    }

    [Fact]
    public async Task The_endpoint_answers_GET_only_and_for_its_own_service()
    {
        var entitlement = await EntitlementAsync("oci:read");
        var (endpoint, _) = Instance();

        var post = Context(OciAuthorizer.TokenPath, Basic(entitlement.Secret));
        post.Request.Method = "POST";
        await endpoint.HandleAsync(post);
        Assert.Equal(405, post.Response.StatusCode);

        var wrongService = Context(OciAuthorizer.TokenPath, Basic(entitlement.Secret), "?service=registry.docker.io&scope=repository:alpine:pull");
        await endpoint.HandleAsync(wrongService);
        Assert.Equal(400, wrongService.Response.StatusCode);
        Assert.Contains("gatehouse", ErrorMessage(wrongService), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Instances_starting_together_generate_one_signing_key_and_each_checks_the_others_tokens()
    {
        await _storage.Container(GatehouseStorage.ConfigContainer).GetBlobClient(OciTokenSigningKey.BlobName).DeleteIfExistsAsync(cancellationToken: Ct);
        var keys = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            new OciTokenSigningKey(_storage, _options, NullLogger<OciTokenSigningKey>.Instance).GetAsync(Ct)));

        Assert.All(keys, k => Assert.Equal(keys[0], k));
        Assert.True(keys[0].Length >= OciTokenSigningKey.MinBytes);
        var stored = (await _storage.Container(GatehouseStorage.ConfigContainer).GetBlobClient(OciTokenSigningKey.BlobName).DownloadContentAsync(Ct)).Value.Content.ToString();
        Assert.Equal(keys[0], Convert.FromBase64String(stored));

        var entitlement = await EntitlementAsync("oci:read");
        var jwt = await TokenAsync(Instance().Endpoint, entitlement.Secret, "repository:alpine:pull");
        Assert.True((await AuthorizeAsync(Instance().Authorizer, "Bearer " + jwt, "alpine")).Allowed);
    }

    [Theory]
    [InlineData("c2hvcnQ=")]
    [InlineData("not base64!")]
    public async Task A_configured_key_that_is_no_key_is_a_clear_error(string configured)
    {
        var options = Options.Create(new GatehouseOptions { Oci = { TokenSigningKey = configured } });
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new OciTokenSigningKey(_storage, options, NullLogger<OciTokenSigningKey>.Instance).GetAsync(Ct));
        Assert.Contains("Gatehouse__Oci__TokenSigningKey", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(configured, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unresolved_Key_Vault_reference_signs_with_the_stored_key_instead_of_refusing_every_pull()
    {
        var reference = Options.Create(new GatehouseOptions { Oci = { TokenSigningKey = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/oci-token-signing-key/)" } });
        var stored = await new OciTokenSigningKey(_storage, _options, NullLogger<OciTokenSigningKey>.Instance).GetAsync(Ct);

        Assert.Equal(stored, await new OciTokenSigningKey(_storage, reference, NullLogger<OciTokenSigningKey>.Instance).GetAsync(Ct));
    }
}
