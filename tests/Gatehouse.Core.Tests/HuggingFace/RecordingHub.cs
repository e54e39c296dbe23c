using Gatehouse.Upstream;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Core.Tests.HuggingFace;

/// <summary>A scripted upstream Hub for <c>HuggingFaceUpstream</c>: answers every request with <paramref name="answer"/> and records it.</summary>
internal sealed class RecordingHub(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler, IHttpClientFactory
{
    public List<(Uri Url, string? Authorization)> Seen { get; } = [];

    /// <summary>The path and query of every request, in order.</summary>
    public IEnumerable<string> Paths => Seen.Select(s => s.Url.PathAndQuery);

    public HttpClient CreateClient(string name) => new(this, disposeHandler: false);

    /// <summary>Gatehouse's upstream client sending through this hub.</summary>
    public UpstreamClient Client => new(this, NullLogger<UpstreamClient>.Instance);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Seen.Add((request.RequestUri!, request.Headers.Authorization?.ToString()));
        return Task.FromResult(answer(request));
    }
}
