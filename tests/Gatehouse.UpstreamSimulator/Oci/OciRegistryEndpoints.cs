using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.UpstreamSimulator.HuggingFace;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.UpstreamSimulator.Oci;

/// <summary>
/// The pull side of the OCI distribution spec (https://github.com/opencontainers/distribution-spec/blob/main/spec.md) as
/// registry-1.docker.io answers it: <c>/v2/</c> behind a bearer challenge, manifests by tag or digest with Accept
/// negotiation, blobs by digest (307 to a CDN path by default, with Range), paginated tag lists, Docker Hub's
/// <c>RateLimit-*</c> headers; and the token server at <c>/token</c>.
/// </summary>
internal static partial class OciRegistryEndpoints
{
    /// <summary>The <c>service</c> of Docker Hub's challenge.</summary>
    public const string Service = "registry.docker.io";

    /// <summary>Docker Hub's rate-limit window: six hours.</summary>
    private const string RateLimitWindow = ";w=21600";

    public static void Map(IEndpointRouteBuilder app, OciState state)
    {
        app.MapMethods("/v2", [HttpMethods.Get, HttpMethods.Head], (Func<HttpContext, Task<IResult>>)(context => RouteAsync(context, state, "")));
        app.MapMethods("/v2/{**path}", [HttpMethods.Get, HttpMethods.Head], (HttpContext context, string? path) => RouteAsync(context, state, path ?? ""));
        app.MapMethods("/v2/{**path}", [HttpMethods.Post, HttpMethods.Put, HttpMethods.Patch, HttpMethods.Delete],
            () => OciErrors.Unsupported("The simulated registry serves pulls only."));
        app.MapGet("/token", (HttpContext context) => OciTokenEndpoint.Issue(context, state));
        app.MapMethods("/cdn/blobs/{digest}", [HttpMethods.Get, HttpMethods.Head], (HttpContext context, SimulatorState sim, string digest) =>
            CdnAsync(context, sim, state, digest));
    }

    private static async Task<IResult> RouteAsync(HttpContext context, OciState state, string path)
    {
        context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        if (path.Length == 0)
        {
            return Challenge(context, state, repository: null) ?? Results.Json(new { });
        }

        if (RegistryPath().Match(path) is not { Success: true } match)
        {
            return OciErrors.Write(StatusCodes.Status404NotFound, "NOT_FOUND", "no such endpoint in the pull API", new { path });
        }

        var name = match.Groups["name"].Value;
        if (!RepositoryName().IsMatch(name) || name.Length > 255)
        {
            return OciErrors.NameInvalid(name);
        }
        if (Challenge(context, state, name) is { } unauthorized)
        {
            return unauthorized;
        }

        var kind = match.Groups["kind"].Value;
        var reference = match.Groups["reference"].Value;
        var repository = await state.FindRepositoryAsync(name, kind == "manifests" ? reference : null, context.RequestAborted);
        if (repository is null)
        {
            return OciErrors.NameUnknown(name);
        }

        return kind switch
        {
            "manifests" => Manifest(context, state, repository, reference),
            "blobs" => await BlobAsync(context, state, repository, reference),
            _ => TagList(context, repository),
        };
    }

    /// <summary>Null when the request carries a live token for the repository (any live token for <c>/v2/</c>); else the 401 with the challenge.</summary>
    private static IResult? Challenge(HttpContext context, OciState state, string? repository)
    {
        string? error = null;
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var grant = state.Tokens.Find(authorization["Bearer ".Length..].Trim());
            if (grant is not null && (repository is null || grant.Repositories.Contains(repository)))
            {
                return null;
            }
            error = grant is null ? "invalid_token" : "insufficient_scope";
        }

        state.CountUnauthorized();
        var challenge = new StringBuilder($"Bearer realm=\"{Origin(context.Request)}/token\",service=\"{Service}\"");
        if (repository is not null)
        {
            challenge.Append(CultureInfo.InvariantCulture, $",scope=\"repository:{repository}:pull\"");
        }
        if (error is not null)
        {
            challenge.Append(CultureInfo.InvariantCulture, $",error=\"{error}\"");
        }
        context.Response.Headers.WWWAuthenticate = challenge.ToString();
        return OciErrors.Write(StatusCodes.Status401Unauthorized, "UNAUTHORIZED", "authentication required",
            repository is null ? null : new[] { new { type = "repository", @class = "", name = repository, action = "pull" } });
    }

    private static IResult Manifest(HttpContext context, OciState state, OciRepository repository, string reference)
    {
        var manifest = repository.Find(reference);
        if (manifest is null || !Accepts(context.Request, manifest.MediaType))
        {
            return OciErrors.ManifestUnknown(repository.Name, reference);
        }

        var head = HttpMethods.IsHead(context.Request.Method);
        if (head)
        {
            state.CountManifestHead(repository.Name, manifest.Digest);
        }
        else if (!state.TryCountManifestGet(repository.Name, manifest.Digest))
        {
            SetRateLimit(context.Response, state);
            return OciErrors.TooManyRequests();
        }

        var response = context.Response;
        SetRateLimit(response, state);
        response.Headers["Docker-Content-Digest"] = manifest.ServedDigest;
        response.Headers.ETag = $"\"{manifest.ServedDigest}\"";
        response.ContentType = manifest.MediaType;
        response.ContentLength = manifest.Body.LongLength;
        return head ? Results.Empty : Results.Bytes(manifest.Body, manifest.MediaType);
    }

    /// <summary>True when Accept is absent, names the media type or <c>*/*</c> (parameters such as q are ignored).</summary>
    private static bool Accepts(HttpRequest request, string mediaType)
    {
        var any = false;
        foreach (var header in request.Headers.Accept)
        {
            foreach (var part in (header ?? "").Split(','))
            {
                var type = part.Split(';')[0].Trim();
                if (type.Length == 0)
                {
                    continue;
                }
                any = true;
                if (type == "*/*" || string.Equals(type, mediaType, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }
        return !any;
    }

    private static void SetRateLimit(HttpResponse response, OciState state)
    {
        response.Headers["RateLimit-Limit"] = state.RateLimit.ToString(CultureInfo.InvariantCulture) + RateLimitWindow;
        response.Headers["RateLimit-Remaining"] = state.RateLimitRemaining.ToString(CultureInfo.InvariantCulture) + RateLimitWindow;
        response.Headers["Docker-RateLimit-Source"] = "127.0.0.1";
    }

    private static async Task<IResult> BlobAsync(HttpContext context, OciState state, OciRepository repository, string digest)
    {
        if (!Digest().IsMatch(digest))
        {
            return OciErrors.DigestInvalid(digest);
        }
        if (!repository.BlobDigests.Contains(digest) || state.Catalog.Blobs.GetValueOrDefault(digest) is not { } blob)
        {
            return OciErrors.BlobUnknown(digest);
        }

        var response = context.Response;
        response.Headers["Docker-Content-Digest"] = blob.Digest;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            state.CountBlob(digest, head: true);
            response.ContentType = "application/octet-stream";
            response.ContentLength = blob.Size;
            response.Headers.AcceptRanges = "bytes";
            return Results.Empty;
        }
        if (state.BlobRedirect)
        {
            state.CountBlobRedirect(digest);
            return Results.Redirect(Origin(context.Request) + state.SignedBlobPath(digest), permanent: false, preserveMethod: true);
        }

        var sim = context.RequestServices.GetRequiredService<SimulatorState>();
        await ServeBlobAsync(context, sim, state, blob);
        return Results.Empty;
    }

    /// <summary>The CDN path: pre-signed (<c>expires</c>, <c>sig</c>), no registry auth, bytes with Range, as Cloudflare serves Docker Hub's layers.</summary>
    private static async Task CdnAsync(HttpContext context, SimulatorState sim, OciState state, string digest)
    {
        if (context.Request.Headers.Authorization.Count > 0)
        {
            state.CountCdnAuthorization();
        }
        if (!state.VerifyBlobPath(digest, context.Request.Query["expires"], context.Request.Query["sig"]))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync("403 Forbidden: missing, bad or expired signature\n", context.RequestAborted);
            return;
        }
        if (state.Catalog.Blobs.GetValueOrDefault(digest) is not { } blob)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.Headers.CacheControl = "public, max-age=14400";
        await ServeBlobAsync(context, sim, state, blob);
    }

    /// <summary>The blob's bytes (from memory or disk) with Range (206/416); counted and delayed (<c>/_sim/delay</c>) when the body starts.</summary>
    private static Task ServeBlobAsync(HttpContext context, SimulatorState sim, OciState state, OciBlob blob)
    {
        var delay = sim.FileDelay;
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var stream = new HfBodyStream(blob.Open(), -1, async ct =>
        {
            state.CountBlob(blob.Digest, head: false);
            if (delay > TimeSpan.Zero)
            {
                await context.Response.StartAsync(ct);
                await context.Response.Body.FlushAsync(ct);
                using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct, stopping);
                await Task.Delay(delay, cancel.Token);
            }
        });
        return Results.Stream(stream, "application/octet-stream", enableRangeProcessing: true, entityTag: new EntityTagHeaderValue($"\"{blob.Digest}\""))
            .ExecuteAsync(context);
    }

    /// <summary>Tags in lexical order; <c>n</c> per page, after <c>last</c>, with a <c>Link: rel="next"</c> while more remain.</summary>
    private static IResult TagList(HttpContext context, OciRepository repository)
    {
        var query = context.Request.Query;
        var tags = repository.Tags.Keys.Order(StringComparer.Ordinal).ToList();
        if (query["last"].ToString() is { Length: > 0 } last)
        {
            tags = [.. tags.Where(t => string.CompareOrdinal(t, last) > 0)];
        }
        if (query.ContainsKey("n"))
        {
            if (!int.TryParse(query["n"], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                return OciErrors.Write(StatusCodes.Status400BadRequest, "PAGINATION_NUMBER_INVALID", "invalid number of results requested", new { n = query["n"].ToString() });
            }
            if (tags.Count > n && n > 0)
            {
                context.Response.Headers.Link = $"</v2/{repository.Name}/tags/list?n={n.ToString(CultureInfo.InvariantCulture)}&last={Uri.EscapeDataString(tags[n - 1])}>; rel=\"next\"";
            }
            tags = [.. tags.Take(n)];
        }
        return Results.Json(new { name = repository.Name, tags });
    }

    private static string Origin(HttpRequest request) => $"{request.Scheme}://{request.Host}";

    [GeneratedRegex(@"^(?<name>.+)/(?:(?<kind>manifests|blobs)/(?<reference>[^/]+)|(?<kind>tags)/list)$", RegexOptions.CultureInvariant)]
    private static partial Regex RegistryPath();

    /// <summary>The distribution spec's repository name: path components of lowercase alphanumerics joined by separators.</summary>
    [GeneratedRegex(@"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex RepositoryName();

    [GeneratedRegex(@"^sha256:[a-f0-9]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Digest();
}
