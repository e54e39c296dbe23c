using System.Net;
using static Gatehouse.TestHelpers.ResponseHeaders;

namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>What the Hugging Face tests read from Gatehouse's answers, and how they wait out a scan as clients do.</summary>
internal static class HubResponses
{
    /// <summary>Sends, retrying while the scan is pending (503 + Retry-After, at most 30 times a second apart), as huggingface_hub's retries would.</summary>
    public static async Task<HttpResponseMessage> SendUntilDecidedAsync(HttpClient client, Func<HttpRequestMessage> request, ITestOutputHelper output)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var message = request();
            var response = await client.SendAsync(message);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt >= 30)
            {
                return response;
            }
            Assert.NotNull(response.Headers.RetryAfter);
            output.WriteLine($"pending: {Header(response, "X-Error-Message")}");
            response.Dispose();
            await Task.Delay(1000);
        }
    }
}
