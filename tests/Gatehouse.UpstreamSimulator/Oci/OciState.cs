using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;

namespace Gatehouse.UpstreamSimulator.Oci;

/// <summary>
/// Mutable side of the simulated registry: the catalog (standard images plus synthetic ones), the token server, request
/// counters and switches. <c>/_sim/oci/</c> is a thin HTTP skin over this.
/// </summary>
public sealed class OciState
{
    /// <summary>Docker Hub's anonymous pull allowance per six hours, as its <c>RateLimit-Limit</c> header states it.</summary>
    public const int DefaultRateLimit = 100;

    private readonly ConcurrentDictionary<string, int> _manifestGets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _manifestHeads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _blobGets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _blobHeads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _blobRedirects = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _tokenScopes = new(StringComparer.Ordinal);
    private readonly Lock _catalogLock = new();
    private readonly byte[] _signingKey = RandomNumberGenerator.GetBytes(32);
    private volatile OciCatalog _catalog;
    private int _tokenRequests;
    private int _credentialedTokenRequests;
    private int _unauthorized;
    private int _cdnAuthorization;
    private int _manifestGetsTotal;
    private int _rateLimit = DefaultRateLimit;
    private volatile bool _rateLimitEnforced;
    private volatile bool _blobRedirect = true;

    public OciState(string dataPath, TimeProvider timeProvider)
    {
        _catalog = OciCatalog.Empty.With(OciImages.All);
        Tokens = new OciTokens(timeProvider);
        Synthetic = new OciSyntheticImages(Path.Combine(dataPath, "oci"));
    }

    public OciCatalog Catalog => _catalog;

    public OciTokens Tokens { get; }

    public OciSyntheticImages Synthetic { get; }

    /// <summary>True (default): blob GETs answer 307 to the CDN path, as Docker Hub redirects to Cloudflare; false: the registry serves the bytes.</summary>
    public bool BlobRedirect
    {
        get => _blobRedirect;
        set => _blobRedirect = value;
    }

    /// <summary>The manifest GETs allowed before 429 when <see cref="RateLimitEnforced"/>; always stated in <c>RateLimit-Limit</c>.</summary>
    public int RateLimit
    {
        get => Volatile.Read(ref _rateLimit);
        set => Volatile.Write(ref _rateLimit, Math.Max(0, value));
    }

    /// <summary>Off by default, so that many tests in one run never exhaust the allowance; the headers count down either way.</summary>
    public bool RateLimitEnforced
    {
        get => _rateLimitEnforced;
        set => _rateLimitEnforced = value;
    }

    public int RateLimitRemaining => Math.Max(0, RateLimit - Volatile.Read(ref _manifestGetsTotal));

    /// <summary>The repository, generating a synthetic image first when the name and tag ask for one.</summary>
    public async Task<OciRepository?> FindRepositoryAsync(string name, string? reference, CancellationToken cancellationToken)
    {
        var repository = _catalog.Repositories.GetValueOrDefault(name);
        if (reference is null || repository?.Find(reference) is not null || OciSyntheticImages.Parse(name, reference) is not { } spec)
        {
            return repository;
        }

        var image = await Synthetic.GetAsync(spec, cancellationToken);
        lock (_catalogLock)
        {
            _catalog = _catalog.With([image]);
        }
        return _catalog.Repositories[name];
    }

    /// <summary>How long a blob redirect's signed URL stays valid.</summary>
    public static readonly TimeSpan SignedUrlLifetime = TimeSpan.FromMinutes(20);

    /// <summary>The CDN path and query a blob GET redirects to: <c>/cdn/blobs/&lt;digest&gt;?expires=&lt;unix&gt;&amp;sig=&lt;hmac&gt;</c>.</summary>
    public string SignedBlobPath(string digest)
    {
        var expires = Tokens.Now.Add(SignedUrlLifetime).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"/cdn/blobs/{digest}?expires={expires}&sig={Sign(digest, expires)}";
    }

    /// <summary>True for a signature this simulator made for the digest that has not expired.</summary>
    public bool VerifyBlobPath(string digest, string? expires, string? signature)
    {
        if (!long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var unix) || signature is null
            || DateTimeOffset.FromUnixTimeSeconds(Math.Min(unix, DateTimeOffset.MaxValue.ToUnixTimeSeconds())) <= Tokens.Now)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(digest, expires!)), Encoding.ASCII.GetBytes(signature));
    }

    private string Sign(string digest, string expires) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_signingKey, Encoding.UTF8.GetBytes(digest + "\n" + expires)));

    /// <summary>Counters to zero, tokens forgotten, switches back to normal; images (synthetic ones too) stay.</summary>
    public void Reset()
    {
        _manifestGets.Clear();
        _manifestHeads.Clear();
        _blobGets.Clear();
        _blobHeads.Clear();
        _blobRedirects.Clear();
        _tokenScopes.Clear();
        Interlocked.Exchange(ref _tokenRequests, 0);
        Interlocked.Exchange(ref _credentialedTokenRequests, 0);
        Interlocked.Exchange(ref _unauthorized, 0);
        Interlocked.Exchange(ref _cdnAuthorization, 0);
        Interlocked.Exchange(ref _manifestGetsTotal, 0);
        RateLimit = DefaultRateLimit;
        RateLimitEnforced = false;
        BlobRedirect = true;
        Tokens.Reset();
    }

    public OciStats GetStats() => new(
        Snapshot(_manifestGets),
        Snapshot(_manifestHeads),
        Snapshot(_blobGets),
        Snapshot(_blobHeads),
        Snapshot(_blobRedirects),
        Volatile.Read(ref _tokenRequests),
        Volatile.Read(ref _credentialedTokenRequests),
        Snapshot(_tokenScopes),
        Volatile.Read(ref _unauthorized),
        Volatile.Read(ref _cdnAuthorization),
        BlobRedirect,
        RateLimit,
        RateLimitRemaining,
        RateLimitEnforced,
        Tokens.LifetimeSeconds);

    /// <summary>A manifest GET; false when the enforced rate limit is used up (the request is then refused, not counted).</summary>
    internal bool TryCountManifestGet(string repository, string digest)
    {
        if (RateLimitEnforced && RateLimitRemaining == 0)
        {
            return false;
        }

        Interlocked.Increment(ref _manifestGetsTotal);
        Count(_manifestGets, repository + "@" + digest);
        return true;
    }

    internal void CountManifestHead(string repository, string digest) => Count(_manifestHeads, repository + "@" + digest);

    internal void CountBlob(string digest, bool head) => Count(head ? _blobHeads : _blobGets, digest);

    internal void CountBlobRedirect(string digest) => Count(_blobRedirects, digest);

    internal void CountTokenRequest(IEnumerable<string> scopes, bool credentialed)
    {
        Interlocked.Increment(ref _tokenRequests);
        if (credentialed)
        {
            Interlocked.Increment(ref _credentialedTokenRequests);
        }
        foreach (var scope in scopes)
        {
            Count(_tokenScopes, scope);
        }
    }

    internal void CountUnauthorized() => Interlocked.Increment(ref _unauthorized);

    internal void CountCdnAuthorization() => Interlocked.Increment(ref _cdnAuthorization);

    private static void Count(ConcurrentDictionary<string, int> counters, string key) => counters.AddOrUpdate(key, 1, (_, n) => n + 1);

    private static IReadOnlyDictionary<string, int> Snapshot(ConcurrentDictionary<string, int> counters) =>
        new SortedDictionary<string, int>(counters, StringComparer.Ordinal);
}

/// <summary>
/// <c>GET /_sim/oci/stats</c>. Manifests are keyed <c>name@digest</c> and blobs by digest; a blob GET counts where its bytes
/// are sent (the CDN path, or the registry when redirects are off), HEADs apart; <c>blobRedirects</c> counts 307s.
/// </summary>
public sealed record OciStats(
    [property: JsonPropertyName("manifestGets")] IReadOnlyDictionary<string, int> ManifestGets,
    [property: JsonPropertyName("manifestHeads")] IReadOnlyDictionary<string, int> ManifestHeads,
    [property: JsonPropertyName("blobGets")] IReadOnlyDictionary<string, int> BlobGets,
    [property: JsonPropertyName("blobHeads")] IReadOnlyDictionary<string, int> BlobHeads,
    [property: JsonPropertyName("blobRedirects")] IReadOnlyDictionary<string, int> BlobRedirects,
    [property: JsonPropertyName("tokenRequests")] int TokenRequests,
    [property: JsonPropertyName("credentialedTokenRequests")] int CredentialedTokenRequests,
    [property: JsonPropertyName("tokenScopes")] IReadOnlyDictionary<string, int> TokenScopes,
    [property: JsonPropertyName("unauthorized")] int Unauthorized,
    [property: JsonPropertyName("cdnRequestsWithAuthorization")] int CdnRequestsWithAuthorization,
    [property: JsonPropertyName("blobRedirect")] bool BlobRedirect,
    [property: JsonPropertyName("rateLimit")] int RateLimit,
    [property: JsonPropertyName("rateLimitRemaining")] int RateLimitRemaining,
    [property: JsonPropertyName("rateLimitEnforced")] bool RateLimitEnforced,
    [property: JsonPropertyName("tokenLifetimeSeconds")] int TokenLifetimeSeconds);
