namespace Gatehouse.Http;

/// <summary>Reading an upstream response's headers, wherever .NET filed them (response or content headers).</summary>
public static class UpstreamHeaders
{
    /// <summary>The header's values joined with ", ", or null when the response does not carry it.</summary>
    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;
}
