using System.Globalization;

namespace Gatehouse.UpstreamSimulator.Control;

/// <summary>
/// The <c>/_sim/</c> control plane: counters, fault toggles and synthetic wheels, for tests that drive the
/// simulator over HTTP (out of process). Every toggle answers with the current stats.
/// </summary>
internal static class ControlPlaneEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var sim = app.MapGroup("/_sim");
        sim.MapGet("/stats", (SimulatorState state) => Results.Json(state.GetStats()));
        sim.MapPost("/reset", (SimulatorState state) =>
        {
            state.Reset();
            return Results.Json(state.GetStats());
        });
        sim.MapPost("/down", (SimulatorState state) =>
        {
            state.IsDown = true;
            return Results.Json(state.GetStats());
        });
        sim.MapPost("/up", (SimulatorState state) =>
        {
            state.IsDown = false;
            return Results.Json(state.GetStats());
        });
        sim.MapPost("/tamper", (SimulatorState state, string? file) =>
            file is not null && state.Tamper(file)
                ? Results.Json(state.GetStats())
                : Error(StatusCodes.Status404NotFound, $"No non-empty file named '{file}'."));
        sim.MapPost("/delay", (SimulatorState state, string? ms) =>
        {
            if (!long.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds))
            {
                return Error(StatusCodes.Status400BadRequest, "ms must be a non-negative integer.");
            }

            state.FileDelay = TimeSpan.FromMilliseconds(milliseconds);
            return Results.Json(state.GetStats());
        });
        sim.MapPost("/synthetic", SyntheticAsync);
        sim.MapPost("/fault", (SimulatorState state, string? path, string? kind, string? bytes, string? location, string? contentType) =>
        {
            if (path is null || !path.StartsWith('/') || path.StartsWith("/_sim", StringComparison.Ordinal)
                || !Enum.TryParse<UpstreamFaultKind>(kind, ignoreCase: true, out var faultKind) || !Enum.IsDefined(faultKind))
            {
                return Error(StatusCodes.Status400BadRequest, "Required: path (a prefix outside /_sim) and kind (flood, short or redirect).");
            }
            long size = 0;
            if (faultKind != UpstreamFaultKind.Redirect && !long.TryParse(bytes, NumberStyles.None, CultureInfo.InvariantCulture, out size))
            {
                return Error(StatusCodes.Status400BadRequest, "A flood or short fault needs bytes, a non-negative integer.");
            }
            if (faultKind == UpstreamFaultKind.Redirect && !Uri.TryCreate(location, UriKind.Absolute, out _))
            {
                return Error(StatusCodes.Status400BadRequest, "A redirect fault needs location, an absolute URL.");
            }
            state.SetFault(path, new UpstreamFault(faultKind, size, location, contentType ?? "application/json"));
            return Results.Json(state.GetStats());
        });
        sim.MapPost("/provenance", (SimulatorState state, string? file) =>
            file is not null && state.AddProvenance(file)
                ? Results.Json(state.GetStats())
                : Error(StatusCodes.Status404NotFound, $"No file named '{file}'."));
    }

    private static async Task<IResult> SyntheticAsync(HttpContext context, SimulatorState state, string? project, string? version, string? size, string? uploadTime)
    {
        if (project is null || version is null || !long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes))
        {
            return Error(StatusCodes.Status400BadRequest, "Required: project, version and size (bytes).");
        }

        DateTimeOffset? uploaded = null;
        if (uploadTime is not null)
        {
            if (!DateTimeOffset.TryParse(uploadTime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                return Error(StatusCodes.Status400BadRequest, "uploadTime must be an ISO-8601 timestamp.");
            }

            uploaded = parsed;
        }

        try
        {
            var file = await state.AddSyntheticWheelAsync(project, version, bytes, uploaded, context.RequestAborted);
            var request = context.Request;
            return Results.Json(new
            {
                filename = file.Filename,
                sha256 = file.Digests.Sha256,
                size = file.Size,
                url = $"{request.Scheme}://{request.Host}{request.PathBase}{file.UrlPath}",
            });
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

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);
}
