using System.Buffers;
using Gatehouse.UpstreamSimulator.Catalog;
using Microsoft.AspNetCore.Http.Headers;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.UpstreamSimulator.PyPI;

/// <summary>
/// files.pythonhosted.org: distribution files and their PEP 658 <c>.metadata</c> siblings, with
/// Content-Length, Accept-Ranges, single byte ranges (206/416), If-Range, and the tamper/delay toggles.
/// Bodies are streamed from disk in chunks, never buffered whole.
/// </summary>
internal static class FileEndpoints
{
    private const string MetadataSuffix = ".metadata";
    private const int ChunkSize = 256 * 1024;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapMethods("/packages/{aa}/{bb}/{sha256}/{filename}", ["GET", "HEAD"], ServeAsync);

    private static async Task ServeAsync(HttpContext context, SimulatorState state, string aa, string bb, string sha256, string filename)
    {
        var isMetadata = filename.EndsWith(MetadataSuffix, StringComparison.Ordinal);
        var file = state.FindFile(isMetadata ? filename[..^MetadataSuffix.Length] : filename);
        if (file is null || file.Digests.Sha256 != sha256 || sha256[..2] != aa || sha256[2..4] != bb
            || (isMetadata && file.CoreMetadataBytes is null))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        // A stalled (delayed) download must not hold up shutdown: stopping the app cancels it too.
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        try
        {
            if (isMetadata)
            {
                var bytes = file.CoreMetadataBytes!;
                await SendAsync(
                    context, state, bytes.Length, file.CoreMetadataSha256!, file.UploadTime, tamperOffset: null, cancel.Token,
                    () => new MemoryStream(bytes, writable: false),
                    () => state.CountMetadataFetch(file.Filename));
            }
            else
            {
                await SendAsync(
                    context, state, file.Size, file.Digests.Sha256, file.UploadTime,
                    state.IsTampered(file.Filename) ? file.Size / 2 : null,
                    cancel.Token,
                    () => new FileStream(file.PhysicalPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan),
                    () => state.CountFileFetch(file.Filename));
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // The client went away (kill tests do this on purpose) or the simulator is stopping: cut the
            // connection so a half-sent body reads as a broken transfer, never as a complete file.
            context.Abort();
        }
    }

    private static async Task SendAsync(
        HttpContext context, SimulatorState state, long length, string sha256, DateTimeOffset uploadTime,
        long? tamperOffset, CancellationToken ct, Func<Stream> open, Action countBodyStart)
    {
        var request = context.Request;
        var response = context.Response;
        var etag = new EntityTagHeaderValue($"\"{sha256}\"");
        var lastModified = new DateTimeOffset(uploadTime.UtcTicks - (uploadTime.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

        var headers = response.GetTypedHeaders();
        headers.ETag = etag;
        headers.LastModified = lastModified;
        response.Headers.AcceptRanges = "bytes";
        response.Headers.CacheControl = "max-age=365000000, immutable, public";
        response.ContentType = "application/octet-stream";

        var range = ResolveRange(request.GetTypedHeaders(), length, etag, lastModified);
        if (range.Unsatisfiable)
        {
            response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
            response.Headers.ContentRange = $"bytes */{length}";
            response.ContentLength = 0;
            return;
        }

        if (range.Partial)
        {
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {range.Start}-{range.Start + range.Length - 1}/{length}";
        }
        else
        {
            response.StatusCode = StatusCodes.Status200OK;
        }

        response.ContentLength = range.Length;
        if (HttpMethods.IsHead(request.Method))
        {
            return;
        }

        var delay = state.FileDelay;
        if (delay > TimeSpan.Zero)
        {
            // Headers go out first so a client (or the proxy) is mid-download while the body stalls.
            await response.StartAsync(ct);
            await response.Body.FlushAsync(ct);
            await Task.Delay(delay, ct);
        }

        countBodyStart();
        await using var source = open();
        source.Seek(range.Start, SeekOrigin.Begin);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            var position = range.Start;
            for (var remaining = range.Length; remaining > 0;)
            {
                var read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(ChunkSize, remaining)), ct);
                if (read == 0)
                {
                    throw new IOException("File shrank while being served.");
                }

                if (tamperOffset is { } offset && offset >= position && offset < position + read)
                {
                    buffer[offset - position] ^= 0xFF;
                }

                await response.Body.WriteAsync(buffer.AsMemory(0, read), ct);
                position += read;
                remaining -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private readonly record struct ByteRange(long Start, long Length, bool Partial, bool Unsatisfiable);

    /// <summary>One byte range per RFC 9110 §14; several ranges, or a failed If-Range, get the whole file.</summary>
    private static ByteRange ResolveRange(RequestHeaders headers, long length, EntityTagHeaderValue etag, DateTimeOffset lastModified)
    {
        var whole = new ByteRange(0, length, Partial: false, Unsatisfiable: false);
        var rangeHeader = headers.Range;
        if (rangeHeader is null || !string.Equals(rangeHeader.Unit.Value, "bytes", StringComparison.OrdinalIgnoreCase) || rangeHeader.Ranges.Count != 1)
        {
            return whole;
        }

        if (headers.IfRange is { } ifRange)
        {
            var matches = ifRange.EntityTag is { } tag
                ? !tag.IsWeak && tag.Tag == etag.Tag
                : ifRange.LastModified is { } date && date == lastModified;
            if (!matches)
            {
                return whole;
            }
        }

        var item = rangeHeader.Ranges.First();
        if (item.From is { } from)
        {
            if (item.To is { } to && to < from)
            {
                return whole; // syntactically invalid: ignore the header
            }

            if (from >= length)
            {
                return new ByteRange(0, 0, Partial: false, Unsatisfiable: true);
            }

            var end = Math.Min(item.To ?? length - 1, length - 1);
            return new ByteRange(from, end - from + 1, Partial: true, Unsatisfiable: false);
        }

        if (item.To is { } suffix)
        {
            if (suffix == 0 || length == 0)
            {
                return new ByteRange(0, 0, Partial: false, Unsatisfiable: true);
            }

            var start = Math.Max(0, length - suffix);
            return new ByteRange(start, length - start, Partial: true, Unsatisfiable: false);
        }

        return whole;
    }
}
