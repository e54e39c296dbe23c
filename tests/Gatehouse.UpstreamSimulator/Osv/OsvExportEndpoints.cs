using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.UpstreamSimulator.Osv;

/// <summary>
/// OSV's bulk exports for PyPI, Debian and Alpine, as https://google.github.io/osv.dev/data/#data-dumps publishes them
/// (<c>/&lt;ecosystem&gt;/all.zip</c>, here under <c>/osv</c>): each its fixture zip, with an ETag, answering a
/// conditional GET with 304 as the Cloud Storage bucket does.
/// </summary>
public static class OsvExportEndpoints
{
    /// <summary>Each ecosystem's export and the fixture zip it serves (tests/fixtures/osv, built by scripts/fixtures/make_osv_fixtures.py).</summary>
    public static readonly IReadOnlyDictionary<string, string> Exports = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["PyPI"] = "pypi-fixture.zip",
        ["Debian"] = "debian-fixture.zip",
        ["Alpine"] = "alpine-fixture.zip",
    };

    public const string ExportPath = "/osv/PyPI/all.zip";

    /// <summary>The path of <paramref name="ecosystem"/>'s export.</summary>
    public static string ExportPathOf(string ecosystem) => $"/osv/{ecosystem}/all.zip";

    /// <summary>The fixture exports' folder beside the PyPI fixtures (tests/fixtures/osv).</summary>
    public static string FixturesFor(string pypiFixturesPath) => Path.GetFullPath(Path.Combine(pypiFixturesPath, "..", "osv"));

    /// <summary>
    /// Where a test adds a record to an export (<c>POST</c> the OSV JSON; it is served from then on, beside the fixture's):
    /// the export of its first affected package's ecosystem (<c>Debian:12</c> goes to Debian's), PyPI's when it names none.
    /// </summary>
    public const string AddRecordPath = "/_sim/osv/records";

    public static void Map(WebApplication app, string fixturesFolder)
    {
        var added = Exports.Keys.ToDictionary(e => e, _ => new ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal), StringComparer.Ordinal);
        app.MapPost(AddRecordPath, async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var json = await reader.ReadToEndAsync(context.RequestAborted);
            JsonNode? record;
            try
            {
                record = JsonNode.Parse(json);
            }
            catch (JsonException e)
            {
                return Results.BadRequest($"not JSON: {e.Message}");
            }
            if (record?["id"] is not JsonValue idValue || !idValue.TryGetValue<string>(out var id) || id.Length == 0)
            {
                return Results.BadRequest("an OSV record with an id");
            }
            var ecosystem = EcosystemOf(record);
            if (!added.TryGetValue(ecosystem, out var records))
            {
                return Results.BadRequest($"no export for the ecosystem {ecosystem}; the simulator serves {string.Join(", ", Exports.Keys)}");
            }
            records[id] = Encoding.UTF8.GetBytes(json);
            return Results.Ok(new { id, ecosystem, added = records.Count });
        });
        foreach (var (ecosystem, fixture) in Exports)
        {
            var zipPath = Path.Combine(fixturesFolder, fixture);
            var records = added[ecosystem];
            app.MapMethods(ExportPathOf(ecosystem), ["GET", "HEAD"], async (HttpContext context) =>
            {
                if (!File.Exists(zipPath))
                {
                    return Results.NotFound();
                }
                var bytes = await File.ReadAllBytesAsync(zipPath, context.RequestAborted);
                if (!records.IsEmpty)
                {
                    bytes = WithRecords(bytes, records);
                }
                var etag = $"\"{Convert.ToHexStringLower(MD5.HashData(bytes))}\"";
                context.Response.Headers.ETag = etag;
                if (context.Request.Headers.IfNoneMatch.ToString().Contains(etag, StringComparison.Ordinal))
                {
                    return Results.StatusCode(StatusCodes.Status304NotModified);
                }
                return Results.Bytes(bytes, "application/zip");
            });
        }
    }

    /// <summary>The ecosystem of <c>affected[0].package.ecosystem</c> without its release (<c>Alpine:v3.19</c> is Alpine); PyPI when there is none.</summary>
    private static string EcosystemOf(JsonNode record) =>
        record["affected"] is JsonArray { Count: > 0 } affected && affected[0]?["package"]?["ecosystem"] is JsonValue value
        && value.TryGetValue<string>(out var ecosystem) && ecosystem.Length > 0
            ? ecosystem.Split(':')[0]
            : "PyPI";

    /// <summary>The fixture export with the added records as further <c>{id}.json</c> entries (in id order, so the same set gives the same ETag).</summary>
    private static byte[] WithRecords(byte[] fixture, ConcurrentDictionary<string, byte[]> added)
    {
        using var buffer = new MemoryStream();
        buffer.Write(fixture);
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Update, leaveOpen: true))
        {
            foreach (var (id, json) in added.OrderBy(a => a.Key, StringComparer.Ordinal))
            {
                var entry = zip.CreateEntry(id + ".json");
                entry.LastWriteTime = new DateTimeOffset(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);
                using var stream = entry.Open();
                stream.Write(json);
            }
        }
        return buffer.ToArray();
    }
}
