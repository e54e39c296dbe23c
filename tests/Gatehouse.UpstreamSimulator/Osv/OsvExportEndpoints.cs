using System.Security.Cryptography;

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

    public static void Map(WebApplication app, string zipPath)
    {
        app.MapMethods(ExportPath, ["GET", "HEAD"], async (HttpContext context) =>
        {
            if (!File.Exists(zipPath))
            {
                return Results.NotFound();
            }
            var bytes = await File.ReadAllBytesAsync(zipPath, context.RequestAborted);
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
