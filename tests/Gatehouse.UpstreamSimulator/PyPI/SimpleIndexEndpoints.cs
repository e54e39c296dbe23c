using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.UpstreamSimulator.Catalog;

namespace Gatehouse.UpstreamSimulator.PyPI;

/// <summary>
/// The Simple Repository API as pypi.org serves it: <c>/simple/</c> and <c>/simple/&lt;project&gt;/</c>,
/// PEP 503 HTML or PEP 691 JSON (API version 1.1: PEP 592, 629, 658/714, 700; PEP 740 provenance only for files a test gave one).
/// </summary>
internal static class SimpleIndexEndpoints
{
    public const string ApiVersion = "1.1";

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Map(IEndpointRouteBuilder app)
    {
        // Routing ignores a trailing slash, so each handler checks the raw path itself.
        app.MapMethods("/simple", ["GET", "HEAD"], RootAsync);
        app.MapMethods("/simple/{project}", ["GET", "HEAD"], ProjectAsync);
        app.MapGet("/integrity/{project}/{version}/{filename}/provenance", ProvenanceAsync);
    }

    /// <summary>A PEP 740 provenance document (no attestation bundles) for a file that has one.</summary>
    private static async Task ProvenanceAsync(HttpContext context, SimulatorState state, string project, string version, string filename)
    {
        if (state.FindFile(filename) is not { } file || !state.HasProvenance(filename) || ProvenancePath(file) != context.Request.Path.Value)
        {
            await NotFoundAsync(context);
            return;
        }
        context.Response.ContentType = "application/vnd.pypi.integrity.v1+json";
        await context.Response.WriteAsync("{\"version\":1,\"attestation_bundles\":[]}\n", context.RequestAborted);
    }

    private static async Task RootAsync(HttpContext context, SimulatorState state)
    {
        if (!context.Request.Path.Value!.EndsWith('/'))
        {
            Redirect(context, "/simple/");
            return;
        }

        var catalog = state.Catalog;
        var format = SimpleContentNegotiation.Select(context.Request.Headers.Accept);
        string body;
        if (format == SimpleFormat.V1Json)
        {
            var projects = new JsonArray();
            foreach (var (name, files) in catalog.Projects)
            {
                projects.Add(new JsonObject { ["_last-serial"] = files.Max(f => f.Serial), ["name"] = name });
            }

            body = new JsonObject
            {
                ["meta"] = new JsonObject { ["_last-serial"] = catalog.LastSerial, ["api-version"] = ApiVersion },
                ["projects"] = projects,
            }.ToJsonString(JsonOptions) + "\n";
        }
        else
        {
            var html = new StringBuilder();
            html.Append("<!DOCTYPE html>\n<html>\n  <head>\n");
            html.Append($"    <meta name=\"pypi:repository-version\" content=\"{ApiVersion}\">\n");
            html.Append("    <title>Simple index</title>\n  </head>\n  <body>\n");
            foreach (var name in catalog.Projects.Keys)
            {
                var encoded = WebUtility.HtmlEncode(name);
                html.Append($"    <a href=\"/simple/{encoded}/\">{encoded}</a>\n");
            }

            html.Append("  </body>\n</html>\n");
            body = html.ToString();
        }

        await WriteAsync(context, format, catalog.LastSerial, body, countAs: null, state);
    }

    private static async Task ProjectAsync(HttpContext context, SimulatorState state, string project)
    {
        var normalized = PackageName.Normalize(project);
        if (project != normalized || !context.Request.Path.Value!.EndsWith('/'))
        {
            Redirect(context, $"/simple/{Uri.EscapeDataString(normalized)}/");
            return;
        }

        var files = state.Catalog.FilesOf(normalized);
        if (files.Count == 0)
        {
            await NotFoundAsync(context);
            return;
        }

        var format = SimpleContentNegotiation.Select(context.Request.Headers.Accept);
        var baseUrl = BaseUrl(context.Request);
        var body = format == SimpleFormat.V1Json
            ? ProjectJson(normalized, files, baseUrl, f => state.HasProvenance(f.Filename) ? ProvenancePath(f) : null)
            : ProjectHtml(normalized, files, baseUrl, f => state.HasProvenance(f.Filename) ? ProvenancePath(f) : null);
        await WriteAsync(context, format, files.Max(f => f.Serial), body, countAs: normalized, state);
    }

    /// <summary>Where PEP 740's Integrity API serves a file's provenance.</summary>
    internal static string ProvenancePath(DistributionFile file) =>
        $"/integrity/{PackageName.Normalize(file.Project)}/{file.Version}/{file.Filename}/provenance";

    private static string ProjectJson(string project, IReadOnlyList<DistributionFile> files, string baseUrl, Func<DistributionFile, string?> provenance)
    {
        var entries = new JsonArray();
        foreach (var file in files)
        {
            JsonNode? coreMetadata = file.CoreMetadataSha256 is { } sha
                ? new JsonObject { ["sha256"] = sha }
                : JsonValue.Create(false);
            entries.Add(new JsonObject
            {
                ["filename"] = file.Filename,
                ["url"] = baseUrl + file.UrlPath,
                ["hashes"] = new JsonObject { ["sha256"] = file.Digests.Sha256 },
                ["requires-python"] = file.RequiresPython,
                ["size"] = file.Size,
                ["upload-time"] = file.UploadTimeIso8601,
                ["yanked"] = Yanked(file),
                // PyPI still emits the legacy misnamed key next to the PEP 714 name.
                ["data-dist-info-metadata"] = coreMetadata.DeepClone(),
                ["core-metadata"] = coreMetadata,
                ["provenance"] = provenance(file) is { } url ? baseUrl + url : null,
            });
        }

        var versions = new JsonArray();
        foreach (var version in files.Select(f => f.Version).Distinct().Order(PackageVersion.Comparer))
        {
            versions.Add(version);
        }

        return new JsonObject
        {
            ["meta"] = new JsonObject { ["_last-serial"] = files.Max(f => f.Serial), ["api-version"] = ApiVersion },
            ["name"] = project,
            ["versions"] = versions,
            ["files"] = entries,
        }.ToJsonString(JsonOptions) + "\n";
    }

    private static string ProjectHtml(string project, IReadOnlyList<DistributionFile> files, string baseUrl, Func<DistributionFile, string?> provenance)
    {
        var html = new StringBuilder();
        var title = WebUtility.HtmlEncode(project);
        html.Append("<!DOCTYPE html>\n<html>\n  <head>\n");
        html.Append($"    <meta name=\"pypi:repository-version\" content=\"{ApiVersion}\">\n");
        html.Append($"    <title>Links for {title}</title>\n  </head>\n  <body>\n");
        html.Append($"    <h1>Links for {title}</h1>\n");
        foreach (var file in files)
        {
            html.Append("    <a href=\"").Append(WebUtility.HtmlEncode($"{baseUrl}{file.UrlPath}#sha256={file.Digests.Sha256}")).Append('"');
            if (file.RequiresPython is { } requiresPython)
            {
                // HtmlEncode turns < and > into &lt; and &gt;, as PEP 503 requires.
                html.Append(" data-requires-python=\"").Append(WebUtility.HtmlEncode(requiresPython)).Append('"');
            }

            if (file.CoreMetadataSha256 is { } metadataSha)
            {
                html.Append($" data-dist-info-metadata=\"sha256={metadataSha}\" data-core-metadata=\"sha256={metadataSha}\"");
            }

            if (provenance(file) is { } provenanceUrl)
            {
                html.Append(" data-provenance=\"").Append(WebUtility.HtmlEncode(baseUrl + provenanceUrl)).Append('"');
            }

            if (file.IsYanked)
            {
                html.Append(" data-yanked=\"").Append(WebUtility.HtmlEncode(file.YankedReason ?? string.Empty)).Append('"');
            }

            html.Append('>').Append(WebUtility.HtmlEncode(file.Filename)).Append("</a><br />\n");
        }

        html.Append("  </body>\n</html>\n");
        html.Append($"<!--SERIAL {files.Max(f => f.Serial)}-->\n");
        return html.ToString();
    }

    internal static JsonNode Yanked(DistributionFile file) =>
        file.IsYanked && file.YankedReason is { } reason ? JsonValue.Create(reason) : JsonValue.Create(file.IsYanked);

    internal static string BaseUrl(HttpRequest request) => $"{request.Scheme}://{request.Host}{request.PathBase}";

    internal static void Redirect(HttpContext context, string location)
    {
        context.Response.StatusCode = StatusCodes.Status301MovedPermanently;
        context.Response.Headers.Location = location + context.Request.QueryString;
    }

    private static async Task NotFoundAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        context.Response.ContentType = "text/plain; charset=utf-8";
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.WriteAsync("404 Not Found\n", context.RequestAborted);
        }
    }

    private static async Task WriteAsync(HttpContext context, SimpleFormat format, long serial, string body, string? countAs, SimulatorState state)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = SimpleContentNegotiation.ContentType(format);
        response.ContentLength = bytes.Length;
        response.Headers.Vary = "Accept";
        response.Headers.CacheControl = "max-age=600, public";
        response.Headers["X-PyPI-Last-Serial"] = serial.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers.AccessControlAllowOrigin = "*";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        if (countAs is not null)
        {
            state.CountIndexFetch(countAs);
        }

        await response.Body.WriteAsync(bytes, context.RequestAborted);
    }
}
