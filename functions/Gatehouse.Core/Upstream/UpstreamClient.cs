using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Upstream;

/// <summary>
/// The one way Gatehouse talks to an upstream. Every remote sends through it with its own <see cref="UpstreamProfile"/>:
/// only the profile's hosts are contacted (each redirect hop is checked again), its credential goes only to the hosts
/// the profile names, redirects are followed a bounded number of times, and every body is capped whether or not the
/// upstream declares its length. Failures are values (<see cref="UpstreamFailure"/>), never exceptions, so each remote
/// can answer its client with a clear 502.
/// </summary>
public sealed class UpstreamClient(IHttpClientFactory clients, ILogger<UpstreamClient> log)
{
    private const int MaxRedirects = 3;

    /// <summary>
    /// Sends <paramref name="request"/> and returns the final answer with its headers read and its body not yet read.
    /// The caller disposes it. A redirect to a host outside the profile, an unreachable upstream and a timeout are
    /// failures; any HTTP status is an answer.
    /// </summary>
    public async Task<UpstreamResponse> SendAsync(UpstreamProfile profile, UpstreamRequest request, CancellationToken cancellationToken)
    {
        var client = clients.CreateClient(profile.HttpClientName);
        var url = request.Url;
        var method = request.Method;
        for (var hop = 0; hop <= MaxRedirects; hop++)
        {
            if (!profile.IsAllowed(url))
            {
                log.LogWarning("Upstream {Upstream}: {Host} is not a configured host; not contacted", profile.Name, url.Authority);
                return UpstreamResponse.Failed(new UpstreamFailure(UpstreamFailureKind.NotAllowed, $"{profile.Name} pointed at {url.Authority}, which is not a configured upstream host"));
            }
            using var message = new HttpRequestMessage(method, url);
            message.Headers.TryAddWithoutValidation("Accept", request.Accept);
            if (request.AcceptEncoding is not null)
            {
                message.Headers.TryAddWithoutValidation("Accept-Encoding", request.AcceptEncoding);
            }
            foreach (var (name, value) in request.Headers ?? new Dictionary<string, string>())
            {
                message.Headers.TryAddWithoutValidation(name, value);
            }
            if (profile.SendsCredential(url) && (request.Authorization ?? (profile.Credential is { } token ? new AuthenticationHeaderValue("Bearer", token) : null)) is { } credential)
            {
                message.Headers.Authorization = credential;
            }
            if (request.Body is { } body)
            {
                message.Content = new ByteArrayContent(body);
                if (request.ContentType is not null)
                {
                    message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
                }
            }
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or IOException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                var timedOut = e is TaskCanceledException;
                log.LogWarning("Upstream {Upstream}: {Method} {Host} failed: {Error}", profile.Name, method, url.Authority, e.Message);
                return UpstreamResponse.Failed(new UpstreamFailure(timedOut ? UpstreamFailureKind.Timeout : UpstreamFailureKind.Unreachable,
                    timedOut ? $"{profile.Name} ({url.Authority}) did not answer in time" : $"{profile.Name} ({url.Authority}) could not be reached"));
            }
            var status = (int)response.StatusCode;
            // POST bodies are resent only on 307/308; a GET or HEAD follows any redirect.
            if (request.FollowRedirects && status is >= 300 and < 400 && response.Headers.Location is { } location
                && (method == HttpMethod.Get || method == HttpMethod.Head || status is 307 or 308))
            {
                url = location.IsAbsoluteUri ? location : new Uri(url, location);
                response.Dispose();
                continue;
            }
            return new UpstreamResponse(profile, response, request.MaxBodyBytes, url, null);
        }
        return UpstreamResponse.Failed(new UpstreamFailure(UpstreamFailureKind.Unreachable, $"{profile.Name} redirected more than {MaxRedirects} times"));
    }
}

/// <summary>What one remote may contact, and with which credential.</summary>
/// <param name="Name">How messages name the upstream ("the PyPI upstream").</param>
/// <param name="HttpClientName">The named <see cref="HttpClient"/> (timeouts, no automatic redirects or decompression).</param>
/// <param name="IsAllowed">Hosts that may be contacted at all: no open proxy.</param>
/// <param name="SendsCredential">Hosts that get <paramref name="Credential"/> (the Hub, never its CDN).</param>
/// <param name="Credential">Gatehouse's own upstream token, never a client's; null for none.</param>
public sealed record UpstreamProfile(string Name, string HttpClientName, Func<Uri, bool> IsAllowed, Func<Uri, bool> SendsCredential, string? Credential = null);

/// <summary>One request to an upstream.</summary>
/// <param name="MaxBodyBytes">The largest body accepted, declared or not; reading past it is a <see cref="UpstreamFailureKind.TooLarge"/> failure.</param>
/// <param name="Headers">Further request headers, such as the validators of a conditional GET (RFC 9110 §13.1).</param>
/// <param name="Authorization">
/// This request's own credential (a registry's bearer token for one scope), in place of the profile's; like it, sent only
/// to the hosts the profile's <see cref="UpstreamProfile.SendsCredential"/> names, never to a redirect elsewhere.
/// </param>
public sealed record UpstreamRequest(HttpMethod Method, Uri Url, string Accept, long MaxBodyBytes, string? AcceptEncoding = null, bool FollowRedirects = true,
    byte[]? Body = null, string? ContentType = null, IReadOnlyDictionary<string, string>? Headers = null, AuthenticationHeaderValue? Authorization = null)
{
    public static UpstreamRequest Get(Uri url, string accept, long maxBodyBytes, string? acceptEncoding = null, bool followRedirects = true) =>
        new(HttpMethod.Get, url, accept, maxBodyBytes, acceptEncoding, followRedirects);
}

/// <summary>Why an upstream gave no usable answer.</summary>
public enum UpstreamFailureKind
{
    Unreachable,
    Timeout,
    /// <summary>A redirect (or a configured URL) pointed outside the remote's hosts.</summary>
    NotAllowed,
    /// <summary>The body is larger than the cap for what it is.</summary>
    TooLarge,
    /// <summary>The body broke off or did not match its declared length.</summary>
    Broken,
}

/// <summary>An upstream failure and the sentence a client is told (never a stack trace).</summary>
public sealed record UpstreamFailure(UpstreamFailureKind Kind, string Message);

/// <summary>The body was larger than its cap: <see cref="UpstreamResponse.OpenBodyAsync"/> streams throw this past the cap.</summary>
public sealed class UpstreamBodyTooLargeException(long cap) : IOException($"the upstream body is larger than {cap} bytes, the limit for it")
{
    public long Cap { get; } = cap;
}
