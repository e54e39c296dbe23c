using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Gatehouse.Core.Tests.HuggingFace;
using Gatehouse.HuggingFace;
using Gatehouse.Pipeline;
using Gatehouse.Upstream;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Pipeline;

/// <summary>
/// The fetch-and-stage half of the pipeline with fakes: what is held is not fetched again, only bytes that match their
/// promise are staged, a mismatch is audited as a refusal, and every upstream failure ends as a value with its reason.
/// </summary>
public sealed class ContentFetcherTests
{
    private static readonly byte[] Body = [.. Enumerable.Range(0, 10_000).Select(i => (byte)(i * 7))];
    private static readonly string BodySha = Convert.ToHexStringLower(SHA256.HashData(Body));

    private readonly FakeTimeProvider _time = new();
    private readonly FakeStaging _staging = new();
    private readonly FakeAudit _audit = new();

    private (ContentFetcher Fetcher, RecordingHub Hub) With(Func<HttpRequestMessage, HttpResponseMessage> upstream)
    {
        var hub = new RecordingHub(upstream);
        var fetcher = new ContentFetcher(_staging, new RemoteRegistry([new HubRemote(hub)]), _audit, _time, NullLogger<ContentFetcher>.Instance);
        return (fetcher, hub);
    }

    private static ArtifactReference Reference(string sha256 = "", long size = 0) =>
        ContentUnderTest.Hf("model.bin", size) with { Sha256 = sha256.Length > 0 ? sha256 : BodySha, UpstreamUrl = "https://hub.example/lfs/model.bin" };

    [Fact]
    public async Task A_body_that_matches_its_digest_is_staged_and_the_fetch_time_comes_from_the_clock()
    {
        var (fetcher, hub) = With(_ =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(250));
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Body) };
        });

        var outcome = await fetcher.FetchAsync(Reference(size: Body.Length), CancellationToken.None);

        Assert.True(outcome.Staged);
        Assert.Null(outcome.Problem);
        Assert.Equal(250, outcome.FetchMs);
        Assert.Equal(Body, _staging.Staged[BodySha]);
        Assert.Single(hub.Seen);
        Assert.Empty(_audit.Rows);
    }

    [Fact]
    public async Task Content_already_held_is_not_fetched_again()
    {
        _staging.Staged[BodySha] = Body;
        var (fetcher, hub) = With(_ => throw new InvalidOperationException("no fetch expected"));

        var outcome = await fetcher.FetchAsync(Reference(), CancellationToken.None);

        Assert.Equal(FetchOutcome.Present(), outcome);
        Assert.Empty(hub.Seen);
    }

    [Theory]
    [InlineData("other bytes")]
    [InlineData("longer than promised")]
    public async Task Bytes_that_are_not_what_was_promised_are_not_staged_and_the_refusal_is_audited(string how)
    {
        var reference = how == "other bytes" ? Reference(sha256: new string('a', 64)) : Reference(size: Body.Length - 1);
        var (fetcher, _) = With(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Body) });

        var outcome = await fetcher.FetchAsync(reference, CancellationToken.None);

        Assert.False(outcome.Staged);
        Assert.Equal(FetchProblem.DigestMismatch, outcome.Problem);
        Assert.Equal("Upstream content of model.bin does not match the digest it was promised with", outcome.Message);
        Assert.Empty(_staging.Staged);
        var (action, subject, detail) = Assert.Single(_audit.Rows);
        Assert.Equal("refuse", action);
        Assert.Contains("model.bin", subject, StringComparison.Ordinal);
        Assert.StartsWith(ContentFetcher.DigestMismatchRule + ":", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("status", "Upstream hub.example answered 404 for model.bin")]
    [InlineData("unreachable", "the test hub (hub.example) could not be reached for model.bin")]
    [InlineData("broken", "the test hub broke off its answer (The response ended prematurely.) for model.bin")]
    public async Task An_upstream_failure_is_an_outcome_with_its_reason_and_nothing_is_staged(string failure, string message)
    {
        var (fetcher, _) = With(_ => failure switch
        {
            "status" => new HttpResponseMessage(HttpStatusCode.NotFound),
            "unreachable" => throw new HttpRequestException("Connection refused"),
            _ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new BreakingStream(Body[..4000])) },
        });

        var outcome = await fetcher.FetchAsync(Reference(size: Body.Length), CancellationToken.None);

        Assert.Equal(FetchOutcome.Failed(FetchProblem.Upstream, message), outcome);
        Assert.Empty(_staging.Staged);
        Assert.Empty(_audit.Rows);
    }

    [Fact]
    public async Task Bytes_already_in_memory_are_staged_under_the_same_rules()
    {
        var (fetcher, hub) = With(_ => throw new InvalidOperationException("no fetch expected"));

        var staged = await fetcher.StageAsync(Reference(), Body, CancellationToken.None);
        var refused = await fetcher.StageAsync(Reference(sha256: new string('b', 64)), Body, CancellationToken.None);

        Assert.True(staged.Staged);
        Assert.Equal(FetchProblem.DigestMismatch, refused.Problem);
        Assert.Equal([BodySha], _staging.Staged.Keys);
        Assert.Empty(hub.Seen);
    }

    /// <summary>A Hub-like remote that opens files through the recording hub.</summary>
    private sealed class HubRemote(RecordingHub hub) : IRemote
    {
        private static readonly UpstreamProfile Profile = new("the test hub", "test", _ => true, _ => false);

        public RemoteKind Kind => HuggingFaceRemote.Hf;

        public Task<UpstreamResponse> OpenAsync(Uri upstreamUrl, long expectedSize, CancellationToken cancellationToken) =>
            hub.Client.SendAsync(Profile, UpstreamRequest.Get(upstreamUrl, "*/*", ContentFetcher.BodyCap(expectedSize)), cancellationToken);

        public ArtifactContext ContextOf(ArtifactReference reference) => HuggingFaceRemote.Context(reference);

        public Task<ReferenceFacts> GatherAsync(ArtifactReference reference, FactScope scope, CancellationToken cancellationToken) => Task.FromResult(ReferenceFacts.None);
    }

    /// <summary>Staging in memory, verifying as the real one does: the sha256 and, when promised, the size.</summary>
    private sealed class FakeStaging : IContentStaging
    {
        public ConcurrentDictionary<string, byte[]> Staged { get; } = new();

        public Task<bool> HoldsAsync(string sha256, CancellationToken cancellationToken) => Task.FromResult(Staged.ContainsKey(sha256));

        public async Task<StagingOutcome> WriteVerifiedAsync(Stream body, string sha256, long? expectedSize, CancellationToken cancellationToken, Action? verified = null)
        {
            using var buffer = new MemoryStream();
            await body.CopyToAsync(buffer, cancellationToken);
            var bytes = buffer.ToArray();
            if (expectedSize is { } size && bytes.Length != size)
            {
                return StagingOutcome.Mismatch($"{bytes.Length} bytes, {size} promised");
            }
            if (Convert.ToHexStringLower(SHA256.HashData(bytes)) != sha256)
            {
                return StagingOutcome.Mismatch("sha256 differs");
            }
            verified?.Invoke();
            Staged[sha256] = bytes;
            return StagingOutcome.Verified(bytes.Length);
        }
    }

    /// <summary>Some bytes, then the IOException a connection that drops mid-body gives.</summary>
    private sealed class BreakingStream(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) =>
            Position < Length ? base.Read(buffer, offset, count) : throw new IOException("The response ended prematurely.");

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Position < Length ? base.ReadAsync(buffer, cancellationToken) : throw new IOException("The response ended prematurely.");
    }
}
