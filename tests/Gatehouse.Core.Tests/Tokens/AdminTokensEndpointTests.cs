using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Audit;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Gatehouse.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Memory;

namespace Gatehouse.Core.Tests.Tokens;

/// <summary><c>/admin/tokens</c> on Azurite: create with scopes and limits, PATCH a limit, rotate, and what is refused 400.</summary>
public sealed class AdminTokensEndpointTests : IDisposable
{
    private readonly MemoryCache _cache = new(new MemoryCacheOptions());
    private readonly AdminTokensEndpoint _endpoint;

    public AdminTokensEndpointTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        var storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        storage.TablesService.CreateTableIfNotExists(GatehouseStorage.TokensTable);
        storage.TablesService.CreateTableIfNotExists(GatehouseStorage.AuditTable);
        _endpoint = new AdminTokensEndpoint(EntitlementTokenService.ForStorage(storage, TimeProvider.System, _cache));
    }

    public void Dispose() => _cache.Dispose();

    private async Task<(int Status, JsonElement Body)> SendAsync(string method, string? id, string? operation, string? body)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        if (body is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentLength = bytes.Length;
        }
        var response = new MemoryStream();
        context.Response.Body = response;
        Caller.Set(context, new Caller("0123456789ab", "ops", "10.0.0.1"));
        await _endpoint.HandleAsync(context, id, operation);
        var text = Encoding.UTF8.GetString(response.ToArray());
        return (context.Response.StatusCode, text.Length > 0 && text[0] is '{' or '[' ? JsonDocument.Parse(text).RootElement : default);
    }

    [Fact]
    public async Task A_token_is_created_with_scopes_and_limits_changed_by_PATCH_and_rotated()
    {
        var (status, created) = await SendAsync("POST", null, null,
            """{"name":"ci","scopes":["pypi:read=numpy","hf:read=org/"],"maxDownloads":3,"expiresAt":"2099-01-01T00:00:00Z","allowedIps":["10.0.0.0/8"]}""");
        Assert.Equal(StatusCodes.Status201Created, status);
        var id = created.GetProperty("id").GetString()!;
        Assert.StartsWith($"ght_{id}_", created.GetProperty("token").GetString());
        Assert.Equal(["pypi:read=numpy", "hf:read=org/"], created.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(3, created.GetProperty("maxDownloads").GetInt64());

        // A limit left out stays; one set to null is lifted.
        var (patched, changed) = await SendAsync("PATCH", id, null, """{"maxDownloads":null,"maxBytesPerDay":1000}""");
        Assert.Equal(StatusCodes.Status200OK, patched);
        Assert.False(changed.TryGetProperty("maxDownloads", out _));
        Assert.Equal(1000, changed.GetProperty("maxBytesPerDay").GetInt64());
        Assert.Equal(new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero), changed.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.False(changed.TryGetProperty("token", out _));

        var (rotatedStatus, rotated) = await SendAsync("POST", id, "rotate", """{"graceHours":1}""");
        Assert.Equal(StatusCodes.Status200OK, rotatedStatus);
        Assert.NotEqual(created.GetProperty("token").GetString(), rotated.GetProperty("token").GetString());
        Assert.InRange(rotated.GetProperty("previousSecretValidUntil").GetDateTimeOffset() - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));

        var (listed, list) = await SendAsync("GET", null, null, null);
        Assert.Equal(StatusCodes.Status200OK, listed);
        Assert.DoesNotContain(list.EnumerateArray(), t => t.TryGetProperty("token", out _));
        Assert.Contains(list.EnumerateArray(), t => t.GetProperty("id").GetString() == id);
    }

    [Theory]
    [InlineData("""{"name":"x","scopes":["pypi:write"]}""", "Unknown scope")]
    [InlineData("""{"name":"x","allowedIps":["10.0.0.1/8"]}""", "10.0.0.1/8")]
    [InlineData("""{"name":"x","maxDownloads":-1}""", "negative")]
    [InlineData("""{"name":""}""", "name")]
    [InlineData("""not json""", "")]
    public async Task A_bad_request_is_refused_400_with_the_reason(string body, string reason)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = bytes.Length;
        var response = new MemoryStream();
        context.Response.Body = response;
        await _endpoint.HandleAsync(context, null, null);
        Assert.Equal(StatusCodes.Status400BadRequest, context.Response.StatusCode);
        Assert.Contains(reason, Encoding.UTF8.GetString(response.ToArray()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_tokens_are_404_and_other_operations_405()
    {
        Assert.Equal(StatusCodes.Status404NotFound, (await SendAsync("POST", "000000000000", "rotate", null)).Status);
        Assert.Equal(StatusCodes.Status404NotFound, (await SendAsync("DELETE", "000000000000", null, null)).Status);
        Assert.Equal(StatusCodes.Status404NotFound, (await SendAsync("PATCH", "000000000000", null, "{}")).Status);
        Assert.Equal(StatusCodes.Status405MethodNotAllowed, (await SendAsync("POST", "000000000000", "explode", null)).Status);
    }
}
