using System.Text;
using System.Text.Json.Nodes;

namespace Gatehouse.HuggingFace;

/// <summary>
/// Makes upstream Hub answers safe to hand to clients: no <c>xetHash</c> anywhere (so clients never switch to Xet and
/// fetch from the CAS host named in the Xet token, past Gatehouse; huggingface_hub <c>utils/_xet.py</c>), absolute
/// upstream URLs pointing at Gatehouse instead, and only the <c>rel="next"</c> pagination link kept.
/// </summary>
public static class HfRewriter
{
    public const string XetHashProperty = "xetHash";

    /// <summary>Rewrites <paramref name="node"/> in place: removes every <c>xetHash</c> and rewrites upstream URLs.</summary>
    /// <param name="upstreamBase">The upstream endpoint without a trailing slash, e.g. <c>https://huggingface.co</c>.</param>
    /// <param name="origin">Gatehouse's HF root without a trailing slash, e.g. <c>https://gatehouse.example/hf</c>.</param>
    public static JsonNode? Rewrite(JsonNode? node, string upstreamBase, string origin)
    {
        switch (node)
        {
            case JsonObject obj:
                obj.Remove(XetHashProperty);
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    var child = obj[key];
                    var rewritten = Rewrite(child, upstreamBase, origin);
                    if (!ReferenceEquals(child, rewritten))
                    {
                        obj[key] = rewritten;
                    }
                }
                return obj;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var child = array[i];
                    var rewritten = Rewrite(child, upstreamBase, origin);
                    if (!ReferenceEquals(child, rewritten))
                    {
                        array[i] = rewritten;
                    }
                }
                return array;
            case JsonValue value when value.TryGetValue<string>(out var text) && RewriteUrl(text, upstreamBase, origin) is { } url && url != text:
                return JsonValue.Create(url);
            default:
                return node;
        }
    }

    /// <summary>The URL on Gatehouse's origin when <paramref name="url"/> is on the upstream (or origin-relative); else unchanged.</summary>
    public static string RewriteUrl(string url, string upstreamBase, string origin)
    {
        if (url.Equals(upstreamBase, StringComparison.OrdinalIgnoreCase))
        {
            return origin;
        }
        if (url.Length > upstreamBase.Length && url.StartsWith(upstreamBase, StringComparison.OrdinalIgnoreCase)
            && url[upstreamBase.Length] is '/' or '?')
        {
            return origin + url[upstreamBase.Length..];
        }
        return url;
    }

    /// <summary>
    /// Keeps only the <c>rel="next"</c> entries of an upstream <c>Link</c> header, rewritten to Gatehouse's origin with
    /// their query; drops every other relation (<c>xet-auth</c>, <c>xet-reconstruction-info</c>, …) and any link to
    /// another host. Null when nothing is left.
    /// </summary>
    public static string? RewriteLinkHeader(string? header, string upstreamBase, string origin)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }
        var kept = new List<string>();
        foreach (var (target, parameters) in ParseLinks(header))
        {
            if (!IsNext(parameters))
            {
                continue;
            }
            string rewritten;
            if (target.StartsWith('/') && !target.StartsWith("//", StringComparison.Ordinal))
            {
                rewritten = origin + target;
            }
            else
            {
                rewritten = RewriteUrl(target, upstreamBase, origin);
                if (ReferenceEquals(rewritten, target) || rewritten == target)
                {
                    continue; // another host: never hand it out
                }
            }
            kept.Add($"<{rewritten}>; rel=\"next\"");
        }
        return kept.Count == 0 ? null : string.Join(", ", kept);
    }

    private static bool IsNext(string parameters)
    {
        foreach (var part in parameters.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            if (eq < 0 || !part[..eq].Trim().Equals("rel", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            var value = part[(eq + 1)..].Trim().Trim('"');
            return value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Any(r => r.Equals("next", StringComparison.OrdinalIgnoreCase));
        }
        return false;
    }

    /// <summary>Splits <c>&lt;a&gt;; rel="x", &lt;b&gt;; rel="y"</c> into (target, parameters), honouring quotes.</summary>
    internal static IEnumerable<(string Target, string Parameters)> ParseLinks(string header)
    {
        var i = 0;
        while (i < header.Length)
        {
            var open = header.IndexOf('<', i);
            if (open < 0)
            {
                yield break;
            }
            var close = header.IndexOf('>', open + 1);
            if (close < 0)
            {
                yield break;
            }
            var target = header[(open + 1)..close].Trim();
            var parameters = new StringBuilder();
            var quoted = false;
            i = close + 1;
            for (; i < header.Length; i++)
            {
                var c = header[i];
                if (c == '"')
                {
                    quoted = !quoted;
                }
                else if (c == ',' && !quoted)
                {
                    i++;
                    break;
                }
                parameters.Append(c);
            }
            yield return (target, parameters.ToString());
        }
    }
}
