using Gatehouse.Http;
using Gatehouse.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.PyPI;

/// <summary>
/// PEP 740 provenance passthrough: <c>/pypi/integrity/{project}/{version}/{filename}/provenance</c> returns the upstream's
/// provenance document for a file the index lists and that was not refused.
/// </summary>
public sealed class ProvenanceEndpoint(SimpleIndexCache index, IReferenceStore references, PyPIUpstream upstream)
{
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
        var file = lookup.Value?.Find(filename);
        var refused = await references.RefusedAsync(PyPIRemote.Partition(project), context.RequestAborted);
        if (file?.Provenance is null || refused.ContainsKey(filename))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No provenance for {filename}");
            return;
        }
        var fetched = await upstream.GetSmallAsync(new Uri(file.Provenance), "application/vnd.pypi.integrity.v1+json, application/json", PyPIUpstream.MaxProvenanceBytes,
            context.RequestAborted);
        if (fetched.Value is not { } document)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status502BadGateway, $"Upstream provenance unavailable for {filename}: {fetched.Error ?? "not found"}");
            return;
        }
        context.Response.ContentType = document.ContentType ?? "application/vnd.pypi.integrity.v1+json";
        context.Response.ContentLength = document.Body.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(document.Body, context.RequestAborted);
        }
    }
}
