using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Gatehouse.Cli;

/// <summary>The <c>--url</c> and <c>--admin-token</c> options every command talking to a running Gatehouse shares.</summary>
internal sealed class AdminConnection
{
    public Option<string?> Url { get; } = new("--url") { Description = "Gatehouse base URL (env GATEHOUSE_URL), e.g. http://127.0.0.1:7071" };
    public Option<string?> AdminToken { get; } = new("--admin-token") { Description = "Admin entitlement token (env GATEHOUSE_ADMIN_TOKEN)" };

    /// <summary>The base URL given on the command line or in the environment, or null.</summary>
    public string? BaseUrl(ParseResult parse) => parse.GetValue(Url) ?? Environment.GetEnvironmentVariable("GATEHOUSE_URL");

    /// <summary>An HTTP client for the instance with the admin token as Bearer, or why there is none.</summary>
    public (HttpClient? Client, string? Problem) Connect(ParseResult parse, TimeSpan? timeout = null)
    {
        if (BaseUrl(parse) is not { } baseUrl)
        {
            return (null, "Say where Gatehouse is: --url (or GATEHOUSE_URL).");
        }
        var secret = parse.GetValue(AdminToken) ?? Environment.GetEnvironmentVariable("GATEHOUSE_ADMIN_TOKEN");
        if (string.IsNullOrEmpty(secret))
        {
            return (null, "An admin token is needed with --url: pass --admin-token or set GATEHOUSE_ADMIN_TOKEN.");
        }
        if (!Uri.TryCreate(baseUrl.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return (null, $"--url must be an http(s) URL, not '{baseUrl}'.");
        }
        var http = new HttpClient { BaseAddress = uri, Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return (http, null);
    }

    /// <summary>
    /// Connects and runs <paramref name="run"/>; a missing setting, an unreachable instance or an answer that is not
    /// JSON is printed as <c>gatehouse {command}: …</c> and exits 2.
    /// </summary>
    public async Task<int> RunAsync(ParseResult parse, string command, Func<HttpClient, Task<int>> run, CancellationToken ct, TimeSpan? timeout = null)
    {
        var (http, problem) = Connect(parse, timeout);
        if (http is null)
        {
            Console.Error.WriteLine(problem);
            return 2;
        }
        using (http)
        {
            try
            {
                return await run(http);
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                Console.Error.WriteLine($"gatehouse {command}: {e.Message}");
                return 2;
            }
        }
    }
}
