using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Scanning;
using Gatehouse.UpstreamSimulator.HuggingFace;
using Gatehouse.TestHelpers;
using static Gatehouse.UpstreamSimulator.Tests.HuggingFace.HfTestHost;
using static Gatehouse.TestHelpers.ResponseHeaders;

namespace Gatehouse.UpstreamSimulator.Tests.HuggingFace;

public class HfSyntheticTests
{
    private static readonly object[] MixedFiles =
    [
        new { path = "model.safetensors", size = 3_000_000, kind = "safetensors", seed = 1 },
        new { path = "weights/part-1.pkl", size = 1_500_000, kind = "pickle", seed = 2 },
        new { path = "data/blob.dat", size = 200_000, kind = "random", seed = 3 },
        new { path = "config.json", size = 700, kind = "text", seed = 4 },
        new { path = "tiny.safetensors", size = 400, kind = "safetensors", seed = 5 },
    ];

    [Fact]
    public async Task Every_route_serves_the_synthetic_files_with_hashes_that_match_their_bytes()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var registered = await RegisterAsync(client, new { repo = "bench/mixed", type = "model", files = MixedFiles });
        var commit = registered.GetProperty("commit").GetString()!;
        Assert.Matches("^[0-9a-f]{40}$", commit);

        var info = await JsonAsync(await client.GetAsync("api/models/bench/mixed?blobs=true"));
        Assert.Equal(commit, info.GetProperty("sha").GetString());
        var siblings = info.GetProperty("siblings").EnumerateArray().ToDictionary(s => s.GetProperty("rfilename").GetString()!);
        var tree = (await JsonAsync(await client.GetAsync("api/models/bench/mixed/tree/main?recursive=true")))
            .EnumerateArray().Where(e => e.GetProperty("type").GetString() == "file").ToDictionary(e => e.GetProperty("path").GetString()!);
        Assert.Equal(5, tree.Count);

        foreach (var file in registered.GetProperty("files").EnumerateArray())
        {
            var path = file.GetProperty("path").GetString()!;
            var size = file.GetProperty("size").GetInt64();
            var sha256 = file.GetProperty("sha256").GetString()!;
            Assert.Equal(size, tree[path].GetProperty("size").GetInt64());
            Assert.Equal(file.GetProperty("oid").GetString(), tree[path].GetProperty("oid").GetString());
            Assert.Equal(file.GetProperty("oid").GetString(), siblings[path].GetProperty("blobId").GetString());
            using var head = await SendAsync(client, HttpMethod.Head, $"bench/mixed/resolve/main/{path}");
            Assert.Equal(commit, RequiredHeader(head, "X-Repo-Commit"));
            byte[] bytes;
            if (file.GetProperty("lfs").GetBoolean())
            {
                Assert.Equal(sha256, tree[path].GetProperty("lfs").GetProperty("oid").GetString());
                Assert.Equal(HttpStatusCode.Found, head.StatusCode);
                Assert.Equal($"\"{sha256}\"", RequiredHeader(head, "X-Linked-Etag"));
                Assert.Equal(size.ToString(System.Globalization.CultureInfo.InvariantCulture), RequiredHeader(head, "X-Linked-Size"));
                Assert.Equal($"/cdn/lfs/{sha256}", head.Headers.Location!.OriginalString);
                bytes = await client.GetByteArrayAsync($"cdn/lfs/{sha256}");
                var pointer = $"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n";
                Assert.Equal(GitBlob.Sha1(Encoding.ASCII.GetBytes(pointer)), file.GetProperty("oid").GetString());
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, head.StatusCode);
                Assert.False(tree[path].TryGetProperty("lfs", out _));
                Assert.Equal($"\"{file.GetProperty("gitSha1").GetString()}\"", RequiredHeader(head, "ETag"));
                bytes = await client.GetByteArrayAsync($"bench/mixed/resolve/main/{path}");
                Assert.Equal(file.GetProperty("gitSha1").GetString(), GitBlob.Sha1(bytes));
            }

            Assert.Equal(size, bytes.LongLength);
            Assert.Equal(sha256, Sha256(bytes));
        }

        using var pathsInfo = await client.PostAsJsonAsync("api/models/bench/mixed/paths-info/main", new { paths = new[] { "config.json", "model.safetensors" } });
        Assert.Equal(2, (await JsonAsync(pathsInfo)).GetArrayLength());
    }

    [Fact]
    public async Task Content_is_a_function_of_kind_size_and_seed()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var a = await RegisterAsync(client, new { repo = "bench/a", files = new[] { new { path = "w.pkl", size = 100_000, kind = "pickle", seed = 7 } } });
        var b = await RegisterAsync(client, new { repo = "bench/b", type = "dataset", files = new[] { new { path = "x/w.pkl", size = 100_000, kind = "pickle", seed = 7 } } });
        var c = await RegisterAsync(client, new { repo = "bench/c", files = new[] { new { path = "w.pkl", size = 100_000, kind = "pickle", seed = 8 } } });

        static string Sha(JsonElement r) => r.GetProperty("files")[0].GetProperty("sha256").GetString()!;
        Assert.Equal(Sha(a), Sha(b));
        Assert.NotEqual(Sha(a), Sha(c));
        Assert.Equal(Sha(b), Sha256(await client.GetByteArrayAsync($"cdn/lfs/{Sha(b)}")));
        using var dataset = await SendAsync(client, HttpMethod.Head, "datasets/bench/b/resolve/main/x/w.pkl");
        Assert.Equal(HttpStatusCode.Found, dataset.StatusCode);
    }

    [Theory]
    [InlineData("safetensors")]
    [InlineData("pickle")]
    [InlineData("random")]
    [InlineData("text")]
    public async Task Ranges_return_the_same_bytes_as_the_whole_file(string kind)
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        const int size = 300_000;
        var registered = await RegisterAsync(client, new { repo = "bench/ranges", files = new[] { new { path = "f.bin", size, kind, seed = 11 } } });
        var url = $"cdn/lfs/{registered.GetProperty("files")[0].GetProperty("sha256").GetString()}";
        var whole = await client.GetByteArrayAsync(url);

        foreach (var (from, to) in new (long, long?)[] { (0, 99), (65_530, 65_545), (150_000, 250_000), (size - 10, null) })
        {
            using var part = await SendAsync(client, HttpMethod.Get, url, r => r.Headers.Range = new RangeHeaderValue(from, to));
            Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
            Assert.Equal(whole[(int)from..(int)((to ?? size - 1) + 1)], await part.Content.ReadAsByteArrayAsync());
        }

        using var past = await SendAsync(client, HttpMethod.Get, url, r => r.Headers.Range = new RangeHeaderValue(size, null));
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, past.StatusCode);
    }

    [Theory]
    [InlineData("safetensors", 3_000_000)]
    [InlineData("pickle", 3_000_000)]
    [InlineData("pickle", 14)]
    [InlineData("random", 1_000_003)]
    [InlineData("text", 100_001)]
    [InlineData("exec-pickle", 300_000)]
    public void Reads_at_any_offset_in_any_order_agree_with_one_sequential_read(string kind, long size)
    {
        var content = HfSyntheticContent.Create(kind, size, seed: 3);
        var whole = new byte[size];
        using (var sequential = content.Open())
        {
            sequential.ReadExactly(whole);
            Assert.Equal(0, sequential.Read(new byte[1]));
        }

        using var stream = content.Open();
        var random = new Random(5);
        for (var i = 0; i < 30; i++)
        {
            var at = random.NextInt64(size);
            var buffer = new byte[(int)Math.Min(size - at, random.Next(1, 70_000))];
            stream.Position = at;
            stream.ReadExactly(buffer);
            Assert.Equal(whole.AsSpan((int)at, buffer.Length).ToArray(), buffer);
        }
    }

    [Fact]
    public void A_pickle_past_the_item_cap_ends_with_one_zero_filled_bytes_value()
    {
        Assert.Equal((byte)'C', PicklePlan.For(1_000)!.PadHeader[0]); // SHORT_BINBYTES
        Assert.Equal((byte)'B', PicklePlan.For(100_000_000)!.PadHeader[0]); // BINBYTES
        var plan = PicklePlan.For(5_000_000_000)!;
        Assert.Equal(0x8E, plan.PadHeader[0]); // BINBYTES8
        Assert.Equal(PicklePlan.MaxItems, plan.Items);

        using var stream = HfSyntheticContent.Create("pickle", 5_000_000_000, seed: 1).Open();
        var tail = new byte[100];
        stream.Position = 5_000_000_000 - tail.Length;
        stream.ReadExactly(tail);
        Assert.All(tail[..^2], b => Assert.Equal(0, b));
        Assert.Equal("s."u8.ToArray(), tail[^2..]);
    }

    [Fact]
    public void Generators_stream_without_holding_the_file()
    {
        foreach (var kind in HfSyntheticContent.Kinds.Where(k => k != HfSyntheticContent.Bytes))
        {
            using var stream = HfSyntheticContent.Create(kind, 64L * 1024 * 1024, seed: 1).Open();
            var buffer = new byte[64 * 1024];
            stream.ReadExactly(buffer); // first use: per-thread scratch and lazy state
            var before = GC.GetAllocatedBytesForCurrentThread();
            while (stream.Read(buffer) > 0)
            {
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 1024 * 1024, $"{kind}: {allocated:N0} bytes allocated reading 64 MiB");
        }
    }

    [Fact]
    public async Task Gatehouse_scanner_judges_the_safetensors_and_the_pickle_safe()
    {
        foreach (var (kind, name) in new[] { ("safetensors", "model.safetensors"), ("pickle", "weights.pkl") })
        {
            await using var stream = HfSyntheticContent.Create(kind, 2_000_000, seed: 9).Open();
            var report = await new ModelScanner().ScanAsync(stream, name, CancellationToken.None);
            Assert.Equal(kind, report.Format);
            Assert.Equal(ScanLevel.Safe, report.Verdict);
            Assert.Empty(report.Findings);
        }
    }

    [Fact]
    public async Task Gatehouse_scanner_judges_the_exec_pickle_dangerous_whatever_its_size()
    {
        foreach (var size in new[] { HfSyntheticContent.MinSize("exec-pickle"), 1_000_000 })
        {
            await using var stream = HfSyntheticContent.Create("exec-pickle", size, seed: 4).Open();
            var report = await new ModelScanner().ScanAsync(stream, "evil.bin", CancellationToken.None);
            Assert.Equal("pickle", report.Format);
            Assert.Equal(ScanLevel.Dangerous, report.Verdict);
            Assert.Contains(report.Findings, f => f.Rule == "pickle.dangerous-call" && f.Message.Contains("builtins.exec", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void The_exec_pickle_of_each_seed_is_its_own_content()
    {
        static byte[] Bytes(ulong seed)
        {
            using var stream = HfSyntheticContent.Create("exec-pickle", 1_000, seed).Open();
            var bytes = new byte[1_000];
            stream.ReadExactly(bytes);
            return bytes;
        }

        Assert.NotEqual(Sha256(Bytes(1)), Sha256(Bytes(2)));
        Assert.Equal(Sha256(Bytes(1)), Sha256(Bytes(1)));
        Assert.Equal([0x80, 2, (byte)'c'], Bytes(1)[..3]); // PROTO 2, GLOBAL
        Assert.Equal([0x85, (byte)'R', (byte)'.'], Bytes(1)[^3..]); // TUPLE1, REDUCE, STOP
    }

    [Fact]
    public async Task A_bytes_file_serves_exactly_its_bytes_and_equal_bytes_are_one_content()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var wheel = "PK\u0003\u0004 not really a wheel"u8.ToArray();
        var registered = await RegisterAsync(client, new
        {
            repo = "bench/bytes",
            files = new object[]
            {
                new { path = "a/demo-1.0-py3-none-any.whl", kind = "bytes", content = Convert.ToBase64String(wheel) },
                new { path = "b/copy.whl", kind = "bytes", content = Convert.ToBase64String(wheel) },
            },
        });
        var files = registered.GetProperty("files");
        Assert.Equal(Sha256(wheel), files[0].GetProperty("sha256").GetString());
        Assert.Equal(files[0].GetProperty("sha256").GetString(), files[1].GetProperty("sha256").GetString());
        Assert.Equal(wheel, await client.GetByteArrayAsync("bench/bytes/resolve/main/b/copy.whl"));

        using var bad = await client.PostAsync("_sim/hf/synthetic", new StringContent("""{"repo":"bench/x","files":[{"path":"a","kind":"bytes","content":"%%"}]}""",
            Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task A_paced_file_arrives_no_faster_than_its_bytes_per_second_and_unchanged()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var registered = await RegisterAsync(client, new
        {
            repo = "bench/paced",
            files = new object[]
            {
                new { path = "model.safetensors", size = 200_000, kind = "safetensors", seed = 1, bytesPerSecond = 100_000 },
                new { path = "fast.safetensors", size = 200_000, kind = "safetensors", seed = 2 },
            },
        });
        var files = registered.GetProperty("files");
        Assert.Equal(100_000, files[0].GetProperty("bytesPerSecond").GetInt64());
        Assert.Equal(JsonValueKind.Null, files[1].GetProperty("bytesPerSecond").ValueKind);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var bytes = await client.GetByteArrayAsync($"cdn/lfs/{files[0].GetProperty("sha256").GetString()}");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.8), $"200,000 bytes at 100,000 B/s came in {clock.Elapsed.TotalSeconds:F2} s");
        Assert.Equal(files[0].GetProperty("sha256").GetString(), Sha256(bytes));
    }

    [Fact]
    public void Safetensors_header_describes_one_tensor_that_ends_the_file()
    {
        using var stream = HfSyntheticContent.Create("safetensors", 5_000_000_000, seed: 1).Open();
        var prefix = new byte[8];
        stream.ReadExactly(prefix);
        var length = (long)BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        Assert.Equal(0, (8 + length) % 8);
        var header = new byte[length];
        stream.ReadExactly(header);
        var weight = JsonDocument.Parse(header).RootElement.GetProperty("weight");
        Assert.Equal("U8", weight.GetProperty("dtype").GetString());
        var end = weight.GetProperty("data_offsets")[1].GetInt64();
        Assert.Equal(5_000_000_000 - 8 - length, end);
        Assert.Equal(end, weight.GetProperty("shape")[0].GetInt64());
    }

    [Theory]
    [InlineData("""{"repo":"bench/x","files":[{"path":"a.bin","size":10,"kind":"onnx"}]}""", "Unknown kind")]
    [InlineData("""{"repo":"bench/x","files":[{"path":"a.bin","size":-1,"kind":"random"}]}""", "between")]
    [InlineData("""{"repo":"bench/x","files":[{"path":"a.safetensors","size":20,"kind":"safetensors"}]}""", "between")]
    [InlineData("""{"repo":"bench/x","files":[{"path":"a.pkl","size":13,"kind":"pickle"}]}""", "between")]
    [InlineData("""{"repo":"bench/x","files":[{"path":"a.bin","size":"big","kind":"random"}]}""", "JSON")]
    [InlineData("""{"repo":"bench/x","files":[{"path":"a.bin","kind":"random"}]}""", "size")]
    [InlineData("""{"repo":"bench/x","files":[{"path":"../a.bin","size":1,"kind":"random"}]}""", "path")]
    [InlineData("""{"repo":"bench/x","files":[{"path":"a","size":1,"kind":"random"},{"path":"a","size":2,"kind":"random"}]}""", "twice")]
    [InlineData("""{"repo":"bench/x","files":[]}""", "files")]
    [InlineData("""{"repo":"bench/x","files":[{"path":"a.bin","size":100,"kind":"random","bytesPerSecond":0}]}""", "bytesPerSecond")]
    [InlineData("""{"repo":"bench/x","files":[{"path":"a.bin","size":10,"kind":"exec-pickle"}]}""", "between")]
    [InlineData("""{"repo":"x","files":[{"path":"a","size":1,"kind":"random"}]}""", "repo")]
    [InlineData("""{"repo":"bench/x","type":"space","files":[{"path":"a","size":1,"kind":"random"}]}""", "type")]
    [InlineData("""not json""", "JSON")]
    public async Task Bad_requests_are_400_with_a_reason(string body, string reason)
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await client.PostAsync("_sim/hf/synthetic", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
        using var missing = await client.GetAsync("api/models/bench/x");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
    }

    [Fact]
    public async Task A_fixture_repo_cannot_be_replaced()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await client.PostAsJsonAsync("_sim/hf/synthetic", new { repo = Model, files = new[] { new { path = "a", size = 1, kind = "random" } } });
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
    }

    [Fact]
    public async Task Registering_new_files_moves_main_and_the_old_commit_still_serves()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var files = new[] { new { path = "w.pkl", size = 5_000, kind = "pickle", seed = 1 } };
        var first = await RegisterAsync(client, new { repo = "bench/moving", files });
        var same = await RegisterAsync(client, new { repo = "bench/moving", files });
        Assert.True(same.GetProperty("reused").GetBoolean());
        Assert.Equal(first.GetProperty("commit").GetString(), same.GetProperty("commit").GetString());

        var second = await RegisterAsync(client, new { repo = "bench/moving", files = new[] { new { path = "w.pkl", size = 5_000, kind = "pickle", seed = 2 } } });
        Assert.False(second.GetProperty("reused").GetBoolean());
        Assert.NotEqual(first.GetProperty("commit").GetString(), second.GetProperty("commit").GetString());

        using var head = await SendAsync(client, HttpMethod.Head, "bench/moving/resolve/main/w.pkl");
        Assert.Equal(second.GetProperty("commit").GetString(), RequiredHeader(head, "X-Repo-Commit"));
        Assert.Equal($"\"{second.GetProperty("files")[0].GetProperty("sha256").GetString()}\"", RequiredHeader(head, "X-Linked-Etag"));
        using var old = await SendAsync(client, HttpMethod.Head, $"bench/moving/resolve/{first.GetProperty("commit").GetString()}/w.pkl");
        Assert.Equal($"\"{first.GetProperty("files")[0].GetProperty("sha256").GetString()}\"", RequiredHeader(old, "X-Linked-Etag"));

        var stats = await JsonAsync(await client.GetAsync("_sim/hf/stats"));
        Assert.Equal(second.GetProperty("commit").GetString(), stats.GetProperty("branches").GetProperty("models/bench/moving@main").GetString());
    }

    [Fact]
    public async Task A_tampered_synthetic_file_serves_other_bytes_under_the_same_hashes()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);
        var registered = await RegisterAsync(client, new { repo = "bench/tamper", files = new[] { new { path = "model.safetensors", size = 500_000, kind = "safetensors", seed = 1 } } });
        var sha256 = registered.GetProperty("files")[0].GetProperty("sha256").GetString()!;

        await PostAsync(client, "_sim/hf/tamper?repo=bench/tamper&path=model.safetensors");
        var bytes = await client.GetByteArrayAsync($"cdn/lfs/{sha256}");
        Assert.Equal(500_000, bytes.Length);
        Assert.NotEqual(sha256, Sha256(bytes));
        await PostAsync(client, "_sim/hf/reset");
        Assert.Equal(sha256, Sha256(await client.GetByteArrayAsync($"cdn/lfs/{sha256}")));
    }

    private static async Task<JsonElement> RegisterAsync(HttpClient client, object body)
    {
        using var response = await client.PostAsJsonAsync("_sim/hf/synthetic", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }
}
