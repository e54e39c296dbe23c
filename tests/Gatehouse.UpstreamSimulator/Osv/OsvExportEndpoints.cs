using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Gatehouse.UpstreamSimulator.Osv;

/// <summary>
/// OSV's bulk export for PyPI, as https://google.github.io/osv.dev/data/#data-dumps publishes it
/// (<c>/PyPI/all.zip</c>, here under <c>/osv</c>): the fixture zip, with an ETag, answering a conditional GET with 304
/// as the Cloud Storage bucket does.
/// </summary>
public static class OsvExportEndpoints
{
    public const string ExportPath = "/osv/PyPI/all.zip";

    /// <summary>The fixture export beside the PyPI fixtures (tests/fixtures/osv/pypi-fixture.zip).</summary>
    public static string FixtureFor(string pypiFixturesPath) => Path.GetFullPath(Path.Combine(pypiFixturesPath, "..", "osv", "pypi-fixture.zip"));

    /// <summary>Where a test adds a record to the export (<c>POST</c> the OSV JSON; it is served from then on, beside the fixture's).</summary>
    public const string AddRecordPath = "/_sim/osv/records";

    public static void Map(WebApplication app, string zipPath)
    {
        var added = new ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal);
        app.MapPost(AddRecordPath, async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var json = await reader.ReadToEndAsync(context.RequestAborted);
            if (JsonNode.Parse(json)?["id"]?.GetValue<string>() is not { Length: > 0 } id)
            {
                return Results.BadRequest("an OSV record with an id");
            }
            added[id] = Encoding.UTF8.GetBytes(json);
            return Results.Ok(new { id, added = added.Count });
        });
        app.MapMethods(ExportPath, ["GET", "HEAD"], async (HttpContext context) =>
        {
            if (!File.Exists(zipPath))
            {
                return Results.NotFound();
            }
            var bytes = await File.ReadAllBytesAsync(zipPath, context.RequestAborted);
            if (!added.IsEmpty)
            {
                bytes = WithRecords(bytes, added);
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
