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

/// <summary>A refresh's outcome: the import's counts when there was one, the reason when it failed.</summary>
public sealed record OsvRefreshResult(OsvRefreshStatus Status, OsvImportResult? Import = null, string? Message = null);

/// <summary>
/// Brings the mirror up to date with OSV's export: a GET conditional on the last import's ETag and Last-Modified (RFC
/// 9110 §13.1), through <see cref="UpstreamClient"/> with a profile that may contact only the export's host, then an
/// import of what came. A scheduled trigger calls <see cref="RunAsync"/> on <see cref="OsvOptions.RefreshSchedule"/>.
/// </summary>
public sealed class OsvRefresh
{
    /// <summary>The named <see cref="HttpClient"/> for the export (its timeout is <see cref="OsvOptions.UpstreamTimeoutSeconds"/>).</summary>
    public const string HttpClientName = "gatehouse-osv";

    /// <summary>The PyPI export is tens of MB; a body past this is refused.</summary>
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
        ExportUrl = new Uri(options.Value.Osv.ExportUrl);
        Profile = new UpstreamProfile("the OSV export", HttpClientName,
            u => (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp) && string.Equals(u.Authority, ExportUrl.Authority, StringComparison.OrdinalIgnoreCase),
            _ => false);
    }

    public Uri ExportUrl { get; }

    /// <summary>Only the export's own host may be contacted; no credential is sent.</summary>
    public UpstreamProfile Profile { get; }

    /// <summary>Downloads the export if it changed since the last import, and imports it.</summary>
    public async Task<OsvRefreshResult> RunAsync(CancellationToken cancellationToken)
    {
        var last = await _mirror.GetImportAsync(cancellationToken);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        // The validators only apply to the export they came from.
        if (last is not null && last.SourceUrl == ExportUrl.AbsoluteUri)
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
        var request = UpstreamRequest.Get(ExportUrl, "application/zip, */*", MaxExportBytes) with { Headers = headers };
        using var response = await _client.SendAsync(Profile, request, cancellationToken);
        if (response.Failure is { } failure)
        {
            _log.LogWarning("OSV refresh: {Reason}", failure.Message);
            return new OsvRefreshResult(OsvRefreshStatus.Failed, Message: failure.Message);
        }
        if (response.StatusCode == HttpStatusCode.NotModified)
        {
            _log.LogInformation("OSV refresh: {Url} has not changed since {ImportedAt}", ExportUrl, last?.ImportedAt);
            return new OsvRefreshResult(OsvRefreshStatus.NotModified);
        }
        if (!response.IsSuccess)
        {
            var message = $"{Profile.Name} answered {response.Status}";
            _log.LogWarning("OSV refresh: {Reason}", message);
            return new OsvRefreshResult(OsvRefreshStatus.Failed, Message: message);
        }
        try
        {
            await using var body = await response.OpenBodyAsync(cancellationToken);
            var source = new OsvImportSource(ExportUrl.AbsoluteUri, response.Header("ETag"), response.Header("Last-Modified"));
            return new OsvRefreshResult(OsvRefreshStatus.Imported, await _importer.ImportAsync(body, source, cancellationToken));
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            var message = response.BodyFailure(e).Message;
            _log.LogWarning("OSV refresh: {Reason}", message);
            return new OsvRefreshResult(OsvRefreshStatus.Failed, Message: message);
        }
    }
}
