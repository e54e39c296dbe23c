using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.Tokens;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// The console's sign-in over plain HTTP against the real host: an admin token is traded once for an HttpOnly,
/// SameSite=Strict cookie; the cookie reads the admin API, and changes it only with the session's CSRF token; a read
/// token cannot sign in; revoking the token or signing out ends the session; the page is served with a strict CSP.
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class ConsoleSessionTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private GatehouseStack Stack => shared.Stack;

    [Fact]
    public Task An_admin_token_signs_in_to_a_cookie_that_reads_the_admin_api_and_changes_it_only_with_the_csrf_token() => Stack.RunAsync(output, async () =>
    {
        var admin = await GatehouseStack.CreateTokenAsync(TestEnvironment.StorageConnectionString, "console reviewer", TokenScope.Admin);
        using var http = Stack.CreateClient(authenticated: false);

        using var signIn = await http.PostAsync("console/session", Json(new { token = admin }));
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        var setCookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("gatehouse_session=", setCookie, StringComparison.Ordinal);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(admin, setCookie, StringComparison.Ordinal);
        var session = await signIn.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("console reviewer", session.GetProperty("name").GetString());
        var csrf = session.GetProperty("csrf").GetString()!;
        Assert.True(csrf.Length >= 40, csrf);
        Assert.DoesNotContain(admin, session.GetRawText(), StringComparison.Ordinal);
        var cookie = setCookie.Split(';')[0];

        // The page learns its CSRF token again after a reload, from the cookie alone.
        using (var current = await SendAsync(http, HttpMethod.Get, "console/session", cookie))
        {
            Assert.Equal(HttpStatusCode.OK, current.StatusCode);
            Assert.Equal(csrf, (await current.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("csrf").GetString());
        }

        // Reading needs the cookie only.
        using (var list = await SendAsync(http, HttpMethod.Get, "admin/tokens", cookie))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        }
        // A change without the CSRF token, or with a wrong one, is refused and changes nothing.
        var made = "made from the console " + Guid.NewGuid().ToString("N")[..8];
        var create = new { name = made, scopes = new[] { "pypi:read" } };
        using (var noCsrf = await SendAsync(http, HttpMethod.Post, "admin/tokens", cookie, body: create))
        {
            Assert.Equal(HttpStatusCode.Forbidden, noCsrf.StatusCode);
            Assert.Contains("CSRF", await noCsrf.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.False(noCsrf.Headers.Contains("WWW-Authenticate"));
        }
        using (var wrongCsrf = await SendAsync(http, HttpMethod.Post, "admin/tokens", cookie, csrf: csrf[..^2] + "xx", body: create))
        {
            Assert.Equal(HttpStatusCode.Forbidden, wrongCsrf.StatusCode);
        }
        // The CSRF token without the cookie is no credential.
        using (var noCookie = await SendAsync(http, HttpMethod.Post, "admin/tokens", cookie: null, csrf: csrf, body: create))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noCookie.StatusCode);
        }
        using (var tokens = await SendAsync(http, HttpMethod.Get, "admin/tokens", cookie))
        {
            Assert.DoesNotContain(made, await tokens.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var created = await SendAsync(http, HttpMethod.Post, "admin/tokens", cookie, csrf: csrf, body: create))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        // The audit names the reviewer's token as the one who acted.
        using (var audit = await SendAsync(http, HttpMethod.Get, "admin/audit?action=token.create", cookie))
        {
            var text = await audit.Content.ReadAsStringAsync();
            Assert.Contains(made, text, StringComparison.Ordinal);
            Assert.Contains("console reviewer", text, StringComparison.Ordinal);
        }

        // The cookie authenticates the admin API only: pip's routes still want a token.
        using (var index = await SendAsync(http, HttpMethod.Get, "pypi/simple/", cookie))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, index.StatusCode);
        }

        // Signing out needs the CSRF token too, and ends the session everywhere.
        using (var outNoCsrf = await SendAsync(http, HttpMethod.Delete, "console/session", cookie))
        {
            Assert.Equal(HttpStatusCode.Forbidden, outNoCsrf.StatusCode);
        }
        using (var signOut = await SendAsync(http, HttpMethod.Delete, "console/session", cookie, csrf: csrf))
        {
            Assert.Equal(HttpStatusCode.NoContent, signOut.StatusCode);
            Assert.Contains(signOut.Headers.GetValues("Set-Cookie"), c => c.StartsWith("gatehouse_session=;", StringComparison.Ordinal));
        }
        using (var after = await SendAsync(http, HttpMethod.Get, "admin/tokens", cookie))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
            Assert.False(after.Headers.Contains("WWW-Authenticate"));
        }
    });

    [Fact]
    public Task A_read_token_an_unknown_token_and_a_form_post_cannot_sign_in_and_revoking_the_token_ends_its_session() => Stack.RunAsync(output, async () =>
    {
        var read = await GatehouseStack.CreateTokenAsync(TestEnvironment.StorageConnectionString, "console read only", TokenScope.Read);
        using var http = Stack.CreateClient(authenticated: false);

        using (var refused = await http.PostAsync("console/session", Json(new { token = read })))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("not an admin token", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.False(refused.Headers.Contains("Set-Cookie"));
        }
        using (var unknown = await http.PostAsync("console/session", Json(new { token = "ght_000000000000_" + new string('a', 43) })))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
            Assert.False(unknown.Headers.Contains("Set-Cookie"));
        }
        var admin = await GatehouseStack.CreateTokenAsync(TestEnvironment.StorageConnectionString, "console soon revoked", TokenScope.Admin);
        using (var form = await http.PostAsync("console/session", new FormUrlEncodedContent([new("token", admin)])))
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
            Assert.False(form.Headers.Contains("Set-Cookie"));
        }
        using (var garbage = await http.PostAsync("console/session", new StringContent("{\"token\": 12", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        }

        using var signIn = await http.PostAsync("console/session", Json(new { token = admin }));
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        var id = (await signIn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("tokenId").GetString();
        using (var before = await SendAsync(http, HttpMethod.Get, "admin/policy", cookie))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }
        using var other = await Stack.CreateAdminClientAsync("console revoker");
        using (var revoke = await other.DeleteAsync($"admin/tokens/{id}"))
        {
            Assert.True(revoke.IsSuccessStatusCode, revoke.StatusCode.ToString());
        }
        // The token service caches a token for a second; the session ends within a few.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        HttpStatusCode status;
        do
        {
            await Task.Delay(250);
            using var after = await SendAsync(http, HttpMethod.Get, "admin/policy", cookie);
            status = after.StatusCode;
        }
        while (status == HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        using (var current = await SendAsync(http, HttpMethod.Get, "console/session", cookie))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, current.StatusCode);
        }
    });

    [Fact]
    public Task The_console_page_is_served_to_anyone_under_a_strict_content_security_policy_and_unknown_files_are_404() => Stack.RunAsync(output, async () =>
    {
        using var http = Stack.CreateClient(authenticated: false);
        foreach (var path in new[] { "console", "console/", "console/quarantine/" + new string('a', 64), "console/tokens" })
        {
            using var page = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            var csp = page.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Contains("<main", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var missing = await http.GetAsync("console/no-such-file.js"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
        using (var traversal = await http.GetAsync("console/..%2F..%2Fhost.json"))
        {
            Assert.Equal(HttpStatusCode.NotFound, traversal.StatusCode);
        }
        using var first = await http.GetAsync("console/");
        var etag = first.Headers.ETag!;
        using var again = new HttpRequestMessage(HttpMethod.Get, "console/");
        again.Headers.IfNoneMatch.Add(etag);
        using var cached = await http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, cached.StatusCode);
    });

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string? cookie, string? csrf = null, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }
        if (csrf is not null)
        {
            request.Headers.Add("X-CSRF-Token", csrf);
        }
        if (body is not null)
        {
            request.Content = Json(body);
        }
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return http.SendAsync(request);
    }
}
