using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace Gatehouse.HuggingFace;

/// <summary>
/// How a huggingface_hub download can be kept waiting for a cold file's scan without timing out. Every request it
/// sends has a 10 s read timeout (<c>HF_HUB_DOWNLOAD_TIMEOUT</c>), but its HTTP library follows redirects, each with a
/// fresh timeout: requests (huggingface_hub 0.x) follows 30 (<c>requests.models.DEFAULT_REDIRECT_LIMIT</c>), httpx
/// (1.x) 20 (<c>httpx._config.DEFAULT_MAX_REDIRECTS</c>). So a GET waits one slice shorter than the timeout, then
/// answers <c>307</c> back to the same URL with the hop count in the query, until the redirects run out. After that,
/// 1.x's <c>http_get</c> retries a <c>429</c> five times after <c>Retry-After</c> + 1 s (<c>retry_on_status_codes=(408,
/// 429)</c>), each retry a fresh chain of redirects; 0.x retries nothing, so it gets the <c>503</c> every other client gets.
/// The client is known by the <c>hf_hub/&lt;version&gt;</c> that both versions put in their User-Agent
/// (<c>utils/_headers.py</c>, <c>_http_user_agent</c>), also when transformers or another library calls them.
/// </summary>
/// <param name="MaxRedirects">Redirects the client follows on one GET before it gives up.</param>
/// <param name="FinalStatus">The answer once they are spent: 429 where the client retries it, else 503.</param>
/// <param name="RetryAfterSeconds">The <c>Retry-After</c> of that answer where the client comes back by itself; null: the configured one.</param>
public sealed partial record HubClientWait(int MaxRedirects, int FinalStatus, int? RetryAfterSeconds)
{
    /// <summary>The query parameter that counts the redirects of one chain.</summary>
    public const string HopParameter = "gatehouse-wait";

    private static readonly HubClientWait Requests = new(30, StatusCodes.Status503ServiceUnavailable, null);

    // The retry is itself a chain of waits, so it may start at once: the client sleeps Retry-After + 1 s.
    private static readonly HubClientWait Httpx = new(20, StatusCodes.Status429TooManyRequests, 1);

    /// <summary>The wait for a huggingface_hub User-Agent; null for any other client, which cannot be assumed to follow redirects.</summary>
    public static HubClientWait? For(string? userAgent)
    {
        var match = userAgent is null ? null : HubVersion().Match(userAgent);
        if (match is not { Success: true })
        {
            return null;
        }
        return int.Parse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture) == 0 ? Requests : Httpx;
    }

    /// <summary>Redirects of this chain so far, from <see cref="HopParameter"/>; 0 when absent or not a small number.</summary>
    public static int Hop(IQueryCollection query) =>
        int.TryParse(query[HopParameter], NumberStyles.None, CultureInfo.InvariantCulture, out var hop) && hop <= 1000 ? hop : 0;

    /// <summary>
    /// The path-absolute URL of this very request with the hop count set to <paramref name="hop"/>, other query
    /// parameters kept; the raw path is reused so encoded revisions (<c>refs%2Fpr%2F1</c>) come back unchanged.
    /// </summary>
    public static string Self(HttpContext context, string rawPath, int hop)
    {
        var query = QueryHelpers.ParseQuery(context.Request.QueryString.Value);
        query[HopParameter] = new StringValues(hop.ToString(CultureInfo.InvariantCulture));
        return QueryHelpers.AddQueryString(rawPath, query);
    }

    [GeneratedRegex(@"(?:^|[;\s])hf_hub/(\d{1,4})\.", RegexOptions.CultureInvariant)]
    private static partial Regex HubVersion();
}
