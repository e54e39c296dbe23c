namespace Gatehouse.TestHelpers;

/// <summary>
/// Reads a header from either of an <see cref="HttpResponseMessage"/>'s two collections. HttpClient files some headers
/// (Content-Length, Content-Type, Content-Range, Last-Modified) under the content and the rest under the response, and a test
/// asserts on what the server sent, not on where HttpClient put it.
/// </summary>
public static class ResponseHeaders
{
    /// <summary>The header's values joined with ", ", or null when the response has no such header.</summary>
    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;

    /// <summary>
    /// The header's values joined with ", "; a missing header throws with the status code, so a test that needs the
    /// header fails saying which one was absent rather than comparing against null.
    /// </summary>
    public static string RequiredHeader(HttpResponseMessage response, string name) =>
        Header(response, name) ?? throw new InvalidOperationException($"No {name} header; status {(int)response.StatusCode}.");

    /// <summary>Whether the response or its content carries the header at all.</summary>
    public static bool HasHeader(HttpResponseMessage response, string name) =>
        response.Headers.Contains(name) || response.Content.Headers.Contains(name);
}
