using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using Gatehouse.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Http;

/// <summary>
/// Serves an allowed, content-addressed blob: streamed with a strong ETag, ranges and If-Range (pip resumes downloads
/// with <c>Range</c> + <c>If-Range</c>; pip's <c>lazy_wheel.py</c> and uv read wheels by range after a <c>HEAD</c> that
/// must carry <c>Content-Length</c>), or as a 302 to a short-lived read-only SAS URL.
/// </summary>
public sealed class BlobResponses
{
    private const int CopyBuffer = 256 * 1024;
    private readonly ServingOptions _options;
    private readonly TimeProvider _time;

    public BlobResponses(IOptions<GatehouseOptions> options, TimeProvider time)
    {
        _options = options.Value.Serving;
        _time = time;
    }

    /// <param name="entityTag">The ETag value without quotes; the sha256 unless given (Hugging Face small files use their git sha1).</param>
    /// <returns>False when the blob turned out not to exist; nothing was written then.</returns>
    public async Task<bool> ServeAsync(HttpContext context, BlockBlobClient blob, string sha256, long size, DateTimeOffset lastModified, string contentType, string? entityTag = null)
    {
        var request = context.Request;
        var response = context.Response;
        var etag = $"\"{entityTag ?? sha256}\"";
        response.Headers.ETag = etag;
        response.Headers.LastModified = HeaderUtilities.FormatDate(lastModified);
        response.Headers.AcceptRanges = "bytes";
        // Revalidate every time: a verdict may flip, and a 304 is cheap.
        response.Headers.CacheControl = "private, no-cache";
        if (request.Headers.IfNoneMatch.Any(v => v is not null && (v.Contains(etag, StringComparison.Ordinal) || v.Trim() == "*")))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return true;
        }
        if (string.Equals(_options.Mode, "Sas", StringComparison.OrdinalIgnoreCase))
        {
            response.StatusCode = StatusCodes.Status302Found;
            response.Headers.Location = (await SasUriAsync(blob, context.RequestAborted)).AbsoluteUri;
            return true;
        }
        var (offset, length, partial) = ResolveRange(request, size, etag, lastModified);
        if (length < 0)
        {
            response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
            response.Headers.ContentRange = $"bytes */{size}";
            return true;
        }
        response.StatusCode = partial ? StatusCodes.Status206PartialContent : StatusCodes.Status200OK;
        response.ContentType = contentType;
        response.ContentLength = length;
        if (partial)
        {
            response.Headers.ContentRange = $"bytes {offset}-{offset + length - 1}/{size}";
        }
        if (HttpMethods.IsHead(request.Method) || length == 0)
        {
            return true;
        }
        Response<BlobDownloadStreamingResult> download;
        try
        {
            download = await blob.DownloadStreamingAsync(new BlobDownloadOptions { Range = new HttpRange(offset, length) }, context.RequestAborted);
        }
        catch (RequestFailedException e) when (e.Status == 404 && !response.HasStarted)
        {
            response.Clear();
            return false;
        }
        await using var content = download.Value.Content;
        await content.CopyToAsync(response.Body, CopyBuffer, context.RequestAborted);
        return true;
    }

    /// <returns>(offset, length, partial); length −1 means unsatisfiable.</returns>
    internal static (long Offset, long Length, bool Partial) ResolveRange(HttpRequest request, long size, string etag, DateTimeOffset lastModified)
    {
        var range = request.Headers.Range.ToString();
        if (string.IsNullOrEmpty(range) || !range.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase) || range.Contains(','))
        {
            // Multiple ranges are legal to ignore: the full body is a correct answer.
            return (0, size, false);
        }
        var ifRange = request.Headers.IfRange.ToString();
        // RFC 9110 §13.1.5: the validator must match exactly (dates compare at the second HTTP dates carry).
        if (ifRange.Length > 0 && ifRange != etag
            && !(DateTimeOffset.TryParse(ifRange, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
                 && date == lastModified.AddTicks(-(lastModified.UtcTicks % TimeSpan.TicksPerSecond))))
        {
            return (0, size, false);
        }
        var spec = range["bytes=".Length..].Trim();
        var dash = spec.IndexOf('-');
        if (dash < 0)
        {
            return (0, size, false);
        }
        var first = spec[..dash];
        var last = spec[(dash + 1)..];
        if (first.Length == 0)
        {
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var suffix) || suffix <= 0)
            {
                return (0, size, false);
            }
            var take = Math.Min(suffix, size);
            return take == 0 ? (0, -1, true) : (size - take, take, true);
        }
        if (!long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var start))
        {
            return (0, size, false);
        }
        var end = size - 1;
        if (last.Length > 0 && (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out end) || end < start))
        {
            return (0, size, false);
        }
        if (start >= size)
        {
            return (0, -1, true);
        }
        end = Math.Min(end, size - 1);
        return (start, end - start + 1, true);
    }

    private async Task<Uri> SasUriAsync(BlockBlobClient blob, CancellationToken cancellationToken)
    {
        var expires = _time.GetUtcNow().AddSeconds(_options.SasLifetimeSeconds);
        if (blob.CanGenerateSasUri)
        {
            return blob.GenerateSasUri(BlobSasPermissions.Read, expires);
        }
        // Managed identity: sign with a user delegation key instead of an account key.
        var service = blob.GetParentBlobContainerClient().GetParentBlobServiceClient();
        var key = await service.GetUserDelegationKeyAsync(_time.GetUtcNow().AddMinutes(-5), expires, cancellationToken);
        var builder = new BlobSasBuilder(BlobSasPermissions.Read, expires)
        {
            BlobContainerName = blob.BlobContainerName,
            BlobName = blob.Name,
            Resource = "b",
            StartsOn = _time.GetUtcNow().AddMinutes(-5),
        };
        return new BlobUriBuilder(blob.Uri) { Sas = builder.ToSasQueryParameters(key.Value, service.AccountName) }.ToUri();
    }
}
