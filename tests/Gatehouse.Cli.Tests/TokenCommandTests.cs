using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Cli.Tokens;
using Gatehouse.Tokens;

namespace Gatehouse.Cli.Tests;

/// <summary><c>gatehouse token</c>: durations and expiries as typed, the list table, and the admin API requests it sends.</summary>
public sealed class TokenCommandTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("30d", 30 * 24 * 60)]
    [InlineData("12h", 12 * 60)]
    [InlineData("90m", 90)]
    [InlineData("0", 0)]
    public void Durations_are_days_hours_minutes_or_zero(string text, int minutes) =>
        Assert.Equal(TimeSpan.FromMinutes(minutes), TokenCommand.ParseDuration(text));

    [Theory]
    [InlineData("")]
    [InlineData("12")]
    [InlineData("3w")]
    [InlineData("-1h")]
    [InlineData("h")]
    public void Other_durations_are_refused(string text) => Assert.Throws<FormatException>(() => TokenCommand.ParseDuration(text));

    [Fact]
    public void An_expiry_is_a_time_or_a_duration_from_now()
    {
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), TokenCommand.ParseExpiry("2026-01-01T00:00:00Z", Now));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), TokenCommand.ParseExpiry("2026-01-01", Now));
        Assert.Equal(Now.AddDays(7), TokenCommand.ParseExpiry("7d", Now));
    }

    [Fact]
    public void The_list_shows_status_usage_against_limits_and_scopes()
    {
        var active = View("aaaaaaaaaaaa", "ci") with { Scopes = ["pypi:read=numpy"], MaxDownloads = 5, Downloads = 2, BytesLastDay = 10, LastUsedAt = Now };
        var expired = View("bbbbbbbbbbbb", "old") with { ExpiresAt = Now.AddMinutes(-1), AllowedIps = ["10.0.0.0/8"] };
        var revoked = View("cccccccccccc", "gone") with { RevokedAt = Now };
        var lines = TokenCommand.Table([active, expired, revoked], Now).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.StartsWith("ID", lines[0], StringComparison.Ordinal);
        Assert.Matches(@"^aaaaaaaaaaaa\s+active\s+2/5\s+10\s+2025-06-01 12:00:00Z\s+ci\s+pypi:read=numpy", lines[1]);
        Assert.Matches(@"^bbbbbbbbbbbb\s+expired\s+0\s+0\s+never\s+old\s+read expires 2025-06-01 11:59Z from 10.0.0.0/8", lines[2]);
        Assert.Matches(@"^cccccccccccc\s+revoked", lines[3]);
    }

    [Fact]
    public async Task Create_sends_the_scopes_and_limits_and_reads_the_secret()
    {
        var stub = new StubGatehouse(HttpStatusCode.Created, JsonSerializer.Serialize(View("aaaaaaaaaaaa", "ci") with { Token = "ght_secret" }, AdminTokensEndpoint.Json));
        using var http = Client(stub);

        var created = await new HttpTokenAdmin(http).CreateAsync("ci", TokenGrant.ParseAll(["pypi:read=numpy", "hf:read"]),
            new TokenLimits(Now, 5, 1000, ["10.0.0.0/8"]), CancellationToken.None);

        Assert.Equal("ght_secret", created.Token);
        var (method, uri, body) = stub.Requests.Single();
        Assert.Equal(("POST", "http://gatehouse.test/admin/tokens"), (method, uri));
        var sent = JsonDocument.Parse(body!).RootElement;
        Assert.Equal(["pypi:read=numpy", "hf:read"], sent.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(5, sent.GetProperty("maxDownloads").GetInt64());
        Assert.Equal(1000, sent.GetProperty("maxBytesPerDay").GetInt64());
        Assert.Equal(Now, sent.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.Equal("10.0.0.0/8", sent.GetProperty("allowedIps")[0].GetString());
    }

    [Fact]
    public async Task Rotate_posts_the_grace_in_hours_and_a_404_is_no_token()
    {
        var stub = new StubGatehouse(HttpStatusCode.OK, JsonSerializer.Serialize(View("aaaaaaaaaaaa", "ci") with { Token = "ght_new" }, AdminTokensEndpoint.Json));
        using var http = Client(stub);

        var rotated = await new HttpTokenAdmin(http).RotateAsync("aaaaaaaaaaaa", TimeSpan.FromMinutes(90), CancellationToken.None);

        Assert.Equal("ght_new", rotated?.Token);
        var (method, uri, body) = stub.Requests.Single();
        Assert.Equal(("POST", "http://gatehouse.test/admin/tokens/aaaaaaaaaaaa/rotate"), (method, uri));
        Assert.Equal(1.5, JsonDocument.Parse(body!).RootElement.GetProperty("graceHours").GetDouble());

        using var missing = Client(new StubGatehouse(HttpStatusCode.NotFound, "{}"));
        Assert.Null(await new HttpTokenAdmin(missing).RotateAsync("bbbbbbbbbbbb", null, CancellationToken.None));
    }

    [Fact]
    public async Task A_malformed_scope_exits_2_before_anything_is_sent()
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            var exit = await GatehouseCommand.Build().Parse(["token", "create", "--name", "x", "--scope", "pypi:write", "--url", "http://127.0.0.1:1", "--admin-token", "x"]).InvokeAsync();
            Assert.Equal(2, exit);
        }
        finally
        {
            Console.SetError(previous);
        }
        Assert.Contains("Unknown scope 'pypi:write'", error.ToString(), StringComparison.Ordinal);
    }

    private static TokenView View(string id, string name) =>
        new(id, name, TokenScope.Read, ["read"], Now.AddDays(-1), null, null, null, null, [], 0, 0, 0, null, null, null);

    private static HttpClient Client(StubGatehouse stub) => new(stub) { BaseAddress = new Uri("http://gatehouse.test/") };

    private sealed class StubGatehouse(HttpStatusCode status, string body) : HttpMessageHandler
    {
        public List<(string Method, string Uri, string? Body)> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add((request.Method.Method, request.RequestUri!.AbsoluteUri, request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken)));
            return new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        }
    }
}
