using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.Pipeline;
using Gatehouse.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Gatehouse.PyPI;

/// <summary>
/// <c>/pypi/simple/</c> and <c>/pypi/simple/&lt;project&gt;/</c>: PEP 503 HTML or PEP 691 JSON by content negotiation,
/// with refused files still listed (yanked with the refusal as the reason while something else is installable) and file
/// URLs pointing back at Gatehouse with the expected sha256 in them.
/// </summary>
public sealed class SimpleIndexEndpoint
{
    public const string JsonType = "application/vnd.pypi.simple.v1+json";
    public const string HtmlType = "application/vnd.pypi.simple.v1+html";
    private static readonly TimeSpan RefusedCacheFor = TimeSpan.FromSeconds(3);

    private readonly SimpleIndexCache _index;
    private readonly IReferenceStore _references;
    private readonly IMemoryCache _memory;
    private readonly PublicUrls _urls;
    private readonly PyPIOptions _options;
    private readonly PolicyProvider _policies;
    private readonly PyPIFacts _facts;

    public SimpleIndexEndpoint(SimpleIndexCache index, IReferenceStore references, IMemoryCache memory, PublicUrls urls, IOptions<GatehouseOptions> options,
        PolicyProvider policies, PyPIFacts facts)
    {
        _policies = policies;
        _facts = facts;
        _index = index;
        _references = references;
        _memory = memory;
        _urls = urls;
        _options = options.Value.PyPI;
    }

    public async Task HandleAsync(HttpContext context, string? path)
    {
        var request = context.Request;
        path ??= "";
        if (path.Length == 0)
        {
            if (!request.Path.Value!.EndsWith('/'))
            {
                HttpResponses.Redirect(context, request.PathBase + request.Path + "/" + request.QueryString);
                return;
            }
            await WriteRootAsync(context);
            return;
        }
        var name = path.TrimEnd('/');
        if (name.Contains('/') || !ProjectName.IsValid(name))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, "Not a valid project name");
            return;
        }
        var normalized = ProjectName.Normalize(name);
        if (normalized != name || !path.EndsWith('/'))
        {
            // pip and uv follow a redirect to the normalized name with its trailing slash (PEP 503).
            HttpResponses.Redirect(context, $"{request.PathBase}/pypi/simple/{normalized}/{request.QueryString}");
            return;
        }
        var lookup = await _index.GetAsync(normalized, context.RequestAborted);
        if (lookup.NotFound)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No project named {normalized} upstream");
            return;
        }
        if (lookup.Value is not { } project)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status502BadGateway, $"Upstream index unavailable for {normalized}", lookup.Error);
            return;
        }
        var (files, status) = await JudgedAsync(project, context.RequestAborted);
        var versions = project.Versions.ToList();
        var format = Negotiate(request.Headers.Accept.ToString(), request.Query["format"].ToString());
        var origin = _urls.Origin;
        var shown = status is null ? project : project with { ProjectStatus = status.Value.Status, ProjectStatusReason = status.Value.Reason };
        var body = format == JsonType ? RenderJson(shown, files, versions, origin) : RenderHtml(shown, files, origin);
        var etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(body))[..32]}\"";
        var response = context.Response;
        response.Headers.Vary = "Accept, Accept-Encoding";
        response.Headers.CacheControl = $"max-age={_options.ClientMaxAgeSeconds}";
        response.Headers.ETag = etag;
        if (lookup.Stale)
        {
            response.Headers.Append("Warning", "110 - \"Response is Stale\"");
        }
        if (request.Headers.IfNoneMatch.ToString().Contains(etag, StringComparison.Ordinal))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }
        response.ContentType = format == JsonType ? JsonType : format == HtmlType ? HtmlType : "text/html; charset=utf-8";
        response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(request.Method))
        {
            await response.Body.WriteAsync(body, context.RequestAborted);
        }
    }

    /// <summary>The relative URL of a file from a project page: <c>../../files/{project}/{sha256}/{filename}</c>.</summary>
    public static string FileUrl(string project, SimpleFile file) => $"../../files/{project}/{file.Sha256}/{Uri.EscapeDataString(file.Filename)}";

    /// <summary>PEP 740 wants a fully qualified provenance URL; it points at our passthrough when the upstream has one.</summary>
    public static string? ProvenanceUrl(string origin, string project, SimpleFile file) =>
        file.Provenance is null || DistributionFile.Version(file.Filename, project) is not { } version
            ? null
            : $"{origin}/pypi/integrity/{project}/{Uri.EscapeDataString(version)}/{Uri.EscapeDataString(file.Filename)}/provenance";

    /// <summary>Warehouse's rule: the first type with the highest q among text/html, v1+html, v1+json; HTML when nothing matches.</summary>
    internal static string Negotiate(string accept, string? formatParameter)
    {
        if (formatParameter is JsonType or "application/vnd.pypi.simple.latest+json")
        {
            return JsonType;
        }
        if (formatParameter is HtmlType or "application/vnd.pypi.simple.latest+html" or "text/html")
        {
            return formatParameter == "text/html" ? "text/html" : HtmlType;
        }
        if (string.IsNullOrWhiteSpace(accept))
        {
            return "text/html";
        }
        var offers = new[] { "text/html", HtmlType, JsonType };
        var best = "text/html";
        var bestQ = 0.0;
        foreach (var offer in offers)
        {
            var q = Quality(accept, offer);
            if (q > bestQ)
            {
                (best, bestQ) = (offer, q);
            }
        }
        return best;
    }

    private static double Quality(string accept, string offer)
    {
        var best = 0.0;
        var specificity = -1;
        foreach (var part in accept.Split(','))
        {
            var pieces = part.Split(';');
            var type = pieces[0].Trim().ToLowerInvariant();
            if (type == "application/vnd.pypi.simple.latest+json")
            {
                type = JsonType;
            }
            else if (type == "application/vnd.pypi.simple.latest+html")
            {
                type = HtmlType;
            }
            var s = type == offer ? 2 : type == offer.Split('/')[0] + "/*" ? 1 : type == "*/*" ? 0 : -1;
            if (s < 0 || s < specificity)
            {
                continue;
            }
            var q = 1.0;
            foreach (var p in pieces.Skip(1))
            {
                var kv = p.Split('=', 2);
                if (kv.Length == 2 && kv[0].Trim().Equals("q", StringComparison.OrdinalIgnoreCase) && double.TryParse(kv[1].Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var parsed))
                {
                    q = Math.Clamp(parsed, 0, 1);
                }
            }
            (best, specificity) = s > specificity ? (q, s) : (Math.Max(best, q), s);
        }
        return best;
    }

    /// <summary>
    /// The page's files as Gatehouse serves them. A file refused by its recorded decision, or by the policy on what is
    /// known before download (a vulnerable release, a denied licence, a young file, a suspect name), stays listed, so a
    /// later user learns why as the first did:
    /// <list type="bullet">
    /// <item>while some file of the project is allowed, refused ones are listed as yanked (PEP 592) with the refusal as
    /// the reason: an unpinned install passes over them to an allowed release, and a pinned one selects the yanked
    /// file, prints "Reason for being yanked: …", and its download is refused with the same reason;</item>
    /// <item>when nothing is allowed, the files are listed as they are, so any pip, pinned or not, selects one and its
    /// download answers 403 with the reason (pip does not install a yanked file for an unpinned request, and would only
    /// say "from versions: …"); the project is then marked <c>quarantined</c> (PEP 792) with the reason, for clients
    /// that read it.</item>
    /// </list>
    /// Judged per project at most every few seconds.
    /// </summary>
    private async Task<(List<SimpleFile> Files, (string Status, string Reason)? Status)> JudgedAsync(SimpleProject project, CancellationToken cancellationToken)
    {
        var policy = await _policies.CurrentPolicyAsync(cancellationToken);
        var key = $"judged:{project.Name}:{project.FetchedAt.UtcTicks}:{policy.Version}";
        return await _memory.GetOrCreateAsync(key, async entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = RefusedCacheFor;
            var refused = await _references.RefusedAsync(PyPIRemote.Partition(project.Name), cancellationToken);
            var facts = await _facts.ForProjectAsync(project.Name, project, cancellationToken);
            var reasons = new string?[project.Files.Count];
            for (var i = 0; i < project.Files.Count; i++)
            {
                var file = project.Files[i];
                reasons[i] = refused.TryGetValue(file.Filename, out var recorded) ? recorded : await MetadataRefusalAsync(policy, facts, project.Name, file, cancellationToken);
            }
            if (project.Files.Count > 0 && reasons.All(r => r is not null))
            {
                return (project.Files.ToList(), project.ProjectStatus is null or "active" ? ("quarantined", reasons[0]!) : ((string, string)?)null);
            }
            var files = new List<SimpleFile>(project.Files.Count);
            for (var i = 0; i < project.Files.Count; i++)
            {
                var file = project.Files[i];
                files.Add(reasons[i] is not { } reason ? file
                    : file with { Yanked = true, YankedReason = file.Yanked && file.YankedReason is { Length: > 0 } upstream ? $"{reason} (yanked upstream: {upstream})" : reason });
            }
            return (files, null);
        });
    }

    private static async Task<string?> MetadataRefusalAsync(DeclarativePolicy policy, PyPIProjectFacts facts, string project, SimpleFile file, CancellationToken cancellationToken)
    {
        var reference = new ArtifactReference(PyPIRemote.Pypi, PyPIRemote.Key(project, file.Filename), PyPIRemote.Subject(project, file.Filename), file.Filename,
            file.Sha256, file.Size ?? 0, file.Url, file.UploadTime);
        var context = PyPIRemote.Context(reference) with { Facts = await facts.ForFileAsync(file.Filename, file.UploadTime, cancellationToken) };
        var outcome = policy.Decide(null, context);
        return outcome.Decision == Decision.Allowed ? null : outcome.Reason;
    }

    private static string ApiVersion(SimpleProject project) => project.ProjectStatus is null ? "1.1" : "1.4";

    private static byte[] RenderJson(SimpleProject project, List<SimpleFile> files, List<string> versions, string origin)
    {
        var filesJson = new JsonArray();
        foreach (var f in files)
        {
            var o = new JsonObject
            {
                ["filename"] = f.Filename,
                ["url"] = FileUrl(project.Name, f),
                ["hashes"] = new JsonObject { ["sha256"] = f.Sha256 },
                ["requires-python"] = f.RequiresPython,
                ["size"] = f.Size,
                ["upload-time"] = f.UploadTime,
                ["yanked"] = f.Yanked ? (f.YankedReason is { Length: > 0 } r ? JsonValue.Create(r) : JsonValue.Create(true)) : JsonValue.Create(false),
                ["provenance"] = ProvenanceUrl(origin, project.Name, f),
            };
            // PEP 714: the JSON key is core-metadata. PyPI also sends data-dist-info-metadata, which no client reads; never
            // dist-info-metadata, on which pip 22.3-23.0 crash ("unhashable type: 'dict'") when its value is a dict.
            JsonNode CoreMetadata() => f.HasCoreMetadata ? new JsonObject { ["sha256"] = f.CoreMetadataSha256 } : JsonValue.Create(false);
            o["data-dist-info-metadata"] = CoreMetadata();
            o["core-metadata"] = CoreMetadata();
            filesJson.Add(o);
        }
        var page = new JsonObject
        {
            ["meta"] = new JsonObject { ["api-version"] = ApiVersion(project) },
            ["name"] = project.Name,
            ["versions"] = new JsonArray(versions.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray()),
            ["files"] = filesJson,
        };
        if (project.ProjectStatus is not null)
        {
            page["project-status"] = new JsonObject { ["status"] = project.ProjectStatus, ["reason"] = project.ProjectStatusReason };
        }
        return JsonSerializer.SerializeToUtf8Bytes(page);
    }

    private static byte[] RenderHtml(SimpleProject project, List<SimpleFile> files, string origin)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html>\n  <head>\n");
        sb.Append($"    <meta name=\"pypi:repository-version\" content=\"{ApiVersion(project)}\">\n");
        if (project.ProjectStatus is not null)
        {
            sb.Append($"    <meta name=\"pypi:project-status\" content=\"{WebUtility.HtmlEncode(project.ProjectStatus)}\">\n");
        }
        sb.Append($"    <title>Links for {WebUtility.HtmlEncode(project.Name)}</title>\n  </head>\n  <body>\n");
        sb.Append($"    <h1>Links for {WebUtility.HtmlEncode(project.Name)}</h1>\n");
        foreach (var f in files)
        {
            sb.Append("    <a href=\"").Append(WebUtility.HtmlEncode(FileUrl(project.Name, f))).Append("#sha256=").Append(f.Sha256).Append('"');
            if (f.RequiresPython is not null)
            {
                sb.Append(" data-requires-python=\"").Append(WebUtility.HtmlEncode(f.RequiresPython)).Append('"');
            }
            if (f.Yanked)
            {
                sb.Append(" data-yanked=\"").Append(WebUtility.HtmlEncode(f.YankedReason ?? "")).Append('"');
            }
            if (f.HasCoreMetadata)
            {
                sb.Append(" data-dist-info-metadata=\"sha256=").Append(f.CoreMetadataSha256).Append('"');
                sb.Append(" data-core-metadata=\"sha256=").Append(f.CoreMetadataSha256).Append('"');
            }
            if (ProvenanceUrl(origin, project.Name, f) is { } provenance)
            {
                sb.Append(" data-provenance=\"").Append(WebUtility.HtmlEncode(provenance)).Append('"');
            }
            sb.Append('>').Append(WebUtility.HtmlEncode(f.Filename)).Append("</a><br />\n");
        }
        sb.Append("  </body>\n</html>\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private async Task WriteRootAsync(HttpContext context)
    {
        // The root lists the projects this instance has seen; the full upstream list is for mirrors, not installers.
        var projects = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var blob in _index.ListCachedAsync(context.RequestAborted))
        {
            projects.Add(blob);
        }
        var format = Negotiate(context.Request.Headers.Accept.ToString(), context.Request.Query["format"].ToString());
        byte[] body;
        if (format == JsonType)
        {
            body = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
            {
                ["meta"] = new JsonObject { ["api-version"] = "1.1" },
                ["projects"] = new JsonArray(projects.Select(p => (JsonNode)new JsonObject { ["name"] = p }).ToArray()),
            });
        }
        else
        {
            var sb = new StringBuilder("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n    <title>Simple index</title>\n  </head>\n  <body>\n");
            foreach (var p in projects)
            {
                sb.Append($"    <a href=\"{WebUtility.HtmlEncode(p)}/\">{WebUtility.HtmlEncode(p)}</a><br />\n");
            }
            sb.Append("  </body>\n</html>\n");
            body = Encoding.UTF8.GetBytes(sb.ToString());
        }
        context.Response.Headers.Vary = "Accept, Accept-Encoding";
        context.Response.ContentType = format == JsonType ? JsonType : format == HtmlType ? HtmlType : "text/html; charset=utf-8";
        context.Response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        }
    }
}
