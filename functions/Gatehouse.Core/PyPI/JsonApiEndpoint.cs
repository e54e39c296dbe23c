using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Gatehouse.Artifacts;
using Gatehouse.Http;
using Gatehouse.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.PyPI;

/// <summary>
/// Warehouse's JSON API (<c>/pypi/{project}/json</c>, <c>/pypi/{project}/{version}/json</c>) for Renovate, Dependabot and
/// friends: the upstream document with refused files removed and every file URL pointing back at Gatehouse.
/// </summary>
public sealed class JsonApiEndpoint
{
    private readonly PyPIUpstream _upstream;
    private readonly ReferenceStore _references;
    private readonly GatehouseStorage _storage;
    private readonly ILogger<JsonApiEndpoint> _log;

    public JsonApiEndpoint(PyPIUpstream upstream, ReferenceStore references, GatehouseStorage storage, ILogger<JsonApiEndpoint> log)
    {
        _upstream = upstream;
        _references = references;
        _storage = storage;
        _log = log;
    }

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
        var cacheName = version is null ? $"pypi/json/{normalized}.json" : $"pypi/json/{normalized}/{version}.json";
        var cache = _storage.Container(GatehouseStorage.UpstreamCacheContainer).GetBlobClient(cacheName);
        var result = await _upstream.GetJsonApiAsync(normalized, version, context.RequestAborted);
        var document = result.Value;
        if (document is not null)
        {
            await cache.UploadAsync(BinaryData.FromString(document.ToJsonString()), overwrite: true, context.RequestAborted);
        }
        else if (result.IsNotFound)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No project {normalized}{(version is null ? "" : " version " + version)} upstream");
            return;
        }
        else
        {
            try
            {
                document = JsonNode.Parse((await cache.DownloadContentAsync(context.RequestAborted)).Value.Content.ToString()) as JsonObject;
                _log.LogWarning("Serving stale JSON API document for {Project}: {UpstreamError}", normalized, result.Error);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status502BadGateway, $"Upstream JSON API unavailable for {normalized}", result.Error);
                return;
            }
        }
        var refused = await _references.RefusedAsync(ReferenceStore.PyPIPartition(normalized), context.RequestAborted);
        var origin = $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}";
        Rewrite(document!["urls"] as JsonArray, normalized, origin, refused);
        if (document["releases"] is JsonObject releases)
        {
            foreach (var (_, files) in releases)
            {
                Rewrite(files as JsonArray, normalized, origin, refused);
            }
        }
        var body = JsonSerializer.SerializeToUtf8Bytes(document);
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "max-age=60";
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
