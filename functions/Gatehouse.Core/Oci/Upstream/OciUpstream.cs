using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Configuration;
using Gatehouse.Oci.Auth;
using Gatehouse.Upstream;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Oci.Upstream;

/// <summary>
/// The configured registries, through <see cref="UpstreamClient"/>. A registry that answers 401 with a Bearer challenge
/// gets its token flow (Docker registry token spec, token.md): a token from the challenge's realm, which must be on the
/// registry's host or one of its <see cref="OciRegistryOptions.AuthHosts"/>, anonymously or with the registry's own
/// user and password (never a client's token), kept per registry and scope until shortly before it expires, and the
/// request is sent once more. Blob downloads follow the registry's redirect to its <see cref="OciRegistryOptions.BlobHosts"/>
/// without the registry's token (their URLs are pre-signed). Rate-limit headers are logged as fields; a 429 is a failure
/// that says so.
/// </summary>
public sealed partial class OciUpstream
{
    public const string HttpClientName = "gatehouse-oci";

    /// <summary>A token answer is a few kilobytes.</summary>
    public const long MaxTokenAnswerBytes = 1024 * 1024;

    /// <summary>A tags page: Docker Hub lists every tag of a repository when no <c>n</c> is given.</summary>
    public const long MaxTagsBytes = 16L * 1024 * 1024;

    private readonly UpstreamClient _client;
    private readonly IMemoryCache _tokens;
    private readonly ILogger<OciUpstream> _log;
    private readonly OciOptions _options;
    private readonly Dictionary<string, Registry> _registries;

    public OciUpstream(UpstreamClient client, IMemoryCache tokens, IOptions<GatehouseOptions> options, ILogger<OciUpstream> log)
    {
        _client = client;
        _tokens = tokens;
        _log = log;
        _options = options.Value.Oci;
        if (_options.Effective.GroupBy(r => r.Prefix, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new InvalidOperationException($"Gatehouse:Oci:Registries has {twice.Count()} registries with the prefix '{twice.Key}'; each prefix names one registry");
        }
        if (_options.Effective.FirstOrDefault(r => !Uri.TryCreate(r.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)) is { } bad)
        {
            throw new InvalidOperationException($"Gatehouse:Oci:Registries: the registry with the prefix '{bad.Prefix}' has the Url '{bad.Url}', which is not an absolute http(s) URL");
        }
        _registries = _options.Effective.ToDictionary(r => r.Prefix, r => new Registry(r, Credential(r, log)), StringComparer.OrdinalIgnoreCase);
    }


    /// <summary>GET of a blob, following the registry's redirect to its CDN; at most <paramref name="expectedSize"/> bytes (see <c>ContentFetcher.BodyCap</c>). The caller disposes.</summary>
    public Task<UpstreamResponse> OpenBlobAsync(OciRepository repository, string digest, long expectedSize, CancellationToken cancellationToken) =>
        OciRepository.IsDigest(digest)
            ? SendAsync(repository, HttpMethod.Get, BlobUrl(repository, digest), "*/*", Pipeline.ContentFetcher.BodyCap(expectedSize), cancellationToken)
            : Task.FromResult(UpstreamResponse.Failed(new UpstreamFailure(UpstreamFailureKind.NotAllowed, $"'{digest}' is not a digest")));

    /// <summary>A page of the repository's tags and the <c>last</c> of the next page, from the <c>Link</c> header (null when none).</summary>
    public async Task<OciTagsFetch> GetTagsAsync(OciRepository repository, int? n, string? last, CancellationToken cancellationToken)
    {
        if (n is <= 0 || (last is not null && !OciRepository.IsTag(last)))
        {
            return new OciTagsFetch(0, [], null, "n must be positive and last a tag");
        }
        var query = new List<string>();
        if (n is { } count)
        {
            query.Add("n=" + count.ToString(CultureInfo.InvariantCulture));
        }
        if (last is not null)
        {
            query.Add("last=" + last);
        }
        var url = new Uri($"{Base(repository)}/tags/list{(query.Count == 0 ? "" : "?" + string.Join('&', query))}");
        using var response = await SendAsync(repository, HttpMethod.Get, url, "application/json", MaxTagsBytes, cancellationToken);
        if (Unusable(repository, "tags", response) is { } problem)
        {
            return new OciTagsFetch(problem.Status, [], null, problem.Failure, problem.RetryAfter);
        }
        var (json, failure) = await response.ReadJsonAsync(cancellationToken);
        if (json?["tags"] is not JsonArray and not null || failure is not null)
        {
            return new OciTagsFetch(0, [], null, failure?.Message ?? $"{Name(repository)} sent a tags list without a tags array");
        }
        var tags = json?["tags"] is JsonArray array ? array.Select(Text).OfType<string>().Where(t => t.Length > 0).ToList() : [];
        return new OciTagsFetch(200, tags, NextLast(response.Header("Link")), null);
    }

    /// <summary>The URL a blob of this repository is fetched from (recorded in references).</summary>
    public static Uri BlobUrl(OciRepository repository, string digest) => new($"{Base(repository)}/blobs/{digest}");

    /// <summary>The URL a manifest of this repository is fetched from (recorded in references).</summary>
    public static Uri ManifestUrl(OciRepository repository, string digest) => new($"{Base(repository)}/manifests/{digest}");

    /// <summary>
    /// The repository and digest of a URL made by <see cref="BlobUrl"/> or <see cref="ManifestUrl"/>, and which of the two
    /// it is (a repository's own path may hold <c>manifests</c> or <c>blobs</c>: the last such segment decides); null for
    /// any other URL.
    /// </summary>
    public (OciRepository Repository, string Digest, bool IsManifest)? FromUrl(Uri url)
    {
        foreach (var registry in _options.Effective)
        {
            var prefix = new Uri(registry.Url.TrimEnd('/') + "/v2/").AbsoluteUri;
            var text = url.AbsoluteUri;
            if (!text.StartsWith(prefix, StringComparison.Ordinal) || url.Query.Length > 0)
            {
                continue;
            }
            var rest = text[prefix.Length..];
            var manifestAt = rest.LastIndexOf("/manifests/", StringComparison.Ordinal);
            var cut = Math.Max(rest.LastIndexOf("/blobs/", StringComparison.Ordinal), manifestAt);
            if (cut <= 0)
            {
                return null;
            }
            var upstreamName = rest[..cut];
            var digest = rest[(rest.IndexOf('/', cut + 1) + 1)..];
            var name = registry.Prefix.Length == 0 ? upstreamName : registry.Prefix + "/" + upstreamName;
            return OciRepository.IsDigest(digest) && OciRepository.Resolve(name, _options, out _) is { } repository
                && repository.Registry.Prefix == registry.Prefix && repository.UpstreamName == upstreamName
                ? (repository, digest, cut == manifestAt)
                : null;
        }
        return null;
    }

    /// <summary>GET of a manifest or index by tag or digest, asking for every manifest type Gatehouse reads.</summary>
    public async Task<OciManifestFetch> GetManifestAsync(OciRepository repository, string reference, CancellationToken cancellationToken)
    {
        if (!OciRepository.IsTag(reference) && !OciRepository.IsDigest(reference))
        {
            return new OciManifestFetch(0, null, null, null, $"'{reference}' is neither a tag nor a digest");
        }
        var cap = _options.MaxManifestBytes;
        using var response = await SendAsync(repository, HttpMethod.Get, new Uri($"{Base(repository)}/manifests/{reference}"), string.Join(", ", OciMediaTypes.Manifests), cap, cancellationToken);
        if (Unusable(repository, $"manifest {reference}", response) is { } problem)
        {
            return new OciManifestFetch(problem.Status, null, null, null, problem.Failure, problem.RetryAfter);
        }
        var oversized = $"The manifest {repository.UpstreamName}:{reference} from {Name(repository)} is oversized: larger than {cap} bytes, the limit for a manifest";
        if (response.ContentLength > cap)
        {
            return new OciManifestFetch(0, null, null, null, oversized);
        }
        var (body, failure) = await response.ReadBytesAsync(cancellationToken);
        if (failure is not null)
        {
            return new OciManifestFetch(0, null, null, null, failure.Kind == UpstreamFailureKind.TooLarge ? oversized : failure.Message);
        }
        return new OciManifestFetch(200, body, response.MediaType, response.Header("Docker-Content-Digest"), null);
    }

    /// <summary>
    /// Why an answer cannot be used: a failure, 404 (Status 404, no failure), 429 with its Retry-After, or another status.
    /// Null for a 200.
    /// </summary>
    private static (int Status, string? Failure, TimeSpan? RetryAfter)? Unusable(OciRepository repository, string what, UpstreamResponse response)
    {
        if (response.Failure is { } failure)
        {
            return (0, failure.Message, null);
        }
        return response.Status switch
        {
            200 => null,
            404 => (404, null, null),
            429 => (0, $"{Name(repository)} is rate limiting Gatehouse (429 Too Many Requests) for the {what} of {repository.UpstreamName}" +
                (RetryAfter(response) is { } wait ? $"; retry after {wait.TotalSeconds:0} seconds" : ""), RetryAfter(response)),
            401 or 403 => (0, $"{Name(repository)} refused Gatehouse's credentials for the {what} of {repository.UpstreamName} ({response.Status})", null),
            _ => (0, $"{Name(repository)} answered {response.Status} for the {what} of {repository.UpstreamName}", null),
        };
    }

    /// <summary>Sends with the cached token for the repository's pull scope; on a 401, runs the registry's token flow and sends once more.</summary>
    private async Task<UpstreamResponse> SendAsync(OciRepository repository, HttpMethod method, Uri url, string accept, long cap, CancellationToken cancellationToken)
    {
        var registry = _registries[repository.Registry.Prefix];
        var scope = OciAccess.PullScope(repository.UpstreamName);
        var key = (typeof(OciUpstream), registry.Options.Prefix, scope);
        _tokens.TryGetValue(key, out AuthenticationHeaderValue? credential);
        for (var attempt = 1; ; attempt++)
        {
            var response = await _client.SendAsync(registry.Profile, new UpstreamRequest(method, url, accept, cap, Authorization: credential), cancellationToken);
            LogRateLimit(response, repository);
            if (response.Status != 401 || attempt == 2)
            {
                return response;
            }
            var challenge = response.Header("WWW-Authenticate");
            response.Dispose();
            var (token, lifetime, failure) = await AuthenticateAsync(registry, challenge, scope, cancellationToken);
            if (failure is not null)
            {
                return UpstreamResponse.Failed(failure);
            }
            credential = token;
            _tokens.Set(key, credential, lifetime);
        }
    }

    /// <summary>Answers a registry's challenge: a Bearer token from its realm, or Basic with the registry's own credential.</summary>
    private async Task<(AuthenticationHeaderValue? Token, TimeSpan Lifetime, UpstreamFailure? Failure)> AuthenticateAsync(
        Registry registry, string? challenge, string scope, CancellationToken cancellationToken)
    {
        var parsed = Challenge.Parse(challenge);
        if (parsed?.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) == true && registry.Basic is { } basic)
        {
            return (basic, TimeSpan.FromHours(1), null);
        }
        if (parsed is not { } bearer || !bearer.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)
            || !bearer.Parameters.TryGetValue("realm", out var realmText) || !Uri.TryCreate(realmText, UriKind.Absolute, out var realm))
        {
            return (null, default, new UpstreamFailure(UpstreamFailureKind.Broken, $"{registry.Name} asked for credentials Gatehouse cannot give ({challenge ?? "no challenge"})"));
        }
        var query = new List<string>();
        if (bearer.Parameters.TryGetValue("service", out var service))
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }
        query.Add("scope=" + Uri.EscapeDataString(bearer.Parameters.GetValueOrDefault("scope") ?? scope));
        var tokenUrl = new Uri(realm.AbsoluteUri + (realm.Query.Length > 0 ? "&" : "?") + string.Join('&', query));
        using var response = await _client.SendAsync(registry.Auth, new UpstreamRequest(HttpMethod.Get, tokenUrl, "application/json", MaxTokenAnswerBytes, Authorization: registry.Basic), cancellationToken);
        if (response.Failure is { } failure)
        {
            return (null, default, failure);
        }
        if (!response.IsSuccess)
        {
            return (null, default, new UpstreamFailure(UpstreamFailureKind.Unreachable,
                $"{registry.Name}'s token endpoint ({realm.Authority}) answered {response.Status}{(registry.Basic is null ? " to an anonymous request" : "")}"));
        }
        var (json, problem) = await response.ReadJsonAsync(cancellationToken);
        var token = Text(json?["token"]) is { Length: > 0 } t ? t : Text(json?["access_token"]);
        if (problem is not null || string.IsNullOrEmpty(token))
        {
            return (null, default, problem ?? new UpstreamFailure(UpstreamFailureKind.Broken, $"{registry.Name}'s token endpoint sent no token"));
        }
        // The spec's default is 60 seconds; a token is dropped a while before it ends, so no request carries a dying one.
        var seconds = json?["expires_in"] is JsonValue v && v.TryGetValue(out int given) && given > 0 ? given : 60;
        var lifetime = TimeSpan.FromSeconds(Math.Max(seconds - 30, seconds / 2.0));
        LogTokenFetched(registry.Name, scope, registry.Basic is null ? "anonymous" : "credentialed", (int)lifetime.TotalSeconds);
        return (new AuthenticationHeaderValue("Bearer", token), lifetime, null);
    }

    private void LogRateLimit(UpstreamResponse response, OciRepository repository)
    {
        var limit = response.Header("RateLimit-Limit");
        var remaining = response.Header("RateLimit-Remaining");
        if (limit is not null || remaining is not null)
        {
            LogRateLimitHeaders(Name(repository), repository.UpstreamName, response.Status, limit, remaining, response.Header("docker-ratelimit-source"));
        }
        if (response.Status == 429)
        {
            LogRateLimited(Name(repository), repository.UpstreamName, response.Header("Retry-After"));
        }
    }

    private static TimeSpan? RetryAfter(UpstreamResponse response) => response.Header("Retry-After") is { } text
        ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds)
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at - DateTimeOffset.UtcNow : null
        : null;

    /// <summary>The <c>last</c> of a <c>Link: &lt;…?n=2&amp;last=b&gt;; rel="next"</c> header (distribution spec, listing tags).</summary>
    internal static string? NextLast(string? link)
    {
        if (link is null || !link.Contains("rel=\"next\"", StringComparison.Ordinal))
        {
            return null;
        }
        var open = link.IndexOf('<', StringComparison.Ordinal);
        var close = open < 0 ? -1 : link.IndexOf('>', open);
        if (close < 0)
        {
            return null;
        }
        var target = link[(open + 1)..close];
        var question = target.IndexOf('?', StringComparison.Ordinal);
        return question < 0 ? null : QueryHelpers.ParseQuery(target[question..]).TryGetValue("last", out var last) ? last.ToString() : null;
    }

    /// <summary>A JSON string's value; null for anything else.</summary>
    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue(out string? text) ? text : null;

    private static string Base(OciRepository repository) => $"{repository.Registry.Url.TrimEnd('/')}/v2/{repository.UpstreamName}";

    private static string Name(OciRepository repository) => Registry.NameOf(repository.Registry);

    /// <summary>The registry's own user and password as Basic, or null (anonymous); an unresolved Key Vault reference is no password.</summary>
    private static AuthenticationHeaderValue? Credential(OciRegistryOptions registry, ILogger log)
    {
        if (string.IsNullOrEmpty(registry.Username) || string.IsNullOrEmpty(registry.Password))
        {
            return null;
        }
        if (registry.Password.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase))
        {
            log.LogError("The password of registry {Registry} is an unresolved Key Vault reference; pulling from it anonymously until the secret resolves", Registry.NameOf(registry));
            return null;
        }
        return new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{registry.Username}:{registry.Password}")));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Upstream {Registry} answered {Status} for {Repository}: rate limit {RateLimitLimit}, remaining {RateLimitRemaining} (source {RateLimitSource})")]
    private partial void LogRateLimitHeaders(string registry, string repository, int status, string? rateLimitLimit, string? rateLimitRemaining, string? rateLimitSource);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream {Registry} is rate limiting pulls of {Repository} (429); Retry-After {RetryAfter}")]
    private partial void LogRateLimited(string registry, string repository, string? retryAfter);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fetched a token from {Registry} for {Scope} ({Access}), kept {Seconds} s")]
    private partial void LogTokenFetched(string registry, string scope, string access, int seconds);

    /// <summary>One registry: what may be contacted for it, and with which credential.</summary>
    private sealed class Registry
    {
        private readonly Uri _url;
        private readonly string[] _blobHosts;
        private readonly string[] _authHosts;

        public Registry(OciRegistryOptions options, AuthenticationHeaderValue? basic)
        {
            Options = options;
            Basic = basic;
            _url = new Uri(options.Url.TrimEnd('/') + "/");
            _blobHosts = Hosts(options.BlobHosts);
            _authHosts = Hosts(options.AuthHosts);
            Name = NameOf(options);
            // Registry requests carry the scope's token; blob hosts get nothing (pre-signed URLs).
            Profile = new UpstreamProfile(Name, HttpClientName, u => IsRegistry(u) || IsListed(u, _blobHosts), IsRegistry);
            // The token endpoint gets the registry's own Basic credential, and only when it is on the registry or an auth host.
            Auth = new UpstreamProfile(Name + "'s token endpoint", HttpClientName, u => IsRegistry(u) || IsListed(u, _authHosts), u => IsRegistry(u) || IsListed(u, _authHosts));
        }

        public OciRegistryOptions Options { get; }

        public AuthenticationHeaderValue? Basic { get; }

        public string Name { get; }

        public UpstreamProfile Profile { get; }

        public UpstreamProfile Auth { get; }

        public static string NameOf(OciRegistryOptions options) =>
            $"the registry {(Uri.TryCreate(options.Url, UriKind.Absolute, out var url) ? url.Authority : options.Url)}";

        private static string[] Hosts(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        private bool IsRegistry(Uri url) => url.Scheme == _url.Scheme && string.Equals(url.Authority, _url.Authority, StringComparison.OrdinalIgnoreCase);

        /// <summary>A configured host reached over HTTPS (or the registry's own scheme); <c>*.example.org</c> matches its subdomains.</summary>
        private bool IsListed(Uri url, string[] hosts) =>
            (url.Scheme == Uri.UriSchemeHttps || url.Scheme == _url.Scheme)
            && hosts.Any(h => h.StartsWith("*.", StringComparison.Ordinal)
                ? url.Host.EndsWith(h[1..], StringComparison.OrdinalIgnoreCase)
                : string.Equals(url.Authority, h, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A <c>WWW-Authenticate</c> challenge: its scheme and its <c>key="value"</c> parameters (RFC 9110 section 11.6.1).</summary>
    private sealed record Challenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
    {
        public static Challenge? Parse(string? header)
        {
            if (string.IsNullOrWhiteSpace(header))
            {
                return null;
            }
            var text = header.Trim();
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (space < 0)
            {
                return new Challenge(text, parameters);
            }
            var i = space + 1;
            while (i < text.Length)
            {
                while (i < text.Length && text[i] is ' ' or ',')
                {
                    i++;
                }
                var equals = text.IndexOf('=', i);
                if (equals < 0)
                {
                    break;
                }
                var name = text[i..equals].Trim();
                i = equals + 1;
                var value = new StringBuilder();
                if (i < text.Length && text[i] == '"')
                {
                    for (i++; i < text.Length && text[i] != '"'; i++)
                    {
                        value.Append(text[i] == '\\' && i + 1 < text.Length ? text[++i] : text[i]);
                    }
                    i++;
                }
                else
                {
                    for (; i < text.Length && text[i] != ','; i++)
                    {
                        value.Append(text[i]);
                    }
                }
                parameters[name] = value.ToString().Trim();
            }
            return new Challenge(text[..space], parameters);
        }
    }
}

/// <summary>A manifest from upstream: Status 200 with Body (null for HEAD), 404 when it does not exist, 0 with Failure for anything else.</summary>
public sealed record OciManifestFetch(int Status, byte[]? Body, string? MediaType, string? DigestHeader, string? Failure, TimeSpan? RetryAfter = null);

/// <summary>A page of tags: Status 200 with Tags and the next page's <c>last</c>, 404, or 0 with Failure.</summary>
public sealed record OciTagsFetch(int Status, IReadOnlyList<string> Tags, string? NextLast, string? Failure, TimeSpan? RetryAfter = null);
