using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.Pipeline;
using Gatehouse.Upstream;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.HuggingFace;

/// <summary>
/// <c>/hf/…</c>: the Hub's repository API (info, revision, tree, paths-info for models and datasets) relayed from the
/// configured endpoint with <c>xetHash</c> removed (so clients never switch to Xet storage) and upstream URLs pointing
/// back at Gatehouse. Every input is validated before anything goes upstream. File downloads (<c>resolve</c>) go to
/// <see cref="HuggingFaceResolve"/>. GET answers are kept in memory: a day when they name a commit, else
/// <c>CacheTtlSeconds</c>.
/// </summary>
public sealed class HuggingFaceEndpoint(HuggingFaceUpstream upstream, HuggingFaceResolve resolve, PublicUrls urls, IMemoryCache cache, TimeProvider time,
    IOptions<GatehouseOptions> options, HfListingPolicy listing, HuggingFaceFacts facts, ILogger<HuggingFaceEndpoint> logger)
{
    private const string Prefix = "/hf/";
    private const int MaxRequestBodyBytes = 1024 * 1024;

    /// <summary>Answers larger than this are relayed but not kept in memory.</summary>
    private const int MaxCachedBytes = 1024 * 1024;

    /// <summary>An answer at a commit never changes; it is kept this long (memory only).</summary>
    private static readonly TimeSpan PinnedTtl = TimeSpan.FromHours(24);

    /// <summary>Upstream response headers clients read; everything else is dropped.</summary>
    private static readonly string[] PassedHeaders =
        ["X-Error-Code", "X-Error-Message", "X-Repo-Commit", "Retry-After", "RateLimit", "RateLimit-Policy"];

    private readonly TimeSpan _ttl = TimeSpan.FromSeconds(options.Value.HuggingFace.CacheTtlSeconds);

    public async Task HandleAsync(HttpContext context, DurableTaskClient durable)
    {
        var request = context.Request;
        var parsed = HfRequestPath.Parse(RelativeRawPath(context));
        if (parsed.Route is not { } route)
        {
            await WriteJsonErrorAsync(context, StatusCodes.Status400BadRequest, "BadRequest", parsed.Error ?? "Bad request");
            return;
        }
        switch (route.Action)
        {
            case HfAction.Spaces:
                await WriteJsonErrorAsync(context, StatusCodes.Status404NotFound, "RepoNotFound", "Spaces are not served by Gatehouse");
                return;
            case HfAction.NotServed:
                await WriteJsonErrorAsync(context, StatusCodes.Status404NotFound, null, "This Hugging Face API is not served by Gatehouse");
                return;
            case HfAction.Resolve when HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method):
                await resolve.HandleAsync(context, route, durable);
                return;
            case HfAction.Resolve:
                context.Response.Headers.Allow = "GET, HEAD";
                await WriteJsonErrorAsync(context, StatusCodes.Status405MethodNotAllowed, null, $"{request.Method} is not allowed here");
                return;
            case HfAction.PathsInfo when !HttpMethods.IsPost(request.Method):
            case HfAction.Info or HfAction.Tree when HttpMethods.IsPost(request.Method):
                context.Response.Headers.Allow = route.Action == HfAction.PathsInfo ? "POST" : "GET, HEAD";
                await WriteJsonErrorAsync(context, StatusCodes.Status405MethodNotAllowed, null, $"{request.Method} is not allowed here");
                return;
        }

        var upstreamPath = UpstreamPath(route) + request.QueryString.Value;
        byte[]? body = null;
        string? contentType = null;
        if (route.Action == HfAction.PathsInfo)
        {
            (body, contentType, var error) = await ReadPathsInfoBodyAsync(context);
            if (error is not null)
            {
                await WriteJsonErrorAsync(context, StatusCodes.Status400BadRequest, "BadRequest", error);
                return;
            }
        }

        // GET answers are kept: those at a commit for a day (they cannot change), the rest for CacheTtlSeconds.
        var ttl = body is not null ? TimeSpan.Zero : HfFileDigests.IsCommit(route.Revision) ? PinnedTtl : _ttl;
        var key = "hf-api:" + upstreamPath;
        if (ttl > TimeSpan.Zero && cache.TryGetValue(key, out CachedAnswer? cached) && cached is not null && cached.Expires > time.GetUtcNow())
        {
            await ServeAsync(context, route, cached.Answer);
            return;
        }
        using var response = await upstream.SendApiAsync(route.Action == HfAction.PathsInfo ? HttpMethod.Post : HttpMethod.Get, upstreamPath, body, contentType,
            context.RequestAborted);
        if (response.Failure is { } failure)
        {
            logger.LogWarning("Hugging Face upstream failed for {Action} {Repo}: {Problem}", route.Action, route.RepoId, failure.Message);
            await WriteJsonErrorAsync(context, StatusCodes.Status502BadGateway, null, failure.Message);
            return;
        }
        var answer = await RelayAsync(context, route, response);
        if (answer is { Status: >= 200 and < 300 } && ttl > TimeSpan.Zero && answer.Body.Length <= MaxCachedBytes)
        {
            cache.Set(key, new CachedAnswer(answer, time.GetUtcNow() + ttl), ttl);
        }
        if (answer is not null)
        {
            await ServeAsync(context, route, answer);
        }
    }

    /// <summary>
    /// Writes a relayed answer as the policy lets it through (<see cref="HfListingPolicy"/>). A repository's info at a
    /// revision (what <c>snapshot_download</c> and <c>model_info</c> ask first) is refused when the policy refuses the
    /// commit before any download; a tree or paths-info listing leaves out the files it refuses, and is refused when
    /// none is left. A refusal is a <c>403</c> <c>GatedRepo</c>, whose message the client prints.
    /// </summary>
    private async Task ServeAsync(HttpContext context, HfRoute route, RelayedAnswer answer)
    {
        if (answer.Status is < 200 or >= 300)
        {
            await answer.WriteAsync(context);
            return;
        }
        var (refusal, commit, body) = route.Action switch
        {
            HfAction.Info => await JudgeInfoAsync(context, route, answer),
            HfAction.Tree or HfAction.PathsInfo when await listing.FilterAsync(route, answer.Body, context.RequestAborted) is var verdict =>
                (verdict.Refusal, verdict.Commit, verdict.Body),
            _ => (null, null, null),
        };
        if (refusal is null)
        {
            await (body is null ? answer : answer with { Body = body }).WriteAsync(context);
            return;
        }
        logger.LogWarning("Refused {Action} of {Repo} at {Commit} before download: {Decision} by rule {Rule}", route.Action, route.RepoId, commit, refusal.Decision,
            refusal.Rule);
        context.Response.Headers["X-Repo-Commit"] = commit;
        await WriteJsonErrorAsync(context, StatusCodes.Status403Forbidden, "GatedRepo", HuggingFaceResolve.RefusalMessage(route.RepoId, refusal.Rule, refusal.Reason));
    }

    /// <summary>The repository's decision at the commit an info answer names; a full answer is remembered for the facts.</summary>
    private async Task<(ArtifactDecision? Refusal, string? Commit, byte[]? Body)> JudgeInfoAsync(HttpContext context, HfRoute route, RelayedAnswer answer)
    {
        JsonObject? info;
        try
        {
            info = JsonNode.Parse(answer.Body) as JsonObject;
        }
        catch (JsonException)
        {
            return (null, null, null);
        }
        if (info is null || HfFileDigests.Sha1(info["sha"] is JsonValue sha && sha.TryGetValue<string>(out var text) ? text : null) is not { } commit)
        {
            return (null, null, null);
        }
        if (!context.Request.QueryString.HasValue)
        {
            // A full answer (no expand= or blobs=) is the commit's info: the facts need not ask again.
            facts.Remember(route.RepoType, route.RepoId, commit, info);
        }
        var decision = await listing.DecideRepositoryAsync(route.RepoType, route.RepoId, commit, route.Revision, context.RequestAborted);
        return (decision.IsAllowed ? null : decision, commit, null);
    }

    /// <summary>The upstream API path for a validated route, each part percent-encoded (slashes in the tree path kept).</summary>
    internal static string UpstreamPath(HfRoute route)
    {
        var sb = new StringBuilder("api/").Append(route.RepoType).Append('/').Append(route.RepoId);
        switch (route.Action)
        {
            case HfAction.Info when route.Revision is not null:
                sb.Append("/revision/").Append(Uri.EscapeDataString(route.Revision));
                break;
            case HfAction.Tree:
                sb.Append("/tree/").Append(Uri.EscapeDataString(route.Revision!));
                if (route.Path.Length > 0)
                {
                    sb.Append('/').Append(string.Join('/', route.Path.Split('/').Select(Uri.EscapeDataString)));
                }
                break;
            case HfAction.PathsInfo:
                sb.Append("/paths-info/").Append(Uri.EscapeDataString(route.Revision!));
                break;
        }
        return sb.ToString();
    }

    /// <summary>The raw request path after <c>/hf/</c> (no query), so encoded slashes survive.</summary>
    internal static string RelativeRawPath(HttpContext context)
    {
        var raw = RawPath(context);
        var pathBase = context.Request.PathBase.Value;
        if (!string.IsNullOrEmpty(pathBase) && raw.StartsWith(pathBase, StringComparison.OrdinalIgnoreCase))
        {
            raw = raw[pathBase.Length..];
        }
        return raw.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? raw[Prefix.Length..] : "";
    }

    /// <summary>The request path as the client sent it (no query), path base included.</summary>
    internal static string RawPath(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || !raw.StartsWith('/'))
        {
            raw = context.Request.PathBase.Value + context.Request.Path.Value;
        }
        var q = raw.IndexOf('?', StringComparison.Ordinal);
        return q >= 0 ? raw[..q] : raw;
    }

    /// <summary>Reads a paths-info body (form or JSON, ≤ 1 MiB) and checks every requested path.</summary>
    private static async Task<(byte[]? Body, string? ContentType, string? Error)> ReadPathsInfoBodyAsync(HttpContext context)
    {
        var request = context.Request;
        var contentType = request.ContentType;
        var isForm = request.HasFormContentType;
        var isJson = contentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true;
        if (!isForm && !isJson)
        {
            return (null, null, "paths-info needs a form-encoded or JSON body");
        }
        if (request.ContentLength > MaxRequestBodyBytes)
        {
            return (null, null, "The paths-info body is too large");
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxRequestBodyBytes)
            {
                return (null, null, "The paths-info body is too large");
            }
            buffer.Write(chunk, 0, read);
        }
        var bytes = buffer.ToArray();
        var paths = new List<string>();
        if (isForm)
        {
            var form = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(bytes));
            if (form.TryGetValue("paths", out var values))
            {
                paths.AddRange(values.OfType<string>());
            }
        }
        else
        {
            try
            {
                switch (JsonNode.Parse(bytes) is JsonObject o ? o["paths"] : null)
                {
                    case JsonArray array:
                        foreach (var item in array)
                        {
                            if (item is not JsonValue v || !v.TryGetValue<string>(out var p))
                            {
                                return (null, null, "paths must be strings");
                            }
                            paths.Add(p);
                        }
                        break;
                    case JsonValue single when single.TryGetValue<string>(out var p):
                        paths.Add(p);
                        break;
                }
            }
            catch (JsonException)
            {
                return (null, null, "The paths-info body is not valid JSON");
            }
        }
        if (paths.Count == 0)
        {
            return (null, null, "paths is required (form field or JSON array)");
        }
        foreach (var path in paths)
        {
            if (!HfRequestPath.IsValidPath(path.TrimEnd('/')))
            {
                return (null, null, $"'{path}' is not a valid repository path");
            }
        }
        return (bytes, contentType, null);
    }

    /// <summary>
    /// The client's answer to an upstream API answer: its status and the headers clients read, the JSON with
    /// <c>xetHash</c> removed and upstream URLs pointing at Gatehouse. Null when an error was written instead.
    /// </summary>
    private async Task<RelayedAnswer?> RelayAsync(HttpContext context, HfRoute route, UpstreamResponse response)
    {
        var status = response.Status;
        var errorCode = response.Header("X-Error-Code");
        if (status == StatusCodes.Status401Unauthorized)
        {
            if (errorCode != "RepoNotFound")
            {
                logger.LogWarning("Hugging Face upstream refused Gatehouse's credentials for {Repo}", route.RepoId);
                await WriteJsonErrorAsync(context, StatusCodes.Status502BadGateway, null, "The Hugging Face upstream refused Gatehouse's credentials");
                return null;
            }
            // The client passed Gatehouse's check; a 401 would read as "your token is wrong". The Hub says 404 to callers with a token.
            status = StatusCodes.Status404NotFound;
        }
        else if (status is >= 300 and < 400)
        {
            await WriteJsonErrorAsync(context, StatusCodes.Status502BadGateway, null, "The Hugging Face upstream redirected outside its host");
            return null;
        }

        var (json, problem) = await response.ReadJsonAsync(context.RequestAborted);
        // A success must arrive whole; an error's body is only decoration (its status and X-Error-* headers carry it).
        if (problem is not null && (problem.Kind == UpstreamFailureKind.TooLarge || status is >= 200 and < 300))
        {
            await WriteJsonErrorAsync(context, StatusCodes.Status502BadGateway, null, problem.Message);
            return null;
        }

        var origin = urls.Origin + "/hf";
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in PassedHeaders)
        {
            if (response.Header(name) is { } value)
            {
                headers[name] = name == "X-Error-Message" ? HttpResponses.ReasonPhrase(value) : value;
            }
        }
        if (route.Action == HfAction.Tree && HfRewriter.RewriteLinkHeader(response.Header("Link"), upstream.EndpointBase, origin) is { } link)
        {
            headers["Link"] = link;
        }
        // An upstream error without a JSON body: give clients the Hub's error shape.
        json ??= new JsonObject { ["error"] = response.Header("X-Error-Message") ?? $"The Hugging Face upstream answered {status}" };
        return new RelayedAnswer(status, headers, Encoding.UTF8.GetBytes(HfRewriter.Rewrite(json, upstream.EndpointBase, origin)!.ToJsonString()));
    }

    /// <summary>A relayed answer and until when it may be served again (by <see cref="TimeProvider"/>; the memory cache drops it by its own clock).</summary>
    private sealed record CachedAnswer(RelayedAnswer Answer, DateTimeOffset Expires);

    /// <summary>An API answer as relayed to clients, kept whole so it can be served again from memory.</summary>
    private sealed record RelayedAnswer(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body)
    {
        public Task WriteAsync(HttpContext context)
        {
            var result = context.Response;
            result.StatusCode = Status;
            foreach (var (name, value) in Headers)
            {
                result.Headers[name] = value;
            }
            result.Headers.CacheControl = "no-cache";
            result.ContentType = "application/json; charset=utf-8";
            result.ContentLength = Body.Length;
            return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : result.Body.WriteAsync(Body, context.RequestAborted).AsTask();
        }
    }

    /// <summary>The Hub's error shape: JSON <c>{"error"}</c>, <c>X-Error-Message</c>, and <c>X-Error-Code</c> when one applies.</summary>
    internal static Task WriteJsonErrorAsync(HttpContext context, int status, string? code, string message)
    {
        var response = context.Response;
        response.StatusCode = status;
        if (code is not null)
        {
            response.Headers["X-Error-Code"] = code;
        }
        response.Headers["X-Error-Message"] = HttpResponses.ReasonPhrase(message);
        response.Headers.CacheControl = "no-store";
        response.ContentType = "application/json; charset=utf-8";
        var bytes = Encoding.UTF8.GetBytes(new JsonObject { ["error"] = message }.ToJsonString());
        response.ContentLength = bytes.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(bytes, context.RequestAborted).AsTask();
    }
}
