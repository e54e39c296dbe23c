using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace Gatehouse.Benchmarks;

/// <summary>One file the simulator generates (<c>POST /_sim/hf/synthetic</c>), with the digests it advertises.</summary>
public sealed record HfSyntheticFile(string Path, string Kind, long Size, ulong Seed, bool Lfs, string Sha256, string? GitSha1, string Oid, double HashMs);

/// <summary>A synthetic repo as registered: <c>HashMs</c> is the simulator's time to stream every new file through SHA-256.</summary>
public sealed record HfSyntheticRepo(string Repo, string Type, string Commit, bool Reused, double HashMs, IReadOnlyList<HfSyntheticFile> Files);

/// <summary>What a file spec asks the simulator for.</summary>
public sealed record HfFileSpec(string Path, string Kind, long Size, ulong Seed);

/// <summary>
/// A resolve through Gatehouse as huggingface_hub would make it (Bearer token, 503 + Retry-After retried), read to
/// nowhere while hashing: times are from the first attempt, so the time to first byte includes the scan.
/// </summary>
public sealed record HfDownload(long Bytes, string Sha256, double TtfbMs, double TotalMs, int Retries, DateTimeOffset StartedAt)
{
    public double MBps => Bytes / 1e6 / (TotalMs / 1000);
}

/// <summary>The simulator's synthetic repos and Gatehouse's <c>/hf/…/resolve</c>, for the Hugging Face measurements.</summary>
public static class HfClient
{
    public static async Task<HfSyntheticRepo> RegisterAsync(HttpClient http, string simulator, string repo, IEnumerable<HfFileSpec> files)
    {
        var url = $"{simulator.TrimEnd('/')}/_sim/hf/synthetic";
        using var response = await http.PostAsJsonAsync(url, new { repo, type = "model", files }, JsonSerializerOptions.Web);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"simulator refused the synthetic repo {repo}: {(int)response.StatusCode} {body}");
        }
        return JsonSerializer.Deserialize<HfSyntheticRepo>(body, JsonSerializerOptions.Web) ?? throw new InvalidOperationException("empty simulator answer");
    }

    public static string ResolveUrl(string gatehouse, string repo, string path) =>
        $"{gatehouse.TrimEnd('/')}/hf/{repo}/resolve/main/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}";

    /// <summary>GET until 200 (retrying 503 after its Retry-After, at most <paramref name="maxRetries"/> times); anything else fails.</summary>
    public static async Task<HfDownload> ResolveAsync(HttpClient http, string url, string token, int maxRetries = 100, CancellationToken cancellationToken = default)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var started = Stopwatch.GetTimestamp();
        for (var retries = 0; ; retries++)
        {
            using var response = await http.SendAsync(Streaming.Get(url, token), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && retries < maxRetries)
            {
                var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                Console.Error.WriteLine($"[hf] 503 for {url}, retrying in {wait.TotalSeconds:F0} s");
                await Task.Delay(wait, cancellationToken);
                continue;
            }
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                throw new InvalidOperationException($"GET {url} answered {(int)response.StatusCode}: {text[..Math.Min(text.Length, 500)]}");
            }
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var drained = await Streaming.DrainAsync("HttpClient", stream, started, startedAt, cancellationToken, sha256);
            return new HfDownload(drained.Bytes, Convert.ToHexStringLower(sha256.GetHashAndReset()), drained.TtfbMs, drained.TotalMs, retries, startedAt);
        }
    }

    /// <summary>Fails unless the bytes received are the file the simulator advertised.</summary>
    public static void Verify(HfDownload download, HfSyntheticFile file, string what)
    {
        if (download.Bytes != file.Size || download.Sha256 != file.Sha256)
        {
            throw new InvalidOperationException(
                $"{what}: received {download.Bytes} bytes with sha256 {download.Sha256}; the simulator advertised {file.Size} bytes, sha256 {file.Sha256}");
        }
    }

    public static string Bytes(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
