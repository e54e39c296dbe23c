using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Upstream;

/// <summary>
/// An upstream's answer, or why there is none. The body is read only through the cap the request set: a declared
/// length above it fails at once, and an undeclared (chunked) body fails when it passes the cap, so no upstream can
/// make Gatehouse buffer more than the cap.
/// </summary>
public sealed class UpstreamResponse : IDisposable
{
    private readonly HttpResponseMessage? _response;
    private readonly long _cap;

    internal UpstreamResponse(UpstreamProfile? profile, HttpResponseMessage? response, long cap, Uri? url, UpstreamFailure? failure)
    {
        Profile = profile;
        _response = response;
        _cap = cap;
        Url = url;
        Failure = failure;
    }

    public static UpstreamResponse Failed(UpstreamFailure failure) => new(null, null, 0, null, failure);

    /// <summary>Why there is no answer; null when there is one (of any status).</summary>
    public UpstreamFailure? Failure { get; }

    public UpstreamProfile? Profile { get; }

    /// <summary>The URL that answered, after redirects.</summary>
    public Uri? Url { get; }

    public HttpStatusCode StatusCode => _response?.StatusCode ?? 0;

    public int Status => (int)StatusCode;

    public bool IsSuccess => _response?.IsSuccessStatusCode == true;

    public long? ContentLength => _response?.Content.Headers.ContentLength;

    public string? MediaType => _response?.Content.Headers.ContentType?.MediaType;

    public string? ContentTypeHeader => _response?.Content.Headers.ContentType?.ToString();

    /// <summary>The response's <c>Location</c>, when it is a redirect that was not followed.</summary>
    public Uri? Location => _response?.Headers.Location;

    /// <summary>A header's values joined with ", ", wherever .NET filed it (response or content headers); null when absent.</summary>
    public string? Header(string name) =>
        _response is null ? null
        : _response.Headers.TryGetValues(name, out var values) || _response.Content.Headers.TryGetValues(name, out values) ? string.Join(", ", values)
        : null;

    /// <summary>The body as a stream that fails with <see cref="UpstreamBodyTooLargeException"/> past the cap.</summary>
    public async Task<Stream> OpenBodyAsync(CancellationToken cancellationToken)
    {
        var response = _response ?? throw new InvalidOperationException("There is no upstream answer to read.");
        if (response.Content.Headers.ContentLength > _cap)
        {
            throw new UpstreamBodyTooLargeException(_cap);
        }
        return new CappedStream(await response.Content.ReadAsStreamAsync(cancellationToken), _cap);
    }

    /// <summary>The whole body, at most the cap, or the failure that kept it from being read.</summary>
    public async Task<(byte[]? Body, UpstreamFailure? Failure)> ReadBytesAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var body = await OpenBodyAsync(cancellationToken);
            using var buffer = new MemoryStream();
            await body.CopyToAsync(buffer, cancellationToken);
            return (buffer.ToArray(), null);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return (null, BodyFailure(e));
        }
    }

    /// <summary>The body parsed as JSON, or the failure: too large, broken off, or not JSON.</summary>
    public async Task<(JsonNode? Json, UpstreamFailure? Failure)> ReadJsonAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var body = await OpenBodyAsync(cancellationToken);
            var json = await JsonNode.ParseAsync(body, cancellationToken: cancellationToken);
            return json is null ? (null, new UpstreamFailure(UpstreamFailureKind.Broken, $"{Name} sent an empty JSON document")) : (json, null);
        }
        catch (JsonException e)
        {
            return (null, new UpstreamFailure(UpstreamFailureKind.Broken, $"{Name} sent unreadable JSON: {e.Message}"));
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return (null, BodyFailure(e));
        }
    }

    /// <summary>What a failed body read tells the client: the cap, or that the upstream broke off.</summary>
    public UpstreamFailure BodyFailure(Exception e) => e is UpstreamBodyTooLargeException tooLarge
        ? new UpstreamFailure(UpstreamFailureKind.TooLarge, $"{Name} sent more than {tooLarge.Cap} bytes, the limit for this answer")
        : new UpstreamFailure(UpstreamFailureKind.Broken, $"{Name} broke off its answer ({e.Message})");

    public void Dispose() => _response?.Dispose();

    private string Name => Profile?.Name ?? "the upstream";

    /// <summary>A read-only view that counts bytes and throws past the cap.</summary>
    private sealed class CappedStream(Stream inner, long cap) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }

        private int Count(int n)
        {
            _read += n;
            return _read > cap ? throw new UpstreamBodyTooLargeException(cap) : n;
        }
    }
}
