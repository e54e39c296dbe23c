using System.Net;
using System.Net.Http.Headers;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Serving an allowed file the way pip's resume (<c>Range: bytes=N-</c> with <c>If-Range</c>, pip ≥ 25.1) and uv's
/// range reader (a HEAD with <c>Content-Length</c>, uv's <c>crates/uv-client/src/registry_client.rs</c>) need it.
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class RangeAndHeadTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private const string Project = "gh-dep";
    private const string Filename = "gh_dep-1.0.0-py3-none-any.whl";
    private const string Sha256 = "883a6787e8583314dd6da89e5f78e965bd5b04aae84aca12b46fb0cdde810626";

    private GatehouseStack Stack => shared.Stack;

    [Fact]
    public Task An_allowed_file_answers_HEAD_with_length_ranges_and_a_strong_ETag_serves_byte_ranges_and_ignores_a_stale_If_Range() => Stack.RunAsync(output, async () =>
    {
        var expected = await File.ReadAllBytesAsync(Path.Combine(TestEnvironment.PyPIFixtures, Filename));
        var url = GatehouseStack.FileUrl(Project, Sha256, Filename);
        using var client = Stack.CreateClient();

        // First GET: cold or warm, the answer is the whole, allowed file.
        using (var full = await client.GetAsync(url))
        {
            Assert.True(full.StatusCode == HttpStatusCode.OK, $"GET {url} answered {(int)full.StatusCode} {full.ReasonPhrase}");
            Assert.Equal(expected, await full.Content.ReadAsByteArrayAsync());
        }

        EntityTagHeaderValue etag;
        using (var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url)))
        {
            output.WriteLine($"HEAD: {(int)head.StatusCode} {head.Headers} {head.Content.Headers}");
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(expected.Length, head.Content.Headers.ContentLength);
            Assert.Contains("bytes", head.Headers.AcceptRanges);
            etag = head.Headers.ETag ?? throw new Xunit.Sdk.XunitException("HEAD has no ETag");
            Assert.False(etag.IsWeak, $"the ETag {etag} is weak; resuming downloads need a strong one");
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }

        using (var range = new HttpRequestMessage(HttpMethod.Get, url))
        {
            range.Headers.Range = new RangeHeaderValue(10, 19);
            using var partial = await client.SendAsync(range);
            Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
            Assert.Equal($"bytes 10-19/{expected.Length}", partial.Content.Headers.ContentRange?.ToString());
            Assert.Equal(10, partial.Content.Headers.ContentLength);
            Assert.Equal(expected[10..20], await partial.Content.ReadAsByteArrayAsync());
        }

        using (var matching = new HttpRequestMessage(HttpMethod.Get, url))
        {
            matching.Headers.Range = new RangeHeaderValue(10, 19);
            matching.Headers.IfRange = new RangeConditionHeaderValue(etag);
            using var partial = await client.SendAsync(matching);
            Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
            Assert.Equal(expected[10..20], await partial.Content.ReadAsByteArrayAsync());
        }

        using (var stale = new HttpRequestMessage(HttpMethod.Get, url))
        {
            stale.Headers.Range = new RangeHeaderValue(10, 19);
            stale.Headers.IfRange = new RangeConditionHeaderValue(new EntityTagHeaderValue("\"0000000000000000000000000000000000000000000000000000000000000000\""));
            using var whole = await client.SendAsync(stale);
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
            Assert.Null(whole.Content.Headers.ContentRange);
            Assert.Equal(expected, await whole.Content.ReadAsByteArrayAsync());
        }
    });
}
