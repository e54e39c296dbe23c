using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.UpstreamSimulator.Catalog;

namespace Gatehouse.UpstreamSimulator.PyPI;

/// <summary>
/// Warehouse's legacy JSON API (warehouse/legacy/api/json.py): <c>/pypi/&lt;project&gt;/json</c> for the latest
/// release (with the deprecated <c>releases</c> map) and <c>/pypi/&lt;project&gt;/&lt;version&gt;/json</c>.
/// </summary>
internal static class JsonApiEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapMethods("/pypi/{project}/json", ["GET", "HEAD"], (HttpContext context, SimulatorState state, string project) =>
            ServeAsync(context, state, project, version: null));
        app.MapMethods("/pypi/{project}/{version}/json", ["GET", "HEAD"], (HttpContext context, SimulatorState state, string project, string version) =>
            ServeAsync(context, state, project, version));
    }

    private static async Task ServeAsync(HttpContext context, SimulatorState state, string project, string? version)
    {
        var normalized = PackageName.Normalize(project);
        if (project != normalized)
        {
            SimpleIndexEndpoints.Redirect(context, version is null
                ? $"/pypi/{Uri.EscapeDataString(normalized)}/json"
                : $"/pypi/{Uri.EscapeDataString(normalized)}/{Uri.EscapeDataString(version)}/json");
            return;
        }

        var files = state.Catalog.FilesOf(normalized);
        var releases = files.GroupBy(f => f.Version).ToDictionary(g => g.Key, g => g.ToList());
        var selected = version ?? LatestRelease(releases);
        if (selected is null || !releases.TryGetValue(selected, out var releaseFiles))
        {
            await WriteAsync(context, StatusCodes.Status404NotFound, """{"message": "Not Found"}""", serial: null, countAs: null, state);
            return;
        }

        var baseUrl = SimpleIndexEndpoints.BaseUrl(context.Request);
        var lastSerial = files.Max(f => f.Serial);
        var body = new JsonObject
        {
            ["info"] = Info(normalized, selected, releaseFiles, baseUrl),
            ["last_serial"] = lastSerial,
        };
        if (version is null)
        {
            var map = new JsonObject();
            foreach (var release in releases.Keys.Order(PackageVersion.Comparer))
            {
                map[release] = FileList(releases[release], baseUrl);
            }

            body["releases"] = map;
        }

        body["urls"] = FileList(releaseFiles, baseUrl);
        body["vulnerabilities"] = new JsonArray();
        body["ownership"] = new JsonObject { ["organization"] = null, ["roles"] = new JsonArray() };
        await WriteAsync(context, StatusCodes.Status200OK, body.ToJsonString(SimpleIndexEndpoints.JsonOptions), lastSerial, normalized, state);
    }

    /// <summary>Warehouse's order: non-yanked first, finals before pre-releases, then highest version.</summary>
    private static string? LatestRelease(Dictionary<string, List<DistributionFile>> releases) =>
        releases
            .OrderBy(r => r.Value.All(f => f.IsYanked))
            .ThenBy(r => PackageVersion.IsPrerelease(r.Key))
            .ThenByDescending(r => r.Key, PackageVersion.Comparer)
            .Select(r => r.Key)
            .FirstOrDefault();

    private static JsonObject Info(string project, string version, List<DistributionFile> files, string baseUrl)
    {
        // Release-level fields come from the wheel's METADATA when there is one, else the sdist's PKG-INFO.
        var source = files.FirstOrDefault(f => f.IsWheel) ?? files[0];
        var metadata = source.Metadata;
        var name = metadata.Get("Name") ?? project;
        var yanked = files.All(f => f.IsYanked);
        var requiresDist = metadata.GetAll("Requires-Dist");
        var extras = metadata.GetAll("Provides-Extra");
        var projectUrls = new JsonObject();
        foreach (var entry in metadata.GetAll("Project-URL"))
        {
            var comma = entry.IndexOf(',');
            if (comma > 0)
            {
                projectUrls[entry[..comma].Trim()] = entry[(comma + 1)..].Trim();
            }
        }

        return new JsonObject
        {
            ["author"] = metadata.Get("Author") ?? string.Empty,
            ["author_email"] = metadata.Get("Author-email") ?? string.Empty,
            ["bugtrack_url"] = null,
            ["classifiers"] = new JsonArray(metadata.GetAll("Classifier").Select(c => (JsonNode?)c).ToArray()),
            ["description"] = metadata.Get("Description") ?? metadata.Body,
            ["description_content_type"] = metadata.Get("Description-Content-Type"),
            ["docs_url"] = null,
            ["download_url"] = metadata.Get("Download-URL") ?? string.Empty,
            ["downloads"] = new JsonObject { ["last_day"] = -1, ["last_month"] = -1, ["last_week"] = -1 },
            ["dynamic"] = null,
            ["home_page"] = metadata.Get("Home-page") ?? string.Empty,
            ["keywords"] = metadata.Get("Keywords") ?? string.Empty,
            ["license"] = metadata.Get("License"),
            ["license_expression"] = metadata.Get("License-Expression"),
            ["license_files"] = null,
            ["maintainer"] = metadata.Get("Maintainer") ?? string.Empty,
            ["maintainer_email"] = metadata.Get("Maintainer-email") ?? string.Empty,
            ["name"] = name,
            ["package_url"] = $"{baseUrl}/project/{project}/",
            ["platform"] = metadata.Get("Platform"),
            ["project_url"] = $"{baseUrl}/project/{project}/",
            ["project_urls"] = projectUrls.Count > 0 ? projectUrls : null,
            ["provides_extra"] = extras.Count > 0 ? new JsonArray(extras.Select(e => (JsonNode?)e).ToArray()) : null,
            ["release_url"] = $"{baseUrl}/project/{project}/{version}/",
            ["requires_dist"] = requiresDist.Count > 0 ? new JsonArray(requiresDist.Select(r => (JsonNode?)r).ToArray()) : null,
            ["requires_python"] = source.RequiresPython ?? metadata.Get("Requires-Python"),
            ["summary"] = source.Summary ?? metadata.Get("Summary"),
            ["version"] = version,
            ["yanked"] = yanked,
            ["yanked_reason"] = yanked ? files.Select(f => f.YankedReason).FirstOrDefault(r => r is not null) : null,
        };
    }

    private static JsonArray FileList(IEnumerable<DistributionFile> files, string baseUrl)
    {
        var list = new JsonArray();
        foreach (var file in files)
        {
            list.Add(new JsonObject
            {
                ["comment_text"] = string.Empty,
                ["core-metadata"] = file.CoreMetadataSha256 is { } sha ? new JsonObject { ["sha256"] = sha } : JsonValue.Create(false),
                ["digests"] = new JsonObject
                {
                    ["blake2b_256"] = file.Digests.Blake2b256,
                    ["md5"] = file.Digests.Md5,
                    ["sha256"] = file.Digests.Sha256,
                },
                ["downloads"] = -1,
                ["filename"] = file.Filename,
                ["has_sig"] = false,
                ["md5_digest"] = file.Digests.Md5,
                ["packagetype"] = file.PackageType,
                ["python_version"] = file.PythonVersion,
                ["requires_python"] = file.RequiresPython,
                ["size"] = file.Size,
                ["upload_time"] = file.UploadTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture),
                ["upload_time_iso_8601"] = file.UploadTimeIso8601,
                ["url"] = baseUrl + file.UrlPath,
                ["yanked"] = file.IsYanked,
                ["yanked_reason"] = file.YankedReason,
            });
        }

        return list;
    }

    private static async Task WriteAsync(HttpContext context, int status, string json, long? serial, string? countAs, SimulatorState state)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = bytes.Length;
        response.Headers.CacheControl = "max-age=900, public";
        response.Headers.AccessControlAllowOrigin = "*";
        if (serial is { } value)
        {
            response.Headers["X-PyPI-Last-Serial"] = value.ToString(CultureInfo.InvariantCulture);
        }

        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        if (countAs is not null)
        {
            state.CountJsonFetch(countAs);
        }

        await response.Body.WriteAsync(bytes, context.RequestAborted);
    }
}
