using System.Net;

namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>Reads a project's page of Gatehouse's simple index in both formats, as pip would.</summary>
public static class SimpleIndexPages
{
    public const string Json = "application/vnd.pypi.simple.v1+json";
    public const string Html = "text/html";

    /// <summary>
    /// Polls both formats until <paramref name="fileName"/> is (or is not) on the project's page; false when that did
    /// not happen within <paramref name="timeout"/>. The index keeps its list of refused files for a few seconds.
    /// </summary>
    public static async Task<bool> ListedWithinAsync(HttpClient client, string project, string fileName, TimeSpan timeout, bool listed)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var json = await GetAsync(client, project, Json);
            var html = await GetAsync(client, project, Html);
            if (json.Contains(fileName, StringComparison.Ordinal) == listed && html.Contains(fileName, StringComparison.Ordinal) == listed)
            {
                return true;
            }
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(500);
        }
    }

    /// <summary>The project's page in the format <paramref name="accept"/> names; fails the test unless it is a 200.</summary>
    public static async Task<string> GetAsync(HttpClient client, string project, string accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"pypi/simple/{project}/");
        request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /pypi/simple/{project}/ ({accept}) answered {(int)response.StatusCode}: {body}");
        return body;
    }
}
