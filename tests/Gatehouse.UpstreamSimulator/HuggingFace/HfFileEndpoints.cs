using Microsoft.Net.Http.Headers;

namespace Gatehouse.UpstreamSimulator.HuggingFace;

/// <summary>
/// <c>HEAD|GET /{ns}/{name}/resolve/{rev}/{path}</c> and <c>/datasets/{ns}/{name}/resolve/…</c>, plus the CDN-like
/// <c>/cdn/lfs/{sha256}</c>, with the headers huggingface_hub's <c>file_download.py</c> reads. Regular files: 200 with
/// <c>ETag: "&lt;git sha1&gt;"</c>. LFS files: 302 with a relative <c>Location</c>, <c>X-Linked-Etag</c>,
/// <c>X-Linked-Size</c> and Xet advertisement headers (so a proxy's stripping can be tested).
/// </summary>
internal static class HfFileEndpoints
{
    public const string CdnPrefix = "/cdn/lfs/";

    public static void Map(IEndpointRouteBuilder app, HfState state)
    {
        app.MapMethods("/{ns}/{name}/resolve/{**rest}", ["GET", "HEAD"], (HttpContext c, SimulatorState sim) => ResolveAsync(c, state, sim, "models", 0));
        app.MapMethods("/datasets/{ns}/{name}/resolve/{**rest}", ["GET", "HEAD"], (HttpContext c, SimulatorState sim) => ResolveAsync(c, state, sim, "datasets", 1));
        app.MapMethods(CdnPrefix + "{sha256}", ["GET", "HEAD"], (HttpContext c, SimulatorState sim, string sha256) => CdnAsync(c, state, sim, sha256));
    }

    private static async Task ResolveAsync(HttpContext context, HfState state, SimulatorState sim, string kind, int skip)
    {
        HfRequest.RecordAuthorization(context, state);
        var segments = HfRequest.Segments(context).Skip(skip).ToList(); // ns, name, resolve, rev…, path…
        var repo = state.FindRepo(kind, segments[0] + "/" + segments[1]);
        if (repo is null)
        {
            await HfRequest.RepoNotFoundAsync(context);
            return;
        }

        var index = 3;
        var revision = HfRequest.TakeRevision(segments, ref index);
        var commit = revision is null ? null : state.Resolve(repo, revision);
        if (commit is null)
        {
            await HfRequest.RevisionNotFoundAsync(context, revision ?? string.Empty);
            return;
        }

        var path = string.Join('/', segments.Skip(index));
        var file = commit.Find(path);
        var response = context.Response;
        if (file is null)
        {
            await HfRequest.EntryNotFoundAsync(context, path, commit.Id);
            return;
        }

        var head = HttpMethods.IsHead(context.Request.Method);
        state.CountResolve(repo, path, head);
        response.Headers["X-Repo-Commit"] = commit.Id;
        response.Headers.AcceptRanges = "bytes";
        if (file.Lfs is not { } lfs)
        {
            await ServeAsync(context, sim, state, file, file.Sha1, () => { });
            return;
        }

        // LFS: redirect to the CDN (relative, same host, like the Hub's resolve-cache redirects keep auth).
        var origin = HfRequest.Origin(context);
        var tokenRoute = $"{origin}/api/{repo.Kind}/{repo.Id}/xet-read-token/{commit.Id}";
        response.StatusCode = StatusCodes.Status302Found;
        response.Headers.Location = CdnPrefix + lfs.Oid;
        response.Headers.ETag = $"\"{file.Oid}\"";
        response.Headers["X-Linked-Etag"] = $"\"{lfs.Oid}\"";
        response.Headers["X-Linked-Size"] = lfs.Size.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (file.XetHash is { } xet)
        {
            response.Headers["X-Xet-Hash"] = xet;
            response.Headers["X-Xet-Refresh-Route"] = tokenRoute;
            response.Headers.Link =
                $"<{tokenRoute}>; rel=\"xet-auth\", <{origin}/cas/v1/reconstructions/{xet}>; rel=\"xet-reconstruction-info\"";
        }

        response.ContentType = "text/plain; charset=utf-8";
        var body = $"Found. Redirecting to {CdnPrefix}{lfs.Oid}";
        response.ContentLength = body.Length;
        if (!head)
        {
            await response.WriteAsync(body, context.RequestAborted);
        }
    }

    private static async Task CdnAsync(HttpContext context, HfState state, SimulatorState sim, string sha256)
    {
        HfRequest.RecordAuthorization(context, state);
        if (state.FindLfs(sha256) is not { } file)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.Headers.AcceptRanges = "bytes";
        context.Response.Headers.CacheControl = "public, max-age=604800, immutable";
        await ServeAsync(context, sim, state, file, sha256, () => state.CountCdnFetch(sha256));
    }

    /// <summary>
    /// The file's bytes, streamed (synthetic files are generated as they are read), with Range (206/416), If-Range and
    /// If-None-Match handled by ASP.NET; counts and delays at body start, and paces a throttled synthetic file.
    /// </summary>
    private static Task ServeAsync(HttpContext context, SimulatorState sim, HfState state, HfFile file, string etag, Action countBodyStart)
    {
        var delay = sim.FileDelay;
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var stream = new HfBodyStream(state.OpenContent(file), state.FlippedByteAt(file), async ct =>
        {
            countBodyStart();
            if (delay > TimeSpan.Zero)
            {
                await context.Response.StartAsync(ct);
                await context.Response.Body.FlushAsync(ct);
                using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct, stopping);
                await Task.Delay(delay, cancel.Token);
            }
        }, file.BytesPerSecond);
        return Results.Stream(stream, "application/octet-stream", enableRangeProcessing: true, entityTag: new EntityTagHeaderValue($"\"{etag}\""))
            .ExecuteAsync(context);
    }
}
