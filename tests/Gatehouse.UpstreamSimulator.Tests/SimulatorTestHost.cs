using System.Net.Http.Headers;
using Gatehouse.TestHelpers;

namespace Gatehouse.UpstreamSimulator.Tests;

/// <summary>Starts a fresh simulator on the committed fixtures and an HttpClient that does not follow redirects.</summary>
internal static class SimulatorTestHost
{
    public const string PipAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

    public static string FixturesPath => Path.Combine(RepositoryPaths.Fixtures, "pypi");

    public static Task<RunningSimulator> StartAsync(string? dataPath = null) =>
        UpstreamSimulatorApp.StartAsync(new SimulatorOptions { FixturesPath = FixturesPath, DataPath = dataPath });

    public static HttpClient ClientFor(RunningSimulator simulator) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, AutomaticDecompression = System.Net.DecompressionMethods.None })
        {
            BaseAddress = simulator.BaseAddress,
        };

    public static async Task<HttpResponseMessage> GetWithAcceptAsync(HttpClient client, string path, string? accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        return await client.SendAsync(request);
    }

    public static MediaTypeHeaderValue? ContentType(HttpResponseMessage response) => response.Content.Headers.ContentType;
}
