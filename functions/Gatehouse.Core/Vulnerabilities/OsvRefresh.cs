using System.Net;
using Gatehouse.Configuration;
using Gatehouse.Upstream;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Vulnerabilities;

/// <summary>How a refresh ended.</summary>
public enum OsvRefreshStatus
{
    Imported,

    /// <summary>The export had not changed since the last import (304 to the conditional GET).</summary>
    NotModified,

    /// <summary>The export could not be downloaded; the mirror keeps what it had.</summary>
    Failed,
}

/// <summary>One export's outcome: the import's counts when there was one, the reason when it failed.</summary>
public sealed record OsvExportRefresh(string Url, OsvRefreshStatus Status, OsvImportResult? Import = null, string? Message = null);

/// <summary>
/// A refresh's outcome: the primary export's (<see cref="OsvOptions.ExportUrl"/>) as <see cref="Status"/>,
/// <see cref="Import"/> and <see cref="Message"/>, and every export's, the primary first, in <see cref="Exports"/>.
/// </summary>
public sealed record OsvRefreshResult(OsvRefreshStatus Status, OsvImportResult? Import = null, string? Message = null)
{
    public IReadOnlyList<OsvExportRefresh> Exports { get; init; } = [];

    /// <summary>True when any export could not be refreshed.</summary>
    public bool AnyFailed => Status == OsvRefreshStatus.Failed || Exports.Any(e => e.Status == OsvRefreshStatus.Failed);
}

/// <summary>
/// Brings the mirror up to date with OSV's exports (<see cref="OsvOptions.ExportUrls"/>: PyPI's, then Debian's and
/// Alpine's by default), one after another and each on its own: a GET conditional on that export's last ETag and
/// Last-Modified (RFC 9110 §13.1), through <see cref="UpstreamClient"/> with a profile that may contact only the
/// exports' hosts, then an import that replaces only that export's rows. One export failing leaves its rows as they
/// were and does not stop the others. A scheduled trigger calls <see cref="RunAsync"/> on <see cref="OsvOptions.RefreshSchedule"/>.
/// </summary>
public sealed class OsvRefresh
{
    /// <summary>The named <see cref="HttpClient"/> for the export (its timeout is <see cref="OsvOptions.UpstreamTimeoutSeconds"/>).</summary>
    public const string HttpClientName = "gatehouse-osv";

    /// <summary>The PyPI export is tens of MB, Debian's about a hundred; a body past this is refused.</summary>
    public const long MaxExportBytes = 1L * 1024 * 1024 * 1024;

    private readonly UpstreamClient _client;
    private readonly OsvImporter _importer;
    private readonly VulnerabilityMirror _mirror;
    private readonly ILogger<OsvRefresh> _log;

    public OsvRefresh(UpstreamClient client, OsvImporter importer, VulnerabilityMirror mirror, IOptions<GatehouseOptions> options, ILogger<OsvRefresh> log)
    {
        _client = client;
        _importer = importer;
        _mirror = mirror;
        _log = log;
        ExportUrls = [.. options.Value.Osv.ExportUrls().Select(u => new Uri(u))];
        var authorities = ExportUrls.Select(u => u.Authority).ToHashSet(StringComparer.OrdinalIgnoreCase);
        Profile = new UpstreamProfile("the OSV export", HttpClientName,
            u => (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp) && authorities.Contains(u.Authority),
            _ => false);
    }

    /// <summary>The primary export (<see cref="OsvOptions.ExportUrl"/>).</summary>
    public Uri ExportUrl => ExportUrls[0];

    /// <summary>Every configured export, the primary first.</summary>
    public IReadOnlyList<Uri> ExportUrls { get; }

    /// <summary>Only the exports' own hosts may be contacted; no credential is sent.</summary>
    public UpstreamProfile Profile { get; }

    /// <summary>How the import of <paramref name="url"/> is recorded: its role, and the other exports whose rows it leaves alone.</summary>
    public OsvImportSource SourceFor(Uri url, string? etag = null, string? lastModified = null) =>
        new(url.AbsoluteUri, etag, lastModified)
        {
            Primary = url == ExportUrl,
            Others = [.. ExportUrls.Where(u => u != url).Select(u => u.AbsoluteUri)],
        };

    /// <summary>Downloads each export that changed since its last import, and imports it.</summary>
    public async Task<OsvRefreshResult> RunAsync(CancellationToken cancellationToken)
    {
        var exports = new List<OsvExportRefresh>();
        foreach (var url in ExportUrls)
        {
            exports.Add(await RunAsync(url, cancellationToken));
        }
        var primary = exports[0];
        return new OsvRefreshResult(primary.Status, primary.Import, primary.Message) { Exports = exports };
    }

    private async Task<OsvExportRefresh> RunAsync(Uri url, CancellationToken cancellationToken)
    {
        var last = await _mirror.GetImportAsync(SourceFor(url), cancellationToken);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        // The validators only apply to the export they came from.
        if (last is not null && last.SourceUrl == url.AbsoluteUri)
        {
            if (last.ETag is { } etag)
            {
                headers["If-None-Match"] = etag;
            }
            if (last.LastModified is { } lastModified)
            {
                headers["If-Modified-Since"] = lastModified;
            }
        }
        var request = UpstreamRequest.Get(url, "application/zip, */*", MaxExportBytes) with { Headers = headers };
        using var response = await _client.SendAsync(Profile, request, cancellationToken);
        if (response.Failure is { } failure)
        {
            return Failed(url, failure.Message);
        }
        if (response.StatusCode == HttpStatusCode.NotModified)
        {
            _log.LogInformation("OSV refresh: {Url} has not changed since {ImportedAt}", url, last?.ImportedAt);
            return new OsvExportRefresh(url.AbsoluteUri, OsvRefreshStatus.NotModified);
        }
        if (!response.IsSuccess)
        {
            return Failed(url, $"{Profile.Name} {url} answered {response.Status}");
        }
        try
        {
            await using var body = await response.OpenBodyAsync(cancellationToken);
            var source = SourceFor(url, response.Header("ETag"), response.Header("Last-Modified"));
            return new OsvExportRefresh(url.AbsoluteUri, OsvRefreshStatus.Imported, await _importer.ImportAsync(body, source, cancellationToken));
        }
        catch (InvalidDataException e)
        {
            return Failed(url, $"{url} is not a zip of OSV records: {e.Message}");
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return Failed(url, response.BodyFailure(e).Message);
        }
    }

    private OsvExportRefresh Failed(Uri url, string message)
    {
        _log.LogWarning("OSV refresh of {Url} failed, its rows are kept: {Reason}", url, message);
        return new OsvExportRefresh(url.AbsoluteUri, OsvRefreshStatus.Failed, Message: message);
    }
}
