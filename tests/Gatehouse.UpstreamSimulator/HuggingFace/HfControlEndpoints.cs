using System.Globalization;
using System.Text.Json;

namespace Gatehouse.UpstreamSimulator.HuggingFace;

/// <summary>
/// <c>/_sim/hf/</c>: stats, reset, page size, branch moves, tampering, the Authorization log and synthetic repos.
/// Repos are named <c>repo=ns/name</c> plus <c>type=model|dataset</c> (default model), or <c>repo=datasets/ns/name</c>.
/// </summary>
internal static class HfControlEndpoints
{
    public static void Map(IEndpointRouteBuilder app, HfState state)
    {
        var hf = app.MapGroup("/_sim/hf");
        hf.MapGet("/stats", () => Results.Json(state.GetStats()));
        hf.MapGet("/auth", () => Results.Json(state.GetAuthorizationLog()));
        hf.MapPost("/reset", () =>
        {
            state.Reset();
            return Results.Json(state.GetStats());
        });
        hf.MapPost("/page-size", (string? n) =>
        {
            if (!int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size < 1)
            {
                return Error(StatusCodes.Status400BadRequest, "n must be a positive integer.");
            }

            state.PageSize = size;
            return Results.Json(state.GetStats());
        });
        hf.MapPost("/move-branch", (string? repo, string? type, string? branch, string? commit) =>
        {
            var found = FindRepo(state, repo, type);
            if (found is null)
            {
                return Error(StatusCodes.Status404NotFound, $"No repo '{repo}'.");
            }

            return commit is not null && state.MoveBranch(found, branch ?? "main", commit)
                ? Results.Json(state.GetStats())
                : Error(StatusCodes.Status400BadRequest, $"commit must be a commit of '{repo}' in repos.json and branch an existing branch.");
        });
        hf.MapPost("/tamper", (string? repo, string? type, string? path, string? rev) =>
        {
            var found = FindRepo(state, repo, type);
            var file = found is null ? null : state.Resolve(found, rev ?? "main")?.Find(path ?? string.Empty);
            if (file is null || file.Size == 0)
            {
                return Error(StatusCodes.Status404NotFound, $"No non-empty file '{path}' in '{repo}' at '{rev ?? "main"}'.");
            }

            state.Tamper(file);
            return Results.Json(state.GetStats());
        });
        hf.MapPost("/synthetic", (HttpRequest request, CancellationToken cancellationToken) => SyntheticAsync(request, state, cancellationToken));
    }

    private static async Task<IResult> SyntheticAsync(HttpRequest http, HfState state, CancellationToken cancellationToken)
    {
        HfSyntheticRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<HfSyntheticRequest>(http.Body, JsonSerializerOptions.Web, cancellationToken);
        }
        catch (JsonException e)
        {
            return Error(StatusCodes.Status400BadRequest, $"The body is not the expected JSON: {e.Message}");
        }

        if (request is null)
        {
            return Error(StatusCodes.Status400BadRequest, "The body must be a JSON object {repo, type, files}.");
        }

        try
        {
            return Results.Json(await state.AddSyntheticAsync(request, cancellationToken));
        }
        catch (ArgumentException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Message);
        }
        catch (InvalidOperationException e)
        {
            return Error(StatusCodes.Status409Conflict, e.Message);
        }
    }

    private static HfRepo? FindRepo(HfState state, string? repo, string? type)
    {
        if (repo is null)
        {
            return null;
        }

        if (repo.StartsWith("datasets/", StringComparison.Ordinal))
        {
            return state.FindRepo("datasets", repo["datasets/".Length..]);
        }

        return state.FindRepo(type == "dataset" ? "datasets" : "models", repo);
    }

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);
}
