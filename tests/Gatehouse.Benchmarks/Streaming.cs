using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Azure.Storage.Blobs;

namespace Gatehouse.Benchmarks;

/// <summary>How long one download took: first byte and last byte, measured from the moment the request was sent.</summary>
public sealed record Download(string Client, long Bytes, double TtfbMs, double TotalMs, DateTimeOffset StartedAt)
{
    /// <summary>Megabytes (10^6 bytes) per second over the whole transfer, first byte included.</summary>
    public double MBps => Bytes / 1e6 / (TotalMs / 1000);
}

/// <summary>Reads response bodies to nowhere with one reused buffer, so the client itself stays out of the way.</summary>
public static class Streaming
{
    private const int Buffer = 256 * 1024;

    /// <param name="followRedirects">Follow a 302 as registry clients do (HttpClient drops the Authorization header on the way).</param>
    public static HttpClient NewHttpClient(bool followRedirects = false) => new(new SocketsHttpHandler
    {
        AutomaticDecompression = DecompressionMethods.None,
        AllowAutoRedirect = followRedirects,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public static HttpRequestMessage Get(string url, string? token, string? accept = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }
        return request;
    }

    /// <summary>GET through HttpClient; fails on anything but 200.</summary>
    public static async Task<Download> HttpAsync(HttpClient http, string url, string? token, CancellationToken cancellationToken = default)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var started = Stopwatch.GetTimestamp();
        using var response = await http.SendAsync(Get(url, token), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException($"GET {url} answered {(int)response.StatusCode} {response.ReasonPhrase}: {body[..Math.Min(body.Length, 500)]}");
        }
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        return await DrainAsync("HttpClient", stream, started, startedAt, cancellationToken);
    }

    /// <summary>Direct read of a blob through the Azure SDK (BlobClient.DownloadStreamingAsync), as the host itself does.</summary>
    public static async Task<Download> BlobAsync(BlobClient blob, CancellationToken cancellationToken = default)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var started = Stopwatch.GetTimestamp();
        var download = await blob.DownloadStreamingAsync(cancellationToken: cancellationToken);
        await using var stream = download.Value.Content;
        return await DrainAsync("BlobClient", stream, started, startedAt, cancellationToken);
    }

    /// <summary>
    /// curl to /dev/null, as a second client that is not .NET. With <paramref name="followRedirects"/> (<c>-L</c>) curl
    /// follows a 302 and, since 7.83, drops the Authorization header when the host or port changes.
    /// </summary>
    public static async Task<Download> CurlAsync(string url, string? token, CancellationToken cancellationToken = default, bool followRedirects = false)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-sS", "--fail", "-o", "/dev/null", "-w", "%{size_download} %{time_starttransfer} %{time_total}" })
        {
            start.ArgumentList.Add(arg);
        }
        if (followRedirects)
        {
            start.ArgumentList.Add("-L");
        }
        if (token is not null)
        {
            start.ArgumentList.Add("-H");
            start.ArgumentList.Add($"Authorization: Bearer {token}");
        }
        start.ArgumentList.Add(url);
        var startedAt = DateTimeOffset.UtcNow;
        using var curl = Process.Start(start) ?? throw new InvalidOperationException("curl did not start");
        var output = await curl.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = await curl.StandardError.ReadToEndAsync(cancellationToken);
        await curl.WaitForExitAsync(cancellationToken);
        if (curl.ExitCode != 0)
        {
            throw new InvalidOperationException($"curl exited {curl.ExitCode}: {error}");
        }
        var parts = output.Split(' ');
        return new Download("curl", long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) * 1000,
            double.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture) * 1000, startedAt);
    }

    /// <summary>Reads <paramref name="stream"/> to its end through one pooled buffer, timing the first byte, feeding <paramref name="hash"/> when given.</summary>
    internal static async Task<Download> DrainAsync(string client, Stream stream, long started, DateTimeOffset startedAt, CancellationToken cancellationToken,
        IncrementalHash? hash = null)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Buffer);
        try
        {
            long total = 0;
            double ttfb = -1;
            int read;
            while ((read = await stream.ReadAsync(buffer.AsMemory(0, Buffer), cancellationToken)) > 0)
            {
                if (ttfb < 0)
                {
                    ttfb = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                }
                hash?.AppendData(buffer, 0, read);
                total += read;
            }
            return new Download(client, total, ttfb, Stopwatch.GetElapsedTime(started).TotalMilliseconds, startedAt);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
