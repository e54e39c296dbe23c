using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using static Gatehouse.EndToEnd.Tests.Infrastructure.HubResponses;
using static Gatehouse.TestHelpers.ResponseHeaders;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Gatehouse as a Hugging Face endpoint, part 2b: <c>resolve</c> downloads gated by the scan, with the headers
/// huggingface_hub reads (commit, etag, size and the error headers; its <c>file_download.py</c> and
/// <c>utils/_http.py</c>) and no trace of Xet.
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class HuggingFaceResolveTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private const string Model = "gatehouse-demo/tiny-model";
    private const string ModelMain = "0c936c75186a5d43d5400974defeadb6594996cb";
    private const string ConfigSha1 = "1110757d0d9efe327d5e5680a26161bc2212e510";
    private const string SafetensorsObject = "134fc449b2d1abc5d7d976418e7a823db2aae62c";
    private const string SafetensorsSha256 = "0fb8622c236d6f236cf45d8be357d6f4c4cb46bbcd0ba0bb363f68dd83718e31";

    private GatehouseStack Stack => shared.Stack;

    private static string Fixture(string objectName) => Path.Combine(TestEnvironment.RepoRoot, "tests", "fixtures", "hf", "objects", objectName);

    private static void AssertNoXet(HttpResponseMessage response)
    {
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            Assert.DoesNotContain("xet", header.Key, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(header.Value, v => v.Contains("xet", StringComparison.OrdinalIgnoreCase));
        }
        Assert.Null(Header(response, "Link"));
    }


    [Theory]
    [InlineData("config.json", ConfigSha1, false)]
    [InlineData("model.safetensors", SafetensorsObject, true)]
    public Task Head_then_get_serves_the_file_byte_identical_with_hub_headers(string path, string fixture, bool lfs) => Stack.RunAsync(output, async () =>
    {
        var expected = await File.ReadAllBytesAsync(Fixture(fixture));
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(expected));
        if (lfs)
        {
            Assert.Equal(SafetensorsSha256, sha256);
        }
        using var client = Stack.CreateHfClient();
        var url = $"hf/{Model}/resolve/main/{path}";
        using var head = await SendUntilDecidedAsync(client, () => new HttpRequestMessage(HttpMethod.Head, url), output);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(ModelMain, Header(head, "X-Repo-Commit"));
        Assert.Equal(expected.Length, head.Content.Headers.ContentLength);
        Assert.Equal("bytes", Header(head, "Accept-Ranges"));
        Assert.Equal($"\"{(lfs ? sha256 : ConfigSha1)}\"", head.Headers.ETag?.ToString());
        if (lfs)
        {
            Assert.Equal($"\"{sha256}\"", Header(head, "X-Linked-Etag"));
            Assert.Equal(expected.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(head, "X-Linked-Size"));
        }
        else
        {
            Assert.Null(Header(head, "X-Linked-Etag"));
        }
        AssertNoXet(head);

        using var get = await client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(expected, await get.Content.ReadAsByteArrayAsync());
        Assert.Equal(ModelMain, Header(get, "X-Repo-Commit"));
        Assert.Equal(head.Headers.ETag?.ToString(), get.Headers.ETag?.ToString());
        AssertNoXet(get);

        using var again = new HttpRequestMessage(HttpMethod.Get, $"hf/{Model}/resolve/{ModelMain}/{path}");
        again.Headers.IfNoneMatch.Add(head.Headers.ETag!);
        using var notModified = await client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
    });

    [Fact]
    public Task A_range_request_gets_206_with_the_slice() => Stack.RunAsync(output, async () =>
    {
        var expected = await File.ReadAllBytesAsync(Fixture(SafetensorsObject));
        using var client = Stack.CreateHfClient();
        var url = $"hf/{Model}/resolve/main/model.safetensors";
        (await SendUntilDecidedAsync(client, () => new HttpRequestMessage(HttpMethod.Head, url), output)).Dispose();
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new RangeHeaderValue(10, 49);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes 10-49/{expected.Length}", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(expected[10..50], await response.Content.ReadAsByteArrayAsync());
    });

    [Fact]
    public Task A_malicious_pickle_is_refused_as_gated_with_the_reason() => Stack.RunAsync(output, async () =>
    {
        using var client = Stack.CreateHfClient();
        var url = $"hf/{Model}/resolve/main/evil.bin";
        // A GET waits for the verdict of a cold file; a HEAD answers a cold file's metadata at once, and the refusal after.
        (await SendUntilDecidedAsync(client, () => new HttpRequestMessage(HttpMethod.Get, url), output)).Dispose();
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));
        Assert.Equal(HttpStatusCode.Forbidden, head.StatusCode);
        Assert.Equal("GatedRepo", Header(head, "X-Error-Code"));
        var message = Header(head, "X-Error-Message");
        output.WriteLine(message);
        Assert.Contains("pickle", message, StringComparison.OrdinalIgnoreCase);
        Assert.All(message!, c => Assert.InRange(c, ' ', '~'));
        using var get = await client.GetAsync(url);
        Assert.Equal(HttpStatusCode.Forbidden, get.StatusCode);
        Assert.Equal("GatedRepo", Header(get, "X-Error-Code"));
        var error = JsonDocument.Parse(await get.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        Assert.Contains("pickle", error, StringComparison.OrdinalIgnoreCase);
        AssertNoXet(get);
    });

    [Fact]
    public Task A_missing_file_is_entry_not_found_with_the_commit() => Stack.RunAsync(output, async () =>
    {
        using var client = Stack.CreateHfClient();
        foreach (var method in new[] { HttpMethod.Head, HttpMethod.Get })
        {
            using var response = await client.SendAsync(new HttpRequestMessage(method, $"hf/{Model}/resolve/main/no-such-file.bin"));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("EntryNotFound", Header(response, "X-Error-Code"));
            Assert.Equal(ModelMain, Header(response, "X-Repo-Commit"));
        }
    });

    [Fact]
    public Task The_client_token_never_reaches_the_upstream() => Stack.RunAsync(output, async () =>
    {
        using var client = Stack.CreateHfClient();
        using (var response = await SendUntilDecidedAsync(client, () => new HttpRequestMessage(HttpMethod.Get, $"hf/{Model}/resolve/main/config.json"), output))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using var sim = new HttpClient { BaseAddress = Stack.Simulator.BaseAddress };
        var log = await sim.GetStringAsync("_sim/hf/auth");
        output.WriteLine(log);
        Assert.Contains("resolve", log);
        Assert.DoesNotContain(Stack.Token, log);
    });
}
