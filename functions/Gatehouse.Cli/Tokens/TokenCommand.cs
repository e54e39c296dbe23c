using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Storage;
using Gatehouse.Tokens;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;

namespace Gatehouse.Cli.Tokens;

/// <summary>
/// <c>gatehouse token create|list|revoke|rotate</c>: against a running instance (<c>--url</c> + <c>--admin-token</c>), or, to
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
        var scope = new Option<string[]>("--scope")
        {
            Description = TokenScopes.Listing + "; limit one with =, e.g. pypi:read=numpy,torch-*, " +
                "hf:read=meta-llama/,openai/whisper-tiny or oci:read=library/*,ghcr.io/org/. Repeat for several scopes",
            DefaultValueFactory = _ => ["read"],
            AllowMultipleArgumentsPerToken = false,
        };
        var expires = new Option<string?>("--expires") { Description = "When the token stops working: an ISO 8601 time, or a duration from now (30d, 12h, 90m)" };
        var maxDownloads = new Option<long?>("--max-downloads") { Description = "Files the token may download in all" };
        var maxBytes = new Option<long?>("--max-bytes-per-day") { Description = "Bytes the token may download per rolling day (the current hour and the 23 before it)" };
        var allowIp = new Option<string[]>("--allow-ip") { Description = "Client addresses the token may be used from: CIDR ranges or addresses, IPv4 or IPv6. Repeat for several" };
        var grace = new Option<string?>("--grace") { Description = "How long the secret before stays valid (24h by default; 0 ends it now)" };
        var format = new Option<string>("--format") { Description = "text, json, or token (only the secret, for scripts)", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json", "token");
        var id = new Argument<string>("id") { Description = "Token id, as listed" };

        var create = new Command("create", "Create a token; its secret is shown once") { name, scope, expires, maxDownloads, maxBytes, allowIp, format };
        create.SetAction(async (parse, ct) =>
        {
            // Scopes, expiry and addresses are checked here, before Gatehouse or its storage is contacted.
            IReadOnlyList<TokenGrant> grants;
            TokenLimits limits;
            try
            {
                grants = TokenGrant.ParseAll(parse.GetValue(scope) ?? ["read"]);
                var expiresAt = parse.GetValue(expires) is { } when ? ParseExpiry(when, DateTimeOffset.UtcNow) : (DateTimeOffset?)null;
                limits = new TokenLimits(expiresAt, parse.GetValue(maxDownloads), parse.GetValue(maxBytes), IpAllowList.Canonical(parse.GetValue(allowIp) ?? []));
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine($"gatehouse token: {e.Message}");
                return 2;
            }
            return await RunAsync(parse, connection, storage, async admin =>
            {
                var created = await admin.CreateAsync(parse.GetValue(name)!, grants, limits, ct);
                Show(created, parse.GetValue(format)!, $"Created token {created.Id} ({created.Name}, {string.Join(' ', created.Scopes)}). It is shown once:");
                return 0;
            });
        });

        var list = new Command("list", "List tokens with their limits and usage (never their secrets)") { format };
        list.SetAction((parse, ct) => RunAsync(parse, connection, storage, async admin =>
        {
            var tokens = await admin.ListAsync(ct);
            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(tokens, Json));
                return 0;
            }
            Console.Write(Table(tokens, DateTimeOffset.UtcNow));
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

        var rotate = new Command("rotate", "Issue a new secret for a token; the one before stays valid for the grace period") { id, grace, format };
        rotate.SetAction((parse, ct) => RunAsync(parse, connection, storage, async admin =>
        {
            var tokenId = parse.GetValue(id)!;
            var period = parse.GetValue(grace) is { } text ? ParseDuration(text) : (TimeSpan?)null;
            if (await admin.RotateAsync(tokenId, period, ct) is not { } rotated)
            {
                Console.Error.WriteLine($"No live token {tokenId}.");
                return 1;
            }
            Show(rotated, parse.GetValue(format)!,
                $"Rotated {rotated.Id} ({rotated.Name}); the secret before is valid until {rotated.PreviousSecretValidUntil:yyyy-MM-dd HH:mm:ss}Z. The new one is shown once:");
            return 0;
        }));

        var token = new Command("token", "Manage entitlement tokens") { create, list, revoke, rotate };
        foreach (var option in new Option[] { connection.Url, connection.AdminToken, storage })
        {
            option.Recursive = true;
            token.Options.Add(option);
        }
        return token;
    }

    /// <summary>An ISO 8601 time, or a duration from <paramref name="now"/> (<c>30d</c>, <c>12h</c>, <c>90m</c>).</summary>
    internal static DateTimeOffset ParseExpiry(string text, DateTimeOffset now) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : now + ParseDuration(text);

    /// <summary>A duration: a whole number of days, hours, minutes or seconds (<c>30d</c>, <c>12h</c>, <c>90m</c>, <c>0</c>).</summary>
    internal static TimeSpan ParseDuration(string text)
    {
        var unit = text.Length > 0 ? text[^1] : ' ';
        var number = char.IsAsciiLetter(unit) ? text[..^1] : text;
        if (!int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || (!char.IsAsciiLetter(unit) && n != 0))
        {
            throw new FormatException($"'{text}' is not a duration such as 30d, 12h, 90m or 0.");
        }
        return unit switch
        {
            'd' => TimeSpan.FromDays(n),
            'h' => TimeSpan.FromHours(n),
            'm' => TimeSpan.FromMinutes(n),
            's' => TimeSpan.FromSeconds(n),
            _ when n == 0 => TimeSpan.Zero,
            _ => throw new FormatException($"'{text}' is not a duration such as 30d, 12h, 90m or 0."),
        };
    }

    /// <summary>The token list as a table: status, scopes, limits and usage.</summary>
    internal static string Table(IEnumerable<TokenView> tokens, DateTimeOffset now)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"ID",-14}{"STATUS",-9}{"DOWNLOADS",-12}{"BYTES/24H",-14}{"LAST USED",-22}{"NAME",-24}SCOPES AND LIMITS");
        foreach (var t in tokens.OrderBy(t => t.CreatedAt))
        {
            var status = t.RevokedAt is not null ? "revoked" : t.ExpiresAt <= now ? "expired" : "active";
            var downloads = t.MaxDownloads is { } max ? $"{t.Downloads}/{max}" : t.Downloads.ToString(CultureInfo.InvariantCulture);
            var bytes = t.MaxBytesPerDay is { } cap ? $"{t.BytesLastDay}/{cap}" : t.BytesLastDay.ToString(CultureInfo.InvariantCulture);
            var lastUsed = t.LastUsedAt is { } used ? used.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z" : "never";
            var limits = new List<string>(t.Scopes);
            if (t.ExpiresAt is { } expiresAt)
            {
                limits.Add("expires " + expiresAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + "Z");
            }
            if (t.AllowedIps.Count > 0)
            {
                limits.Add("from " + string.Join(',', t.AllowedIps));
            }
            text.AppendLine(CultureInfo.InvariantCulture, $"{t.Id,-14}{status,-9}{downloads,-12}{bytes,-14}{lastUsed,-22}{t.Name,-24}{string.Join(' ', limits)}");
        }
        return text.ToString();
    }

    private static void Show(TokenView token, string format, string heading)
    {
        switch (format)
        {
            case "token":
                Console.WriteLine(token.Token);
                break;
            case "json":
                Console.WriteLine(JsonSerializer.Serialize(token, Json));
                break;
            default:
                Console.WriteLine(heading);
                Console.WriteLine(token.Token);
                break;
        }
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
                return await action(new StorageTokenAdmin(EntitlementTokenService.ForStorage(store, TimeProvider.System, cache)));
            }
            Console.Error.WriteLine("Say where Gatehouse is: --url (with --admin-token) for a running instance, or --storage for its storage account.");
            return 2;
        }
        catch (Exception e) when (e is HttpRequestException or Azure.RequestFailedException or InvalidOperationException or FormatException or ArgumentException or OverflowException)
        {
            Console.Error.WriteLine($"gatehouse token: {e.Message}");
            return 2;
        }
    }
}

/// <summary>Token administration, wherever it is carried out.</summary>
internal interface ITokenAdmin
{
    Task<TokenView> CreateAsync(string name, IReadOnlyList<TokenGrant> grants, TokenLimits limits, CancellationToken cancellationToken);
    Task<IReadOnlyList<TokenView>> ListAsync(CancellationToken cancellationToken);
    Task<bool> RevokeAsync(string id, CancellationToken cancellationToken);
    Task<TokenView?> RotateAsync(string id, TimeSpan? grace, CancellationToken cancellationToken);
}

internal sealed class StorageTokenAdmin(EntitlementTokenService tokens) : ITokenAdmin
{
    private const string By = "gatehouse token --storage";

    public async Task<TokenView> CreateAsync(string name, IReadOnlyList<TokenGrant> grants, TokenLimits limits, CancellationToken cancellationToken)
    {
        var created = await tokens.CreateAsync(name, grants, limits, By, cancellationToken);
        return TokenView.Of(created.Token) with { Token = created.Secret };
    }

    public async Task<IReadOnlyList<TokenView>> ListAsync(CancellationToken cancellationToken) => [.. (await tokens.ListAsync(cancellationToken)).Select(TokenView.Of)];

    public Task<bool> RevokeAsync(string id, CancellationToken cancellationToken) => tokens.RevokeAsync(id, By, cancellationToken);

    public async Task<TokenView?> RotateAsync(string id, TimeSpan? grace, CancellationToken cancellationToken) =>
        await tokens.RotateAsync(id, grace, By, cancellationToken) is { } rotated ? TokenView.Of(rotated.Token) with { Token = rotated.Secret } : null;
}

internal sealed class HttpTokenAdmin(HttpClient http) : ITokenAdmin
{
    public async Task<TokenView> CreateAsync(string name, IReadOnlyList<TokenGrant> grants, TokenLimits limits, CancellationToken cancellationToken)
    {
        var body = new { name, scopes = grants.Select(g => g.ToString()), limits.ExpiresAt, limits.MaxDownloads, limits.MaxBytesPerDay, limits.AllowedIps };
        using var response = await http.PostAsJsonAsync("admin/tokens", body, TokenCommand.Json, cancellationToken);
        return await ReadAsync(response, cancellationToken);
    }

    public async Task<IReadOnlyList<TokenView>> ListAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync("admin/tokens", cancellationToken);
        await EnsureAsync(response, cancellationToken);
        return await response.Content.ReadFromJsonAsync<List<TokenView>>(AdminTokensEndpoint.Json, cancellationToken) ?? [];
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

    public async Task<TokenView?> RotateAsync(string id, TimeSpan? grace, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync($"admin/tokens/{Uri.EscapeDataString(id)}/rotate", new { graceHours = grace?.TotalHours }, TokenCommand.Json, cancellationToken);
        return response.StatusCode == System.Net.HttpStatusCode.NotFound ? null : await ReadAsync(response, cancellationToken);
    }

    private static async Task<TokenView> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await EnsureAsync(response, cancellationToken);
        return await response.Content.ReadFromJsonAsync<TokenView>(AdminTokensEndpoint.Json, cancellationToken)
            ?? throw new HttpRequestException("Gatehouse sent an empty answer.");
    }

    private static async Task EnsureAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var text = (await response.Content.ReadAsStringAsync(cancellationToken)).Trim();
            throw new HttpRequestException($"Gatehouse answered {(int)response.StatusCode} {response.ReasonPhrase}: {text}");
        }
    }
}
