using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary><c>gatehouse token create|list|revoke</c> against a running instance, after bootstrapping an admin token from storage.</summary>
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
