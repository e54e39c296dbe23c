using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Http;
using Gatehouse.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.PyPI;

/// <summary>
/// Warehouse's JSON API (<c>/pypi/{project}/json</c>, <c>/pypi/{project}/{version}/json</c>) for Renovate, Dependabot and
/// friends: the upstream document (cached like the index, served stale when the upstream fails) with refused files
/// removed and every file URL pointing back at Gatehouse's configured address.
/// </summary>
public sealed class JsonApiEndpoint(JsonApiCache documents, IReferenceStore references, PublicUrls urls)
{
    public async Task HandleAsync(HttpContext context, string project, string? rest)
    {
        var segments = (rest ?? "").TrimEnd('/').Split('/');
        var version = segments switch
        {
            ["json"] => null,
            [var v, "json"] when v.Length is > 0 and <= 100 && v.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '!' or '+' or '-' or '_') => v,
            _ => "\0",
        };
        if (version == "\0" || !ProjectName.IsValid(project))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, "Not found");
            return;
        }
        var normalized = ProjectName.Normalize(project);
        if (normalized != project)
        {
            HttpResponses.Redirect(context, $"{context.Request.PathBase}/pypi/{normalized}/{rest}");
            return;
        }
        var lookup = await documents.GetAsync(JsonApiCache.Key(normalized, version), context.RequestAborted);
        if (lookup.NotFound)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No project {normalized}{(version is null ? "" : " version " + version)} upstream");
            return;
        }
        if (lookup.Value is not { } cached)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status502BadGateway, $"Upstream JSON API unavailable for {normalized}", lookup.Error);
            return;
        }
        // The cached document is shared: rewrite a copy.
        var document = (JsonObject)cached.DeepClone();
        var refused = await references.RefusedAsync(PyPIRemote.Partition(normalized), context.RequestAborted);
        Rewrite(document["urls"] as JsonArray, normalized, urls.Origin, refused);
        if (document["releases"] is JsonObject releases)
        {
            foreach (var (_, files) in releases)
            {
                Rewrite(files as JsonArray, normalized, urls.Origin, refused);
            }
        }
        var body = JsonSerializer.SerializeToUtf8Bytes(document);
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "max-age=60";
        if (lookup.Stale)
        {
            context.Response.Headers.Append("Warning", "110 - \"Response is Stale\"");
        }
        context.Response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        }
    }

    private static void Rewrite(JsonArray? files, string project, string origin, IReadOnlyDictionary<string, string> refused)
    {
        if (files is null)
        {
            return;
        }
        for (var i = files.Count - 1; i >= 0; i--)
        {
            var file = files[i] as JsonObject;
            var filename = file?["filename"]?.GetValue<string>();
            var sha = (file?["digests"] as JsonObject)?["sha256"]?.GetValue<string>();
            if (file is null || !DistributionFile.IsValid(filename) || !DistributionFile.IsSha256(sha) || refused.ContainsKey(filename!))
            {
                files.RemoveAt(i);
                continue;
            }
            file["url"] = $"{origin}/pypi/files/{project}/{sha}/{Uri.EscapeDataString(filename!)}";
        }
    }
}
