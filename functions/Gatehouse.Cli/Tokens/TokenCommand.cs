using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Storage;
using Gatehouse.Tokens;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;

namespace Gatehouse.Cli.Tokens;

/// <summary>
/// <c>gatehouse token create|list|revoke</c>: against a running instance (<c>--url</c> + <c>--admin-token</c>), or, to
/// bootstrap the first admin token, straight against the storage account (<c>--storage</c>).
/// </summary>
public static class TokenCommand
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() }, WriteIndented = true };

    public static Command Build()
    {
        var connection = new AdminConnection();
        var storage = new Option<string?>("--storage")
        {
            Description = "For direct bootstrap, no running instance needed: a storage connection string (env AzureWebJobsStorage), or in Azure, " +
                "where shared keys are off, the account's blob endpoint https://<account>.blob.core.windows.net (signed in with az or another " +
                "DefaultAzureCredential source that holds Storage Table Data Contributor)",
        };
        var name = new Option<string>("--name") { Description = "What the token is for", Required = true };
        var scope = new Option<TokenScope>("--scope") { Description = "read or admin", DefaultValueFactory = _ => TokenScope.Read };
        var format = new Option<string>("--format") { Description = "text, json, or token (only the secret, for scripts)", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json", "token");
        var id = new Argument<string>("id") { Description = "Token id, as listed" };

        var create = new Command("create", "Create a token; its secret is shown once") { name, scope, format };
        create.SetAction((parse, ct) => RunAsync(parse, connection, storage, async admin =>
        {
            var created = await admin.CreateAsync(parse.GetValue(name)!, parse.GetValue(scope), ct);
            switch (parse.GetValue(format))
            {
                case "token":
                    Console.WriteLine(created.Secret);
                    break;
                case "json":
                    Console.WriteLine(JsonSerializer.Serialize(new { created.Token.Id, created.Token.Name, created.Token.Scope, Token = created.Secret }, Json));
                    break;
                default:
                    Console.WriteLine($"Created {created.Token.Scope.ToString().ToLowerInvariant()} token {created.Token.Id} ({created.Token.Name}). It is shown once:");
                    Console.WriteLine(created.Secret);
                    break;
            }
            return 0;
        }));

        var list = new Command("list", "List tokens (never their secrets)") { format };
        list.SetAction((parse, ct) => RunAsync(parse, connection, storage, async admin =>
        {
            var tokens = await admin.ListAsync(ct);
            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(tokens, Json));
                return 0;
            }
            Console.WriteLine($"{"ID",-14}{"SCOPE",-8}{"CREATED",-22}{"STATUS",-10}NAME");
            foreach (var t in tokens.OrderBy(t => t.CreatedAt))
            {
                Console.WriteLine($"{t.Id,-14}{t.Scope.ToString().ToLowerInvariant(),-8}{t.CreatedAt:yyyy-MM-dd HH:mm:ss}Z   {(t.RevokedAt is null ? "active" : "revoked"),-10}{t.Name}");
            }
            return 0;
        }));

        var revoke = new Command("revoke", "Revoke a token") { id };
        revoke.SetAction((parse, ct) => RunAsync(parse, connection, storage, async admin =>
        {
            var tokenId = parse.GetValue(id)!;
            if (!await admin.RevokeAsync(tokenId, ct))
            {
                Console.Error.WriteLine($"No token {tokenId}.");
                return 1;
            }
            Console.WriteLine($"Revoked {tokenId}.");
            return 0;
        }));

        var token = new Command("token", "Manage entitlement tokens") { create, list, revoke };
        foreach (var option in new Option[] { connection.Url, connection.AdminToken, storage })
        {
            option.Recursive = true;
            token.Options.Add(option);
        }
        return token;
    }

    /// <summary>
    /// The <c>AzureWebJobsStorage</c> settings for <c>--storage</c>: a connection string as it is, or for a blob endpoint
    /// URL the identity-based pair (blob and table service URIs) the Functions host itself uses in Azure.
    /// </summary>
    internal static Dictionary<string, string?> StorageSettings(string storage)
    {
        if (Uri.TryCreate(storage, UriKind.Absolute, out var blob) && blob.Scheme == Uri.UriSchemeHttps)
        {
            var host = blob.Host;
            var at = host.IndexOf(".blob.", StringComparison.OrdinalIgnoreCase);
            if (at <= 0)
            {
                throw new ArgumentException($"--storage {storage} is not a blob endpoint (https://<account>.blob.<suffix>).");
            }
            var table = new UriBuilder(blob) { Host = host[..at] + ".table." + host[(at + ".blob.".Length)..], Path = "/" }.Uri;
            return new()
            {
                ["AzureWebJobsStorage:blobServiceUri"] = new UriBuilder(blob) { Path = "/" }.Uri.AbsoluteUri,
                ["AzureWebJobsStorage:tableServiceUri"] = table.AbsoluteUri,
            };
        }
        return new() { ["AzureWebJobsStorage"] = storage };
    }

    private static async Task<int> RunAsync(ParseResult parse, AdminConnection instance, Option<string?> storage, Func<ITokenAdmin, Task<int>> action)
    {
        var baseUrl = instance.BaseUrl(parse);
        var connection = parse.GetValue(storage) ?? (baseUrl is null ? Environment.GetEnvironmentVariable("AzureWebJobsStorage") : null);
        try
        {
            if (baseUrl is not null)
            {
                var (http, problem) = instance.Connect(parse);
                if (http is null)
                {
                    Console.Error.WriteLine(problem);
                    return 2;
                }
                using (http)
                {
                    return await action(new HttpTokenAdmin(http));
                }
            }
            if (connection is not null)
            {
                var config = new ConfigurationBuilder().AddInMemoryCollection(StorageSettings(connection)).Build();
                var store = GatehouseStorage.FromConfiguration(config);
                await store.EnsureCreatedAsync(CancellationToken.None);
                using var cache = new MemoryCache(new MemoryCacheOptions());
                return await action(new StorageTokenAdmin(new EntitlementTokenService(store, TimeProvider.System, cache)));
            }
            Console.Error.WriteLine("Say where Gatehouse is: --url (with --admin-token) for a running instance, or --storage for its storage account.");
            return 2;
        }
        catch (Exception e) when (e is HttpRequestException or Azure.RequestFailedException or InvalidOperationException or FormatException or ArgumentException)
        {
            Console.Error.WriteLine($"gatehouse token: {e.Message}");
            return 2;
        }
    }
}

/// <summary>Token administration, wherever it is carried out.</summary>
internal interface ITokenAdmin
{
    Task<CreatedToken> CreateAsync(string name, TokenScope scope, CancellationToken cancellationToken);
    Task<IReadOnlyList<EntitlementToken>> ListAsync(CancellationToken cancellationToken);
    Task<bool> RevokeAsync(string id, CancellationToken cancellationToken);
}

internal sealed class StorageTokenAdmin(EntitlementTokenService tokens) : ITokenAdmin
{
    public Task<CreatedToken> CreateAsync(string name, TokenScope scope, CancellationToken cancellationToken) => tokens.CreateAsync(name, scope, cancellationToken);
    public Task<IReadOnlyList<EntitlementToken>> ListAsync(CancellationToken cancellationToken) => tokens.ListAsync(cancellationToken);
    public Task<bool> RevokeAsync(string id, CancellationToken cancellationToken) => tokens.RevokeAsync(id, cancellationToken);
}

internal sealed class HttpTokenAdmin(HttpClient http) : ITokenAdmin
{
    public async Task<CreatedToken> CreateAsync(string name, TokenScope scope, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync("admin/tokens", new { name, scope }, TokenCommand.Json, cancellationToken);
        await EnsureAsync(response, cancellationToken);
        var body = await response.Content.ReadFromJsonAsync<CreatedBody>(TokenCommand.Json, cancellationToken)
            ?? throw new HttpRequestException("Gatehouse sent an empty answer.");
        return new CreatedToken(new EntitlementToken(body.Id, body.Name, body.Scope, body.CreatedAt, null), body.Token);
    }

    public async Task<IReadOnlyList<EntitlementToken>> ListAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync("admin/tokens", cancellationToken);
        await EnsureAsync(response, cancellationToken);
        return await response.Content.ReadFromJsonAsync<List<EntitlementToken>>(TokenCommand.Json, cancellationToken) ?? [];
    }

    public async Task<bool> RevokeAsync(string id, CancellationToken cancellationToken)
    {
        using var response = await http.DeleteAsync($"admin/tokens/{Uri.EscapeDataString(id)}", cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }
        await EnsureAsync(response, cancellationToken);
        return true;
    }

    private static async Task EnsureAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var text = (await response.Content.ReadAsStringAsync(cancellationToken)).Trim();
            throw new HttpRequestException($"Gatehouse answered {(int)response.StatusCode} {response.ReasonPhrase}: {text}");
        }
    }

    private sealed record CreatedBody(string Id, string Name, TokenScope Scope, DateTimeOffset CreatedAt, string Token);
}
