using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Gatehouse.HuggingFace;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Core.Tests.HuggingFace;

public class HuggingFaceEndpointTests
{
    private sealed class Handler(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public List<HttpRequestMessage> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            return Task.FromResult(answer(request));
        }
    }

    /// <summary>The endpoint as both hosts compose it (AddGatehouse), with the Hub's HTTP client sending to <paramref name="handler"/>.</summary>
    private static HuggingFaceEndpoint Endpoint(Handler handler, string? upstreamToken = null, int? cacheTtlSeconds = null, TimeProvider? time = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            // Deciding on a repository's info reads the policy and the names table: the test Azurite (its tables need not exist).
            ["AzureWebJobsStorage"] = Gatehouse.Tests.Shared.TestAzurite.ConnectionString,
            ["Gatehouse:PublicBaseUrl"] = "http://gatehouse.test",
            ["Gatehouse:HuggingFace:Endpoint"] = "https://hub.test/",
            ["Gatehouse:HuggingFace:UpstreamToken"] = upstreamToken,
            ["Gatehouse:HuggingFace:CacheTtlSeconds"] = cacheTtlSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).Build();
        var services = new ServiceCollection().AddLogging().AddGatehouse(configuration);
        services.AddSingleton<Microsoft.Extensions.Hosting.IHostApplicationLifetime, Pipeline.FakeLifetime>(); // what each host provides
        services.AddHttpClient(HuggingFaceUpstream.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => handler);
        if (time is not null)
        {
            services.AddSingleton(time);
        }
        return services.BuildServiceProvider().GetRequiredService<HuggingFaceEndpoint>();
    }

    private static DefaultHttpContext Context(string path, string method = "GET")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("gatehouse.test");
        context.Request.Path = path;
        context.Request.Headers.Authorization = "Bearer entitlement-secret";
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static string Body(HttpContext context) => Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray());

    [Fact]
    public async Task Only_the_configured_upstream_token_is_sent_never_the_clients()
    {
        var handler = new Handler(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"sha\":\"x\"}") });
        var context = Context("/hf/api/models/ns/name");
        await Endpoint(handler, "hf_service_token").HandleAsync(context, null!);
        Assert.Equal(200, context.Response.StatusCode);
        var request = Assert.Single(handler.Requests);
        Assert.Equal("https://hub.test/api/models/ns/name", request.RequestUri!.AbsoluteUri);
        Assert.Equal("Bearer hf_service_token", request.Headers.Authorization?.ToString());

        handler.Requests.Clear();
        await Endpoint(handler).HandleAsync(Context("/hf/api/models/ns/name"), null!);
        Assert.Null(Assert.Single(handler.Requests).Headers.Authorization);
    }

    [Theory]
    [InlineData("/hf/api/models/ns/name/revision/0123456789abcdef0123456789abcdef01234567", 0, 1)]
    [InlineData("/hf/api/models/ns/name/tree/0123456789abcdef0123456789abcdef01234567", 0, 1)]
    [InlineData("/hf/api/models/ns/name/revision/main", 0, 3)]
    [InlineData("/hf/api/models/ns/name/revision/main", 60, 1)]
    [InlineData("/hf/api/models/ns/name", 60, 1)]
    public async Task Api_answers_at_a_commit_are_kept_and_those_by_branch_for_the_ttl(string path, int ttlSeconds, int upstreamCalls)
    {
        var handler = new Handler(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"sha\":\"0123456789abcdef0123456789abcdef01234567\"}") });
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var endpoint = Endpoint(handler, cacheTtlSeconds: ttlSeconds, time: time);

        var bodies = new List<string>();
        foreach (var _ in Enumerable.Range(0, 3))
        {
            var context = Context(path);
            await endpoint.HandleAsync(context, null!);
            Assert.Equal(200, context.Response.StatusCode);
            bodies.Add(Body(context));
            time.Advance(TimeSpan.FromSeconds(20));
        }

        Assert.Equal(upstreamCalls, handler.Requests.Count);
        Assert.Single(bodies.Distinct());
    }

    [Fact]
    public async Task A_branch_answer_past_its_ttl_goes_upstream_again_and_a_commit_answer_does_not()
    {
        var handler = new Handler(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{}") });
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var endpoint = Endpoint(handler, cacheTtlSeconds: 60, time: time);
        const string Commit = "/hf/api/models/ns/name/revision/0123456789abcdef0123456789abcdef01234567";

        await endpoint.HandleAsync(Context("/hf/api/models/ns/name/revision/main"), null!);
        await endpoint.HandleAsync(Context(Commit), null!);
        time.Advance(TimeSpan.FromSeconds(61));
        await endpoint.HandleAsync(Context("/hf/api/models/ns/name/revision/main"), null!);
        await endpoint.HandleAsync(Context(Commit), null!);

        Assert.Equal(["/api/models/ns/name/revision/main", "/api/models/ns/name/revision/0123456789abcdef0123456789abcdef01234567", "/api/models/ns/name/revision/main"],
            handler.Requests.Select(r => r.RequestUri!.AbsolutePath));
    }

    [Fact]
    public async Task An_upstream_error_is_not_kept()
    {
        var handler = new Handler(_ => new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("{\"error\":\"Revision Not Found\"}") });
        var endpoint = Endpoint(handler, cacheTtlSeconds: 60);

        await endpoint.HandleAsync(Context("/hf/api/models/ns/name/revision/0123456789abcdef0123456789abcdef01234567"), null!);
        await endpoint.HandleAsync(Context("/hf/api/models/ns/name/revision/0123456789abcdef0123456789abcdef01234567"), null!);

        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task An_unreachable_upstream_is_a_502_with_a_json_error()
    {
        var handler = new Handler(_ => throw new HttpRequestException("connection refused"));
        var context = Context("/hf/api/datasets/ns/name/tree/main");
        await Endpoint(handler).HandleAsync(context, null!);
        Assert.Equal(502, context.Response.StatusCode);
        Assert.Contains("could not be reached", JsonDocument.Parse(Body(context)).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Tree_answers_lose_xet_hashes_and_links_point_at_gatehouse()
    {
        var handler = new Handler(_ =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent("[{\"type\":\"file\",\"path\":\"m.safetensors\",\"xetHash\":\"abc\",\"lfs\":{\"oid\":\"s\"}}]"),
            };
            response.Headers.TryAddWithoutValidation("Link", "<https://hub.test/api/models/ns/name/tree/main?cursor=c2>; rel=\"next\", <https://hub.test/x>; rel=\"xet-auth\"");
            return response;
        });
        var context = Context("/hf/api/models/ns/name/tree/main");
        await Endpoint(handler).HandleAsync(context, null!);
        Assert.Equal(200, context.Response.StatusCode);
        Assert.DoesNotContain("xetHash", Body(context));
        Assert.Equal("<http://gatehouse.test/hf/api/models/ns/name/tree/main?cursor=c2>; rel=\"next\"", context.Response.Headers.Link.ToString());

        // The link comes from Gatehouse's configured address, never from the Host header a client sends.
        var forged = Context("/hf/api/models/ns/name/tree/main");
        forged.Request.Host = new HostString("evil.example");
        await Endpoint(handler).HandleAsync(forged, null!);
        Assert.StartsWith("<http://gatehouse.test/hf/", forged.Response.Headers.Link.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_anonymous_upstream_401_for_an_unknown_repo_becomes_a_404_repo_not_found()
    {
        var handler = new Handler(_ =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.Unauthorized) { Content = new StringContent("{\"error\":\"Repository not found\"}") };
            response.Headers.TryAddWithoutValidation("X-Error-Code", "RepoNotFound");
            return response;
        });
        var context = Context("/hf/api/models/ns/missing");
        await Endpoint(handler).HandleAsync(context, null!);
        Assert.Equal(404, context.Response.StatusCode);
        Assert.Equal("RepoNotFound", context.Response.Headers["X-Error-Code"].ToString());
    }

    [Theory]
    [InlineData("/hf/api/models/a--b/c")]
    [InlineData("/hf/api/models/ns/name/tree/main/%2e%2e/x")]
    public async Task Invalid_input_is_refused_without_an_upstream_call(string path)
    {
        var handler = new Handler(_ => throw new InvalidOperationException("must not be called"));
        var context = Context(path);
        await Endpoint(handler).HandleAsync(context, null!);
        Assert.Equal(400, context.Response.StatusCode);
        Assert.Equal("BadRequest", context.Response.Headers["X-Error-Code"].ToString());
        Assert.Empty(handler.Requests);
    }
}
