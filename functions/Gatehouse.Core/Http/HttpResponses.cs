using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gatehouse.Http;

/// <summary>
/// Every error response, built in one place. pip prints only the HTTP/1.1 reason phrase of a failed download, so the
/// reason goes there (ASCII, one line) and into the body.
/// </summary>
public static class HttpResponses
{
    private const int MaxReasonPhrase = 300;

    public static Task WriteErrorAsync(HttpContext context, int status, string reason, string? detail = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        var phrase = ReasonPhrase(reason);
        if (context.Features.Get<IHttpResponseFeature>() is { } feature)
        {
            feature.ReasonPhrase = phrase;
        }
        response.Headers.CacheControl = "no-store";
        response.ContentType = "text/plain; charset=utf-8";
        var body = detail is null ? reason + "\n" : reason + "\n" + detail + "\n";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            response.ContentLength = Encoding.UTF8.GetByteCount(body);
            return Task.CompletedTask;
        }
        return response.WriteAsync(body, context.RequestAborted);
    }

    public static Task RetryLaterAsync(HttpContext context, int retryAfterSeconds, string reason)
    {
        context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, reason);
    }

    /// <summary>
    /// A policy's warnings on a file that is served: each as <c>Warning: 299 gatehouse "…"</c> (RFC 7234 §5.5,
    /// 299 is a miscellaneous persistent warning) and as <c>X-Gatehouse-Warning</c>, for clients and proxies that drop
    /// the obsolete <c>Warning</c> header.
    /// </summary>
    public static void AddWarnings(HttpContext context, IReadOnlyList<string> warnings)
    {
        foreach (var warning in warnings)
        {
            var text = ReasonPhrase(warning).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
            context.Response.Headers.Append("Warning", $"299 gatehouse \"{text}\"");
            context.Response.Headers.Append("X-Gatehouse-Warning", ReasonPhrase(warning));
        }
    }

    public static void Redirect(HttpContext context, string location, int status = StatusCodes.Status301MovedPermanently)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.Location = location;
    }

    /// <summary>A reason phrase is one line of visible ASCII (RFC 9112 reason-phrase).</summary>
    internal static string ReasonPhrase(string reason)
    {
        // A cut is marked with "...", so a reader (and a test) can tell a shortened reason from a whole one.
        var cut = reason.Length > MaxReasonPhrase;
        var limit = cut ? MaxReasonPhrase - 3 : MaxReasonPhrase;
        var sb = new StringBuilder(Math.Min(reason.Length, MaxReasonPhrase));
        foreach (var c in reason)
        {
            if (sb.Length >= limit)
            {
                break;
            }
            sb.Append(c switch
            {
                '→' => '>',
                '…' => '.',
                '×' => 'x',
                _ when c is >= ' ' and <= '~' => c,
                _ => ' ',
            });
        }
        return cut ? sb.ToString().TrimEnd() + "..." : sb.ToString().Trim();
    }
}
