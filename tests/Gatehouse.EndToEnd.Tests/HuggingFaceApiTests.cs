using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using static Gatehouse.TestHelpers.ResponseHeaders;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Gatehouse as a Hugging Face endpoint (<c>HF_ENDPOINT=http://host/hf</c>): the repository API relayed from
/// the simulated Hub with <c>xetHash</c> stripped, links rewritten, inputs validated before any upstream call, and the
/// client's token never forwarded. A <c>xetHash</c> left in would send huggingface_hub to Xet (<c>utils/_xet.py</c>),
/// and it pages the tree by <c>Link: rel="next"</c> (<c>utils/_pagination.py</c>).
/// </summary>
[Collection(SharedGatehouseCollection.Name)]
public sealed class HuggingFaceApiTests(SharedGatehouse shared, ITestOutputHelper output)
{
    private const string Model = "gatehouse-demo/tiny-model";
    private const string Dataset = "gatehouse-demo/tiny-dataset";
    private const string ModelMain = "0c936c75186a5d43d5400974defeadb6594996cb";
    private const string ModelPr1 = "6640036d36362567f516a5f7fc44bec8b42aebde";
    private const string DatasetMain = "cf98a9aebad00aa22ceed4383a690a7a5c5c5db0";
    private static readonly UriCreationOptions Verbatim = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private GatehouseStack Stack => shared.Stack;

    /// <summary>A client as huggingface_hub sends it: the entitlement token as <c>Authorization: Bearer</c>.</summary>
    private HttpClient HfClient(bool authenticated = true)
    {
        return authenticated ? Stack.CreateHfClient() : Stack.CreateClient(authenticated: false);
    }

    /// <summary>A Gatehouse URL sent exactly as written (no dot-segment or escape canonicalization).</summary>
    private Uri Raw(string relative) => new(Stack.BaseAddress.GetLeftPart(UriPartial.Authority) + "/" + relative, in Verbatim);

    private async Task<JsonElement> SimAsync(string path)
    {
        using var sim = new HttpClient { BaseAddress = Stack.Simulator.BaseAddress };
        return await sim.GetFromJsonAsync<JsonElement>(path);
    }

    private async Task SimPostAsync(string path)
    {
        using var sim = new HttpClient { BaseAddress = Stack.Simulator.BaseAddress };
        using var response = await sim.PostAsync(path, null);
        Assert.True(response.IsSuccessStatusCode, $"POST {path} answered {(int)response.StatusCode}");
    }

    private async Task<int> UpstreamApiCallsAsync() =>
        (await SimAsync("_sim/hf/stats")).GetProperty("apiCalls").EnumerateObject().Sum(p => p.Value.GetInt32());

    private static async Task<(HttpResponseMessage Response, string Body)> ReadAsync(Task<HttpResponseMessage> send)
    {
        var response = await send;
        return (response, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public Task Model_info_is_relayed_with_the_resolved_commit_and_no_xet_hash() => Stack.RunAsync(output, async () =>
    {
        using var client = HfClient();
        var (response, body) = await ReadAsync(client.GetAsync($"hf/api/models/{Model}?blobs=true&expand=sha"));
        using (response)
        {
            output.WriteLine(body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString());
            var doc = JsonDocument.Parse(body).RootElement;
            Assert.Equal(Model, doc.GetProperty("id").GetString());
            Assert.Equal(ModelMain, doc.GetProperty("sha").GetString());
            var siblings = doc.GetProperty("siblings").EnumerateArray().Select(s => s.GetProperty("rfilename").GetString()).ToList();
            Assert.Contains("config.json", siblings);
            Assert.Contains("model.safetensors", siblings);
            Assert.DoesNotContain("xetHash", body, StringComparison.Ordinal);
            Assert.DoesNotContain(Stack.Simulator.BaseAddress.Authority, body, StringComparison.Ordinal);
        }
    });

    [Theory]
    [InlineData("refs%2Fpr%2F1", ModelPr1)]
    [InlineData("refs/pr/1", ModelPr1)]
    [InlineData("v1.0", ModelMain)]
    [InlineData("main", ModelMain)]
    [InlineData(ModelMain, ModelMain)]
    public Task A_revision_is_resolved_upstream_whether_encoded_or_raw(string revision, string commit) => Stack.RunAsync(output, async () =>
    {
        using var client = HfClient();
        var (response, body) = await ReadAsync(client.GetAsync(Raw($"hf/api/models/{Model}/revision/{revision}")));
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(commit, JsonDocument.Parse(body).RootElement.GetProperty("sha").GetString());
        }
    });

    [Fact]
    public Task A_paginated_tree_gets_next_links_on_Gatehouse_and_every_entry_loses_its_xet_hash() => Stack.RunAsync(output, async () =>
    {
        await SimPostAsync("_sim/hf/page-size?n=2");
        try
        {
            using var client = HfClient();
            var paths = new List<string>();
            Uri? next = new(Stack.BaseAddress, $"hf/api/models/{Model}/tree/main?recursive=true&expand=false");
            var pages = 0;
            while (next is not null)
            {
                var (response, body) = await ReadAsync(client.GetAsync(next));
                using (response)
                {
                    output.WriteLine($"{next} → {(int)response.StatusCode} Link: {Header(response, "Link")}");
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    Assert.DoesNotContain("xetHash", body, StringComparison.Ordinal);
                    var entries = JsonDocument.Parse(body).RootElement.EnumerateArray().ToList();
                    Assert.InRange(entries.Count, 1, 2);
                    paths.AddRange(entries.Select(e => e.GetProperty("path").GetString()!));
                    var safetensors = entries.FirstOrDefault(e => e.GetProperty("path").GetString() == "model.safetensors");
                    if (safetensors.ValueKind != JsonValueKind.Undefined)
                    {
                        Assert.Equal(64, safetensors.GetProperty("lfs").GetProperty("oid").GetString()!.Length); // lfs kept
                    }
                    next = null;
                    if (Header(response, "Link") is { } link)
                    {
                        Assert.DoesNotContain("xet", link, StringComparison.OrdinalIgnoreCase);
                        Assert.EndsWith("; rel=\"next\"", link);
                        var target = link[(link.IndexOf('<') + 1)..link.IndexOf('>')];
                        Assert.StartsWith(new Uri(Stack.BaseAddress, $"hf/api/models/{Model}/tree/main?").AbsoluteUri, target);
                        Assert.Contains("recursive=true", target);
                        Assert.Contains("cursor=", target);
                        next = new Uri(target);
                    }
                }
                Assert.True(++pages < 10, "pagination ends");
            }
            Assert.Equal(3, pages);
            Assert.Equal(["README.md", "config.json", "evil.bin", "model.safetensors", "pytorch_model.bin"], paths);
        }
        finally
        {
            await SimPostAsync("_sim/hf/page-size?n=1000");
        }
    });

    [Fact]
    public Task Paths_info_is_forwarded_as_form_or_json_with_last_commit_and_no_xet_hash() => Stack.RunAsync(output, async () =>
    {
        using var client = HfClient();
        using var form = new FormUrlEncodedContent([new("paths", "config.json"), new("paths", "model.safetensors"), new("expand", "True")]);
        var (formResponse, formBody) = await ReadAsync(client.PostAsync(Raw($"hf/api/models/{Model}/paths-info/refs%2Fpr%2F1"), form));
        using (formResponse)
        {
            output.WriteLine(formBody);
            Assert.Equal(HttpStatusCode.OK, formResponse.StatusCode);
            var entries = JsonDocument.Parse(formBody).RootElement.EnumerateArray().ToList();
            Assert.Equal(["config.json", "model.safetensors"], entries.Select(e => e.GetProperty("path").GetString()));
            Assert.All(entries, e => Assert.True(e.TryGetProperty("lastCommit", out _)));
            Assert.Equal(ModelPr1, entries[0].GetProperty("lastCommit").GetProperty("id").GetString()); // config.json changed in PR 1
            Assert.DoesNotContain("xetHash", formBody, StringComparison.Ordinal);
        }

        using var json = new StringContent("""{"paths":["model.safetensors","missing.txt"],"expand":false}""", Encoding.UTF8, "application/json");
        var (jsonResponse, jsonBody) = await ReadAsync(client.PostAsync($"hf/api/models/{Model}/paths-info/main", json));
        using (jsonResponse)
        {
            output.WriteLine(jsonBody);
            Assert.Equal(HttpStatusCode.OK, jsonResponse.StatusCode);
            var entry = Assert.Single(JsonDocument.Parse(jsonBody).RootElement.EnumerateArray());
            Assert.Equal("model.safetensors", entry.GetProperty("path").GetString());
            Assert.False(entry.TryGetProperty("lastCommit", out _));
            Assert.True(entry.TryGetProperty("lfs", out _));
            Assert.DoesNotContain("xetHash", jsonBody, StringComparison.Ordinal);
        }
    });

    [Fact]
    public Task Datasets_are_served_for_info_tree_and_paths_info() => Stack.RunAsync(output, async () =>
    {
        using var client = HfClient();
        using (var info = await client.GetAsync($"hf/api/datasets/{Dataset}/revision/v1.0"))
        {
            Assert.Equal(HttpStatusCode.OK, info.StatusCode);
            Assert.Equal(DatasetMain, JsonDocument.Parse(await info.Content.ReadAsStringAsync()).RootElement.GetProperty("sha").GetString());
        }
        foreach (var folder in new[] { "data", "data%2F" })
        {
            using var tree = await client.GetAsync(Raw($"hf/api/datasets/{Dataset}/tree/main/{folder}"));
            var body = await tree.Content.ReadAsStringAsync();
            Assert.True(tree.StatusCode == HttpStatusCode.OK, $"{folder}: {(int)tree.StatusCode} {body}");
            Assert.Equal("data/train.csv", Assert.Single(JsonDocument.Parse(body).RootElement.EnumerateArray()).GetProperty("path").GetString());
        }
        using var form = new FormUrlEncodedContent([new("paths", "data/train.csv")]);
        using var paths = await client.PostAsync($"hf/api/datasets/{Dataset}/paths-info/main", form);
        Assert.Equal(HttpStatusCode.OK, paths.StatusCode);
        Assert.Single(JsonDocument.Parse(await paths.Content.ReadAsStringAsync()).RootElement.EnumerateArray());
    });

    [Fact]
    public Task Upstream_errors_keep_their_hub_error_codes() => Stack.RunAsync(output, async () =>
    {
        using var client = HfClient();
        async Task ExpectAsync(string path, string code, bool commit = false)
        {
            using var response = await client.GetAsync(Raw(path));
            var body = await response.Content.ReadAsStringAsync();
            output.WriteLine($"{path} → {(int)response.StatusCode} {Header(response, "X-Error-Code")} {body}");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal(code, Header(response, "X-Error-Code"));
            Assert.False(string.IsNullOrEmpty(Header(response, "X-Error-Message")));
            Assert.True(JsonDocument.Parse(body).RootElement.TryGetProperty("error", out _));
            if (commit)
            {
                Assert.Equal(ModelMain, Header(response, "X-Repo-Commit"));
            }
        }
        await ExpectAsync("hf/api/models/gatehouse-demo/no-such-model", "RepoNotFound");
        await ExpectAsync($"hf/api/models/{Model}/revision/no-such-branch", "RevisionNotFound");
        await ExpectAsync($"hf/api/models/{Model}/tree/main/no-such-folder", "EntryNotFound", commit: true);
    });

    [Fact]
    public Task Spaces_get_a_clear_404() => Stack.RunAsync(output, async () =>
    {
        using var client = HfClient();
        using var spaces = await client.GetAsync("hf/api/spaces/gatehouse-demo/some-space");
        Assert.Equal(HttpStatusCode.NotFound, spaces.StatusCode);
        Assert.Equal("RepoNotFound", Header(spaces, "X-Error-Code"));
        Assert.Equal("Spaces are not served by Gatehouse", JsonDocument.Parse(await spaces.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    });

    [Theory]
    [InlineData("GET", "hf/api/models/gatehouse-demo--x/tiny-model")]
    [InlineData("GET", "hf/api/models/gatehouse-demo/tiny..model")]
    [InlineData("GET", "hf/api/models/gatehouse-demo/tiny-model/revision/main..x")]
    [InlineData("GET", "hf/api/models/gatehouse-demo/tiny-model/revision/a%5Cb")]
    [InlineData("GET", "hf/api/models/gatehouse-demo/tiny-model/revision/ma%0Ain")]
    [InlineData("GET", "hf/api/models/gatehouse-demo/tiny-model/tree/main/%2e%2e/%2e%2e/etc")]
    [InlineData("GET", "hf/api/models/gatehouse-demo/tiny-model/tree/main/%252e%252e/x")]
    [InlineData("GET", "hf/api/models/gatehouse-demo/tiny-model/tree/main/%2Fetc%2Fpasswd")]
    [InlineData("GET", "hf/api/models/gatehouse-demo/tiny-model/tree/main/a%00b")]
    [InlineData("POST", "hf/api/models/gatehouse-demo/tiny-model/paths-info/main")]
    public Task Hostile_inputs_get_400_before_any_upstream_call(string method, string path) => Stack.RunAsync(output, async () =>
    {
        using var client = HfClient();
        var before = await UpstreamApiCallsAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), Raw(path));
        if (method == "POST")
        {
            request.Content = new FormUrlEncodedContent([new("paths", "config.json"), new("paths", "../../secret")]);
        }
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        output.WriteLine($"{method} {path} → {(int)response.StatusCode} {body}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        if (!path.Contains("%00", StringComparison.Ordinal)) // Kestrel itself refuses a NUL in the path, before Gatehouse sees it
        {
            Assert.Equal("BadRequest", Header(response, "X-Error-Code"));
            Assert.True(JsonDocument.Parse(body).RootElement.TryGetProperty("error", out _));
        }
        Assert.Equal(before, await UpstreamApiCallsAsync());
    });

    [Fact]
    public Task Without_an_entitlement_token_nothing_goes_upstream() => Stack.RunAsync(output, async () =>
    {
        using var client = HfClient(authenticated: false);
        var before = await UpstreamApiCallsAsync();
        using var response = await client.GetAsync($"hf/api/models/{Model}");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(before, await UpstreamApiCallsAsync());
    });

    [Fact]
    public Task The_clients_token_is_never_forwarded_upstream() => Stack.RunAsync(output, async () =>
    {
        using var client = HfClient();
        (await client.GetAsync($"hf/api/models/{Model}")).Dispose();
        (await client.GetAsync($"hf/api/models/{Model}/tree/main")).Dispose();
        using var form = new FormUrlEncodedContent([new("paths", "config.json")]);
        (await client.PostAsync($"hf/api/models/{Model}/paths-info/main", form)).Dispose();
        (await client.GetAsync("hf/api/models/gatehouse-demo/no-such-model")).Dispose();

        var log = await SimAsync("_sim/hf/auth");
        output.WriteLine(log.ToString());
        var entries = log.EnumerateObject().ToList();
        Assert.Contains(entries, e => e.Name == $"/api/models/{Model}/paths-info/main");
        // No upstream token is configured for the shared host, so nothing at all is sent.
        Assert.All(entries, e => Assert.Equal(JsonValueKind.Null, e.Value.ValueKind));
        Assert.DoesNotContain(Stack.Token, log.ToString(), StringComparison.Ordinal);
    });

    [Fact]
    public Task An_upstream_outage_is_reported_as_json_not_as_an_empty_repo() => Stack.RunAsync(output, async () =>
    {
        await Stack.Sim.DownAsync();
        try
        {
            using var client = HfClient();
            using var response = await client.GetAsync($"hf/api/models/{Model}");
            var body = await response.Content.ReadAsStringAsync();
            output.WriteLine($"{(int)response.StatusCode} {body}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("503", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
        }
        finally
        {
            await Stack.Sim.UpAsync();
        }
    });
}
