using System.Text;

namespace Gatehouse.UpstreamSimulator.Catalog;

/// <summary>
/// A parsed core-metadata file (wheel METADATA or sdist PKG-INFO): RFC 822-style headers, multi-valued,
/// then an optional body that holds the description.
/// </summary>
public sealed class CoreMetadata
{
    private readonly List<KeyValuePair<string, string>> _headers;

    private CoreMetadata(List<KeyValuePair<string, string>> headers, string body)
    {
        _headers = headers;
        Body = body;
    }

    /// <summary>The description that follows the headers (may be empty).</summary>
    public string Body { get; }

    /// <summary>First value of a header, or null.</summary>
    public string? Get(string name) =>
        _headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>Every value of a repeatable header such as Requires-Dist or Classifier.</summary>
    public IReadOnlyList<string> GetAll(string name) =>
        _headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();

    public static CoreMetadata Parse(ReadOnlySpan<byte> utf8) => Parse(Encoding.UTF8.GetString(utf8));

    public static CoreMetadata Parse(string text)
    {
        var headers = new List<KeyValuePair<string, string>>();
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var i = 0;
        for (; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0)
            {
                i++;
                break;
            }

            if ((line[0] == ' ' || line[0] == '\t') && headers.Count > 0)
            {
                // Continuation line (folded header, e.g. a legacy multi-line Description).
                var last = headers[^1];
                headers[^1] = new(last.Key, last.Value + "\n" + line.TrimStart());
                continue;
            }

            var colon = line.IndexOf(':');
            if (colon > 0)
            {
                headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
            }
        }

        var body = i < lines.Length ? string.Join('\n', lines[i..]) : string.Empty;
        return new CoreMetadata(headers, body);
    }
}
