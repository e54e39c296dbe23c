using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.Scans;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.HuggingFace.Prefetch;

/// <summary>
/// <c>POST /admin/prefetch/hf</c> <c>{"repo": "ns/name", "revision": "main", "repoType": "model|dataset"}</c> resolves the
/// revision to a commit and starts <see cref="ScanRepositoryOrchestrator"/> (202 + <c>Location</c>);
/// <c>GET /admin/prefetch/hf/{id}</c> reports its progress and, once done, every file's verdict. The instance id derives
/// from (type, repo, commit), so posting the same repository at the same commit again joins the run in progress.
/// </summary>
public sealed class PrefetchEndpoint(HfRepository repository, IAuditLog audit, IOptions<GatehouseOptions> options, ILogger<PrefetchEndpoint> log)
{
    public const string Source = "hf";
    private const int MaxBodyBytes = 16 * 1024;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly HuggingFaceOptions _options = options.Value.HuggingFace;
    private readonly PrefetchOptions _limits = options.Value.Prefetch;
    private readonly int _parallelism = options.Value.AdminWork.Parallelism;

    public async Task HandleAsync(HttpContext context, DurableTaskClient durable, string source, string? id)
    {
        var method = context.Request.Method;
        if (source != Source)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"Gatehouse prefetches from 'hf' (Hugging Face) only, not '{source}'");
        }
        else if (HttpMethods.IsPost(method) && id is null)
        {
            await StartAsync(context, durable);
        }
        else if ((HttpMethods.IsGet(method) || HttpMethods.IsHead(method)) && id is not null)
        {
            await StatusAsync(context, durable, id);
        }
        else
        {
            context.Response.Headers.Allow = id is null ? "POST" : "GET, HEAD";
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "Use POST /admin/prefetch/hf, or GET /admin/prefetch/hf/{id}");
        }
    }

    /// <summary>The orchestration instance id of a prefetch: <c>prefetch-</c> + 32 hex digits of sha256("{type}/{repo}@{commit}").</summary>
    public static string InstanceId(string repoType, string repoId, string commit) =>
        "prefetch-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{repoType}/{repoId}@{commit}")))[..32];

    private async Task StartAsync(HttpContext context, DurableTaskClient durable)
    {
        var ct = context.RequestAborted;
        var (body, problem) = await ReadBodyAsync(context);
        if (body is null)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, problem!);
            return;
        }
        var repoType = body.RepoType is null or "model" or "models" ? "models" : body.RepoType is "dataset" or "datasets" ? "datasets" : null;
        var revision = string.IsNullOrEmpty(body.Revision) ? "main" : body.Revision;
        if (repoType is null)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"repoType must be 'model' or 'dataset', not '{body.RepoType}'");
            return;
        }
        if (string.IsNullOrEmpty(body.Repo) || !HfRequestPath.IsValidRepoId(body.Repo))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "repo must be a Hugging Face repository id, 'namespace/name'");
            return;
        }
        if (!HfRequestPath.IsValidRevision(revision))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"revision must be a branch, tag or commit of at most {HfRequestPath.MaxRevisionLength} characters");
            return;
        }

        var resolved = await repository.ResolveCommitAsync(repoType, body.Repo, revision, ct);
        if (resolved.Value is not { } commit)
        {
            log.LogWarning("Prefetch of {Repo}@{Revision} refused: the Hub answered {Status} {Code}", body.Repo, revision, (int)resolved.Status, resolved.ErrorCode);
            await WriteErrorAsync(context, resolved.Status == HttpStatusCode.OK ? HttpStatusCode.BadGateway : resolved.Status, resolved.ErrorCode, resolved.Error!);
            return;
        }
        var id = InstanceId(repoType, body.Repo, commit);
        var existing = await durable.GetInstanceAsync(id, getInputsAndOutputs: false, ct);
        if (existing is not { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending })
        {
            var input = new PrefetchRequest(repoType, body.Repo, revision, commit, _limits.MaxFiles, _parallelism, _options.PrefetchScanTimeoutSeconds,
                _limits.MaxTreePages);
            await durable.ScheduleNewOrchestrationInstanceAsync(nameof(ScanRepositoryOrchestrator), input, new StartOrchestrationOptions(id), ct);
            await audit.WriteAsync("prefetch", $"{HfFileDigests.Subject(repoType, body.Repo, commit)}", $"started {id} for revision {revision}", ct);
            log.LogInformation("Prefetch {Instance} started for {Repo}@{Commit} (revision {Revision})", id, body.Repo, commit, revision);
        }
        var statusUrl = $"{context.Request.PathBase}/admin/prefetch/{Source}/{id}";
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.Headers.Location = statusUrl;
        await context.Response.WriteAsJsonAsync(new
        {
            id,
            repo = body.Repo,
            repoType = RepoTypeName(repoType),
            revision,
            commit,
            statusUrl,
            joined = existing is { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending },
        }, Json, ct);
    }

    private static async Task StatusAsync(HttpContext context, DurableTaskClient durable, string id)
    {
        var ct = context.RequestAborted;
        if (!id.StartsWith("prefetch-", StringComparison.Ordinal) || id.Length > 64 || !id["prefetch-".Length..].All(char.IsAsciiHexDigitLower))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No prefetch {id}");
            return;
        }
        var instance = await durable.GetInstanceAsync(id, getInputsAndOutputs: true, ct);
        if (instance is null || instance.Name != nameof(ScanRepositoryOrchestrator))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No prefetch {id}");
            return;
        }
        var input = instance.ReadInputAs<PrefetchRequest>();
        var result = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? instance.ReadOutputAs<PrefetchResult>() : null;
        var progress = instance.ReadCustomStatusAs<PrefetchProgress>();
        if (result is not null)
        {
            progress = new PrefetchProgress(result.Files.Count, result.Files.Count, result.Files.Sum(f => f.Size), result.Files.Sum(f => f.Size));
        }
        var report = new PrefetchStatus(
            id,
            instance.RuntimeStatus.ToString(),
            input?.RepoId,
            input is null ? null : RepoTypeName(input.RepoType),
            input?.Revision,
            input?.Commit,
            instance.CreatedAt,
            instance.LastUpdatedAt,
            progress,
            result?.Files,
            result is null ? null : Summarize(result.Files),
            instance.FailureDetails?.ErrorMessage);
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(report, Json, ct);
    }

    private static Dictionary<string, int> Summarize(IReadOnlyList<PrefetchedFile> files) =>
        files.GroupBy(f => f.Decision).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());

    private static string RepoTypeName(string repoType) => repoType == "datasets" ? "dataset" : "model";

    private static async Task<(PrefetchBody? Body, string? Problem)> ReadBodyAsync(HttpContext context)
    {
        const string shape = "Body must be JSON {\"repo\": \"namespace/name\", \"revision\": \"main\", \"repoType\": \"model|dataset\"}";
        if (context.Request.HasJsonContentType() is false)
        {
            return (null, shape + ", sent as Content-Type: application/json");
        }
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return (null, "The body is too large. " + shape);
        }
        // Read at most one byte past the limit: a chunked body has no Content-Length to check up front.
        var buffer = new byte[MaxBodyBytes + 1];
        var filled = 0;
        int read;
        while (filled < buffer.Length && (read = await context.Request.Body.ReadAsync(buffer.AsMemory(filled), context.RequestAborted)) > 0)
        {
            filled += read;
        }
        if (filled > MaxBodyBytes)
        {
            return (null, "The body is too large. " + shape);
        }
        try
        {
            var body = JsonSerializer.Deserialize<PrefetchBody>(buffer.AsSpan(0, filled), Json);
            return body is null ? (null, shape) : (body, null);
        }
        catch (JsonException e)
        {
            // The parser's position, not its message: that names internal types.
            return (null, $"{shape} (invalid JSON at {e.Path ?? "$"}, line {e.LineNumber + 1})");
        }
    }

    private static async Task WriteErrorAsync(HttpContext context, HttpStatusCode status, string? code, string message)
    {
        if (code is not null)
        {
            context.Response.Headers["X-Error-Code"] = code;
        }
        await HttpResponses.WriteErrorAsync(context, (int)status, message);
    }

    private sealed record PrefetchBody(string? Repo, string? Revision, string? RepoType);
}

/// <summary>What <c>GET /admin/prefetch/hf/{id}</c> answers.</summary>
/// <param name="Status">The orchestration's runtime status: Pending, Running, Completed, Failed, Terminated.</param>
/// <param name="Files">Every file with its verdict, once completed.</param>
/// <param name="Summary">Files per decision, once completed.</param>
/// <param name="Error">Why the prefetch failed (for example the Hub refused the listing), when it did.</param>
public sealed record PrefetchStatus(
    string Id,
    string Status,
    string? Repo,
    string? RepoType,
    string? Revision,
    string? Commit,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUpdatedAt,
    PrefetchProgress? Progress,
    IReadOnlyList<PrefetchedFile>? Files,
    IReadOnlyDictionary<string, int>? Summary,
    string? Error);
