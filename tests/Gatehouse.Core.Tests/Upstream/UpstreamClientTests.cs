using System.Net;
using System.Text;
using Gatehouse.Core.Tests.HuggingFace;
using Gatehouse.Upstream;

namespace Gatehouse.Core.Tests.Upstream;

/// <summary>The one upstream handler: hosts, redirects, credentials and body caps, the same for every remote.</summary>
public sealed class UpstreamClientTests
{
    private static readonly Uri Hub = new("https://hub.example/api/models/a/b");
    private const string Cdn = "cdn.example";

    private static readonly UpstreamProfile Profile = new("the test upstream", "test",
        IsAllowed: u => u.Host is "hub.example" or Cdn, SendsCredential: u => u.Host == "hub.example", Credential: "upstream-secret");

    private static HttpResponseMessage Redirect(string location) => new(HttpStatusCode.Found) { Headers = { Location = new Uri(location, UriKind.RelativeOrAbsolute) } };

    /// <summary>A body of <paramref name="size"/> bytes that does not declare its length, as a chunked answer does.</summary>
    private static HttpResponseMessage Chunked(long size) => new(HttpStatusCode.OK) { Content = new StreamContent(new UnseekableFiller(size)) };

    [Fact]
    public async Task A_redirect_to_a_host_outside_the_profile_is_a_failure_and_that_host_is_not_contacted()
    {
        var hub = new RecordingHub(r => r.RequestUri!.Host == "hub.example" ? Redirect("https://evil.example/steal") : new HttpResponseMessage(HttpStatusCode.OK));

        using var response = await hub.Client.SendAsync(Profile, UpstreamRequest.Get(Hub, "*/*", 1024), CancellationToken.None);

        Assert.Equal(UpstreamFailureKind.NotAllowed, response.Failure?.Kind);
        Assert.Contains("evil.example", response.Failure!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(hub.Seen, s => s.Url.Host == "evil.example");
    }

    [Fact]
    public async Task The_credential_goes_to_the_hub_and_not_to_the_cdn_it_redirects_to()
    {
        var hub = new RecordingHub(r => r.RequestUri!.Host == "hub.example" ? Redirect($"https://{Cdn}/lfs/abc") : new HttpResponseMessage(HttpStatusCode.OK));

        using var response = await hub.Client.SendAsync(Profile, UpstreamRequest.Get(Hub, "*/*", 1024), CancellationToken.None);

        Assert.True(response.IsSuccess);
        Assert.Equal(new Uri($"https://{Cdn}/lfs/abc"), response.Url);
        Assert.Equal(["Bearer upstream-secret", null], hub.Seen.Select(s => s.Authorization));
    }

    [Fact]
    public async Task A_relative_redirect_stays_on_the_host_and_a_fourth_redirect_is_a_failure()
    {
        var hub = new RecordingHub(r => Redirect($"/hop{r.RequestUri!.AbsolutePath.Length}"));

        using var response = await hub.Client.SendAsync(Profile, UpstreamRequest.Get(Hub, "*/*", 1024), CancellationToken.None);

        Assert.Equal(4, hub.Seen.Count);
        Assert.All(hub.Seen, s => Assert.Equal("hub.example", s.Url.Host));
        Assert.Equal(UpstreamFailureKind.Unreachable, response.Failure?.Kind);
        Assert.Contains("redirected more than 3 times", response.Failure!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_redirect_not_to_be_followed_is_the_answer()
    {
        var hub = new RecordingHub(_ => Redirect($"https://{Cdn}/lfs/abc"));

        using var response = await hub.Client.SendAsync(Profile, UpstreamRequest.Get(Hub, "*/*", 1024, followRedirects: false), CancellationToken.None);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal($"https://{Cdn}/lfs/abc", response.Location?.ToString());
        Assert.Single(hub.Seen);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_body_over_its_cap_is_a_failure_naming_the_cap_whether_or_not_it_declares_its_length(bool declared)
    {
        const long cap = 1024 * 1024;
        var hub = new RecordingHub(_ =>
        {
            var answer = Chunked(cap * 300);
            if (declared)
            {
                answer.Content.Headers.ContentLength = cap * 300;
            }
            return answer;
        });

        using var response = await hub.Client.SendAsync(Profile, UpstreamRequest.Get(Hub, "*/*", cap), CancellationToken.None);
        var (body, failure) = await response.ReadBytesAsync(CancellationToken.None);

        Assert.Null(body);
        Assert.Equal(UpstreamFailureKind.TooLarge, failure?.Kind);
        Assert.Equal($"the test upstream sent more than {cap} bytes, the limit for this answer", failure!.Message);
    }

    [Fact]
    public async Task A_json_body_over_its_cap_fails_before_it_is_parsed_and_one_within_it_is_read()
    {
        var hub = new RecordingHub(r => r.RequestUri!.AbsolutePath.EndsWith("/big", StringComparison.Ordinal)
            ? Chunked(10_000)
            : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"id\":\"a/b\"}", Encoding.UTF8, "application/json") });

        using var big = await hub.Client.SendAsync(Profile, UpstreamRequest.Get(new Uri(Hub, "big"), "application/json", 4096), CancellationToken.None);
        using var small = await hub.Client.SendAsync(Profile, UpstreamRequest.Get(Hub, "application/json", 4096), CancellationToken.None);

        Assert.Equal(UpstreamFailureKind.TooLarge, (await big.ReadJsonAsync(CancellationToken.None)).Failure?.Kind);
        var (json, failure) = await small.ReadJsonAsync(CancellationToken.None);
        Assert.Null(failure);
        Assert.Equal("a/b", json?["id"]?.GetValue<string>());
    }

    [Fact]
    public async Task An_upstream_that_cannot_be_reached_is_a_failure_not_an_exception()
    {
        var hub = new RecordingHub(_ => throw new HttpRequestException("Connection refused"));

        using var response = await hub.Client.SendAsync(Profile, UpstreamRequest.Get(Hub, "*/*", 1024), CancellationToken.None);

        Assert.Equal(UpstreamFailureKind.Unreachable, response.Failure?.Kind);
        Assert.Equal("the test upstream (hub.example) could not be reached", response.Failure!.Message);
    }

    [Fact]
    public async Task A_body_that_breaks_off_is_a_failure_that_says_so()
    {
        var hub = new RecordingHub(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new UnseekableFiller(100_000, breakAfter: 50_000)) });

        using var response = await hub.Client.SendAsync(Profile, UpstreamRequest.Get(Hub, "*/*", 1024 * 1024), CancellationToken.None);
        var (body, failure) = await response.ReadBytesAsync(CancellationToken.None);

        Assert.Null(body);
        Assert.Equal(UpstreamFailureKind.Broken, failure?.Kind);
        Assert.StartsWith("the test upstream broke off its answer", failure!.Message, StringComparison.Ordinal);
    }

    /// <summary>Zero bytes, <paramref name="size"/> of them, without a length; with <paramref name="breakAfter"/>, an IOException there.</summary>
    private sealed class UnseekableFiller(long size, long breakAfter = long.MaxValue) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= breakAfter)
            {
                throw new IOException("The response ended prematurely.");
            }
            var n = (int)Math.Min(count, Math.Min(size, breakAfter) - _position);
            Array.Clear(buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
