using Gatehouse.Artifacts;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.PyPI;

/// <summary>
/// PEP 740 provenance passthrough: <c>/pypi/integrity/{project}/{version}/{filename}/provenance</c> returns the upstream's
/// provenance document for a file the index lists and that was not refused (research §2.6, §2.11 P16).
/// </summary>
public sealed class ProvenanceEndpoint(SimpleIndexCache index, ReferenceStore references, PyPIUpstream upstream)
{
    private const long MaxProvenanceBytes = 4 * 1024 * 1024;

    public async Task HandleAsync(HttpContext context, string? path)
    {
        var parts = (path ?? "").Split('/');
        if (parts is not [var project, var version, var filename, "provenance"] || !ProjectName.IsValid(project) || ProjectName.Normalize(project) != project
            || !DistributionFile.IsValid(filename) || DistributionFile.Version(filename, project) != version)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, "Not a provenance URL");
            return;
        }
        var lookup = await index.GetAsync(project, context.RequestAborted);
        var file = lookup.Project?.Find(filename);
        var refused = await references.RefusedAsync(ReferenceStore.PyPIPartition(project), context.RequestAborted);
        if (file?.Provenance is null || refused.ContainsKey(filename))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No provenance for {filename}");
            return;
        }
        using var response = await upstream.GetFileAsync(new Uri(file.Provenance), context.RequestAborted);
        if (response is null || !response.IsSuccessStatusCode || response.Content.Headers.ContentLength is > MaxProvenanceBytes)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status502BadGateway, $"Upstream provenance unavailable for {filename}");
            return;
        }
        var body = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);
        context.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/vnd.pypi.integrity.v1+json";
        context.Response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        }
    }
}
