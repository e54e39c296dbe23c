using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary><c>gatehouse token create|list|revoke|rotate</c> against a running instance, after bootstrapping an admin token from storage.</summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class TokenCliTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private GatehouseStack Stack => shared.Stack;

    [Fact]
    public Task Tokens_created_listed_and_revoked_with_the_cli_take_effect_on_the_running_instance() => Stack.RunAsync(output, async () =>
    {
        var admin = await CliAsync(0, "token", "create", "--storage", TestEnvironment.StorageConnectionString, "--name", "e2e admin", "--scope", "admin", "--format", "token");
        var adminToken = admin.StandardOutput.Trim();
        Assert.StartsWith("ght_", adminToken);

        var url = Stack.BaseAddress.AbsoluteUri;
        var created = await CliAsync(0, "token", "create", "--url", url, "--admin-token", adminToken, "--name", "e2e reader", "--scope", "read", "--format", "json");
        var json = JsonDocument.Parse(created.StandardOutput).RootElement;
        var id = json.GetProperty("id").GetString()!;
        var secret = json.GetProperty("token").GetString()!;
        Assert.Equal("Read", json.GetProperty("scope").GetString());
        Assert.Equal(HttpStatusCode.OK, await StatusWithAsync(secret, "pypi/simple/gh-dep/"));
        Assert.Equal(HttpStatusCode.Forbidden, await StatusWithAsync(secret, "admin/tokens"));

        var listed = await CliAsync(0, "token", "list", "--url", url, "--admin-token", adminToken, "--format", "json");
        Assert.Contains(id, listed.StandardOutput);
        Assert.DoesNotContain(secret, listed.StandardOutput);

        await CliAsync(0, "token", "revoke", id, "--url", url, "--admin-token", adminToken);
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusWithAsync(secret, "pypi/simple/gh-dep/"));
        var again = await CliAsync(1, "token", "revoke", "000000000000", "--url", url, "--admin-token", adminToken);
        Assert.Contains("No token", again.StandardError);

        // A read token cannot administer, and the CLI says why.
        var refused = await CliAsync(2, "token", "list", "--url", url, "--admin-token", Stack.Token);
        Assert.Contains("403", refused.StandardError);
    });

    [Fact]
    public Task A_scoped_token_with_limits_is_created_listed_with_usage_and_rotated_with_the_cli() => Stack.RunAsync(output, async () =>
    {
        var admin = (await CliAsync(0, "token", "create", "--storage", TestEnvironment.StorageConnectionString, "--name", "e2e admin 2", "--scope", "admin", "--format", "token"))
            .StandardOutput.Trim();
        var url = Stack.BaseAddress.AbsoluteUri;
        var created = await CliAsync(0, "token", "create", "--url", url, "--admin-token", admin, "--name", "e2e scoped", "--scope", "pypi:read=gh_dep",
            "--expires", "30d", "--max-downloads", "100", "--allow-ip", "127.0.0.0/8", "--allow-ip", "::1", "--format", "json");
        var json = JsonDocument.Parse(created.StandardOutput).RootElement;
        var id = json.GetProperty("id").GetString()!;
        var secret = json.GetProperty("token").GetString()!;
        Assert.Equal("pypi:read=gh_dep", json.GetProperty("scopes")[0].GetString());
        Assert.Equal(["127.0.0.0/8", "::1/128"], json.GetProperty("allowedIps").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(HttpStatusCode.OK, await StatusWithAsync(secret, "pypi/simple/gh-dep/"));
        Assert.Equal(HttpStatusCode.Forbidden, await StatusWithAsync(secret, "pypi/simple/gh-demo/"));

        var listed = await CliAsync(0, "token", "list", "--url", url, "--admin-token", admin);
        Assert.Matches($@"{id}\s+active\s+0/100\s+0\s+\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+e2e scoped\s+pypi:read=gh_dep expires", listed.StandardOutput);

        var rotated = await CliAsync(0, "token", "rotate", id, "--grace", "0", "--url", url, "--admin-token", admin, "--format", "token");
        var renewed = rotated.StandardOutput.Trim();
        Assert.StartsWith($"ght_{id}_", renewed);
        Assert.Equal(HttpStatusCode.OK, await StatusWithAsync(renewed, "pypi/simple/gh-dep/"));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusWithAsync(secret, "pypi/simple/gh-dep/"));
        var refused = await CliAsync(2, "token", "create", "--url", url, "--admin-token", admin, "--name", "x", "--allow-ip", "10.0.0.1/8");
        Assert.Contains("10.0.0.1/8", refused.StandardError);
    });

    private async Task<ProcessResult> CliAsync(int expectedExit, params string[] args)
    {
        var result = await PythonVenv.RunAsync("dotnet", [TestEnvironment.CliDll, .. args]);
        Assert.True(result.ExitCode == expectedExit, $"expected exit {expectedExit}:\n{result}");
        return result;
    }

    private async Task<HttpStatusCode> StatusWithAsync(string token, string path)
    {
        using var client = Stack.CreateClient(authenticated: false);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("__token__:" + token)));
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }
}
