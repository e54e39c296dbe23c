using System.Globalization;

namespace Gatehouse.UpstreamSimulator.Oci;

/// <summary>
/// <c>/_sim/oci/</c>: the images, stats, reset, and the switches (blob redirects, rate limit, token lifetime, required
/// credentials), and synthetic images made ahead of a benchmark. Every switch answers with the stats.
/// </summary>
internal static class OciControlEndpoints
{
    public static void Map(IEndpointRouteBuilder app, OciState state)
    {
        var oci = app.MapGroup("/_sim/oci");
        oci.MapGet("/stats", () => Results.Json(state.GetStats()));
        oci.MapGet("/images", () => Results.Json(state.Catalog.Images));
        oci.MapPost("/reset", () =>
        {
            state.Reset();
            return Results.Json(state.GetStats());
        });
        oci.MapPost("/blob-redirect", (string? on) =>
        {
            if (!bool.TryParse(on, out var redirect))
            {
                return Error(StatusCodes.Status400BadRequest, "on must be true or false.");
            }
            state.BlobRedirect = redirect;
            return Results.Json(state.GetStats());
        });
        oci.MapPost("/rate-limit", (string? limit, string? enforce) =>
        {
            if (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var allowed) || !bool.TryParse(enforce ?? "true", out var enforced))
            {
                return Error(StatusCodes.Status400BadRequest, "Required: limit (a non-negative integer); enforce (true or false, default true).");
            }
            state.RateLimit = allowed;
            state.RateLimitEnforced = enforced;
            return Results.Json(state.GetStats());
        });
        oci.MapPost("/token-lifetime", (string? seconds) =>
        {
            if (!int.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out var lifetime) || lifetime < 1)
            {
                return Error(StatusCodes.Status400BadRequest, "seconds must be a positive integer.");
            }
            state.Tokens.LifetimeSeconds = lifetime;
            return Results.Json(state.GetStats());
        });
        oci.MapPost("/credentials", (string? user, string? password, string? anonymous) =>
        {
            if ((user is null) != (password is null) || !bool.TryParse(anonymous ?? "true", out var anonymousAllowed))
            {
                return Error(StatusCodes.Status400BadRequest, "Give user and password together (or neither, to accept any); anonymous is true or false.");
            }
            state.Tokens.RequiredCredentials = user is null ? null : (user, password!);
            state.Tokens.AnonymousAllowed = anonymousAllowed;
            return Results.Json(state.GetStats());
        });
        oci.MapPost("/synthetic", async (string? name, string? tag, CancellationToken cancellationToken) =>
        {
            if (name is null || OciSyntheticImages.Parse(name, tag ?? "1.0") is not { } spec)
            {
                return Error(StatusCodes.Status400BadRequest,
                    $"name must be synthetic/layers<K>x<size> or synthetic/layer<size> (size in k, m or g; K up to {OciSyntheticImages.MaxLayers}, "
                    + $"a layer up to {OciSyntheticImages.MaxLayerBytes} bytes) and tag a tag.");
            }
            await state.FindRepositoryAsync(spec.Name, spec.Tag, cancellationToken);
            return Results.Json(state.Catalog.Images.Single(i => i.Name == spec.Name && i.Tag == spec.Tag));
        });
    }

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);
}
