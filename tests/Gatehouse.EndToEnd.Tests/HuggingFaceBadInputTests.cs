using System.Net;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using static Gatehouse.TestHelpers.ResponseHeaders;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Hostile or malformed <c>resolve</c> URLs (the API routes are covered by <see cref="HuggingFaceApiTests"/>): traversal
/// in the file path, invalid repository ids, over-long or malformed revisions. For HEAD and GET, for models and
/// datasets, each is a 400 with the Hub's error shape saying what is wrong, decided before anything is sent upstream —
/// the simulator's counters and its Authorization log do not move. The Hub's error shape is <c>X-Error-Code</c>,
/// <c>X-Error-Message</c> and a JSON <c>error</c>, which huggingface_hub's <c>utils/_http.py</c> turns into its message.
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class HuggingFaceBadInputTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private const string Namespace = "gatehouse-demo";
    private const string RepoId = "is not a valid Hugging Face repository id";
    private const string Revision = "is not a valid revision";
    private const string FilePath = "is not a valid repository path";
    private const string Nul = "NUL";
    private static readonly UriCreationOptions Verbatim = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private GatehouseStack Stack => shared.Stack;

    /// <summary>
    /// <paramref name="template"/> is the URL after <c>/hf/[datasets/]</c>: <c>{repo}</c> is the demo model or dataset,
    /// <c>{ns}</c> and <c>{name}</c> its parts, <c>{long97}</c> 97 letters (one over the Hub's 96 per part),
    /// <c>{long257}</c> 257 (one over Gatehouse's 256 per revision). <paramref name="complaint"/> is what the error must say.
    /// </summary>
    [Theory]
    // Traversal and absolute paths in the file path.
    [InlineData("{repo}/resolve/main/../../etc/passwd", FilePath)]
    [InlineData("{repo}/resolve/main/%2e%2e/%2e%2e/etc/passwd", FilePath)]
    [InlineData("{repo}/resolve/main/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", FilePath)]
    [InlineData("{repo}/resolve/main/%252e%252e%252fsecret", FilePath)]
    [InlineData("{repo}/resolve/main/data/./../config.json", FilePath)]
    [InlineData("{repo}/resolve/main/data%5C..%5C..%5Csecret", FilePath)]
    [InlineData("{repo}/resolve/main/%5Cetc%5Cpasswd", FilePath)]
    [InlineData("{repo}/resolve/main//etc/passwd", FilePath)]
    [InlineData("{repo}/resolve/main/%2Fetc%2Fpasswd", FilePath)]
    [InlineData("{repo}/resolve/main/config.json%00.txt", Nul)]
    [InlineData("{repo}/resolve/main/config.json%0A", FilePath)]
    // Repository ids: empty parts, extra slashes, dot segments, over-long parts, characters the Hub never allows.
    [InlineData("{ns}//resolve/main/config.json", RepoId)]
    [InlineData("/{name}/resolve/main/config.json", RepoId)]
    [InlineData("{ns}/{name}%2Fextra/resolve/main/config.json", RepoId)]
    [InlineData("{ns}%2Fother/{name}/resolve/main/config.json", RepoId)]
    [InlineData("{ns}/%2e%2e/resolve/main/config.json", RepoId)]
    [InlineData("{ns}/tiny..model/resolve/main/config.json", RepoId)]
    [InlineData("{ns}/{long97}/resolve/main/config.json", RepoId)]
    [InlineData("{long97}/{name}/resolve/main/config.json", RepoId)]
    [InlineData("{ns}/tiny%20model/resolve/main/config.json", RepoId)]
    [InlineData("{ns}/tiny%3Bmodel/resolve/main/config.json", RepoId)]
    [InlineData("{ns}/t%C3%AFny-model/resolve/main/config.json", RepoId)]
    [InlineData("{ns}/-tiny-model/resolve/main/config.json", RepoId)]
    [InlineData("{ns}/{name}%0A/resolve/main/config.json", RepoId)]
    [InlineData("{ns}/tiny%00model/resolve/main/config.json", Nul)]
    // Revisions: too long, traversal, separators and characters a git ref can never hold (git check-ref-format).
    [InlineData("{repo}/resolve/{long257}/config.json", Revision)]
    [InlineData("{repo}/resolve/%2e%2e/config.json", Revision)]
    [InlineData("{repo}/resolve/main..x/config.json", Revision)]
    [InlineData("{repo}/resolve/refs%2F..%2Fmain/config.json", Revision)]
    [InlineData("{repo}/resolve/%2Fmain/config.json", Revision)]
    [InlineData("{repo}/resolve/refs%2Fpr%2F%2F1/config.json", Revision)]
    [InlineData("{repo}/resolve/ma%5Cin/config.json", Revision)]
    [InlineData("{repo}/resolve/ma%0Ain/config.json", Revision)]
    [InlineData("{repo}/resolve/ma%09in/config.json", Revision)]
    [InlineData("{repo}/resolve/ma%7Fin/config.json", Revision)]
    [InlineData("{repo}/resolve/ma%00in/config.json", Nul)]
    [InlineData("{repo}/resolve/ma%20in/config.json", Revision)]
    [InlineData("{repo}/resolve/main%3Fx/config.json", Revision)]
    [InlineData("{repo}/resolve/main%3Ax/config.json", Revision)]
    public Task A_malformed_resolve_url_gets_400_saying_what_is_wrong_before_any_upstream_call(string template, string complaint) => Stack.RunAsync(output, async () =>
    {
        using var client = Stack.CreateHfClient();
        client.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", "huggingface_hub/1.28.0; python/3.11; torch/2.5");
        foreach (var (prefix, name) in new[] { ("", "tiny-model"), ("datasets/", "tiny-dataset") })
        {
            var relative = "hf/" + prefix + template
                .Replace("{repo}", $"{Namespace}/{name}", StringComparison.Ordinal)
                .Replace("{ns}", Namespace, StringComparison.Ordinal)
                .Replace("{name}", name, StringComparison.Ordinal)
                .Replace("{long97}", new string('a', 97), StringComparison.Ordinal)
                .Replace("{long257}", new string('a', 257), StringComparison.Ordinal);
            var url = new Uri(Stack.BaseAddress.GetLeftPart(UriPartial.Authority) + "/" + relative, in Verbatim);
            foreach (var method in new[] { HttpMethod.Head, HttpMethod.Get })
            {
                var before = await UpstreamTrafficAsync();
                using var request = new HttpRequestMessage(method, url);
                using var response = await client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                var message = Header(response, "X-Error-Message");
                output.WriteLine($"{method} {relative} → {(int)response.StatusCode} {Header(response, "X-Error-Code")} {message} {body}");

                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                Assert.Equal(before, await UpstreamTrafficAsync());
                if (complaint == Nul && response.Content.Headers.ContentType is null)
                {
                    // Kestrel refuses a NUL in the request target before any middleware runs, so Gatehouse never sees it
                    // and cannot answer in the Hub's shape: a bare 400 (as in HuggingFaceApiTests).
                    Assert.Null(Header(response, "X-Error-Code"));
                    Assert.Empty(body);
                    continue;
                }
                Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
                Assert.Equal("BadRequest", Header(response, "X-Error-Code"));
                Assert.NotNull(message);
                Assert.Contains(complaint, message, StringComparison.Ordinal);
                if (method == HttpMethod.Get)
                {
                    var error = JsonDocument.Parse(body).RootElement.GetProperty("error").GetString();
                    Assert.NotNull(error);
                    Assert.Contains(complaint, error, StringComparison.Ordinal);
                }
                else
                {
                    Assert.Empty(body);
                }
            }
        }
    });

    /// <summary>
    /// What the simulated Hub has seen: <c>/_sim/hf/stats</c> (resolve HEAD/GET, CDN and API counters) and
    /// <c>/_sim/hf/auth</c> (one entry per raw request path that reached any Hub route, new paths included).
    /// </summary>
    private async Task<string> UpstreamTrafficAsync()
    {
        using var sim = new HttpClient { BaseAddress = Stack.Simulator.BaseAddress };
        var stats = await sim.GetStringAsync("_sim/hf/stats");
        var auth = await sim.GetStringAsync("_sim/hf/auth");
        return stats + "\n" + auth;
    }
}
