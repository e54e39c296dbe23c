using System.Text.Json.Nodes;
using Gatehouse.HuggingFace;

namespace Gatehouse.Core.Tests.HuggingFace;

public class HfRewriterTests
{
    private const string Upstream = "https://huggingface.co";
    private const string Origin = "http://gatehouse.test/hf";

    [Fact]
    public void XetHash_is_removed_at_every_depth_and_lfs_is_kept()
    {
        var json = JsonNode.Parse("""
            [{"type":"file","path":"m.safetensors","xetHash":"abc","lfs":{"oid":"s","size":1,"xetHash":"x"}},
             {"nested":{"list":[{"xetHash":"y","keep":1}]}}]
            """);
        var text = HfRewriter.Rewrite(json, Upstream, Origin)!.ToJsonString();
        Assert.DoesNotContain("xetHash", text);
        Assert.Contains("\"lfs\":{\"oid\":\"s\",\"size\":1}", text);
        Assert.Contains("\"keep\":1", text);
    }

    [Fact]
    public void Absolute_upstream_urls_point_at_gatehouse_and_other_hosts_are_untouched()
    {
        var json = JsonNode.Parse("""
            {"a":"https://huggingface.co/api/models/x/y","b":"https://HuggingFace.co?x=1","c":"https://huggingface.com/z",
             "d":"https://example.org/https://huggingface.co/","e":"https://huggingface.co","f":12}
            """);
        var o = HfRewriter.Rewrite(json, Upstream, Origin)!.AsObject();
        Assert.Equal(Origin + "/api/models/x/y", (string?)o["a"]);
        Assert.Equal(Origin + "?x=1", (string?)o["b"]);
        Assert.Equal("https://huggingface.com/z", (string?)o["c"]);
        Assert.Equal("https://example.org/https://huggingface.co/", (string?)o["d"]);
        Assert.Equal(Origin, (string?)o["e"]);
        Assert.Equal(12, (int?)o["f"]);
    }

    [Fact]
    public void The_next_link_is_rewritten_with_its_query_and_xet_links_are_dropped()
    {
        var header = "<https://huggingface.co/api/models/ns/n/tree/main?recursive=true&cursor=abc%3D>; rel=\"next\", "
            + "<https://huggingface.co/api/models/ns/n/xet-read-token/c>; rel=\"xet-auth\", <https://cas.example/v1/r/h>; rel=\"xet-reconstruction-info\"";
        Assert.Equal("<http://gatehouse.test/hf/api/models/ns/n/tree/main?recursive=true&cursor=abc%3D>; rel=\"next\"",
            HfRewriter.RewriteLinkHeader(header, Upstream, Origin));
    }

    [Fact]
    public void A_relative_next_link_is_anchored_on_gatehouse_and_a_foreign_one_is_dropped()
    {
        Assert.Equal("<http://gatehouse.test/hf/api/x?cursor=1>; rel=\"next\"", HfRewriter.RewriteLinkHeader("</api/x?cursor=1>; rel=next", Upstream, Origin));
        Assert.Null(HfRewriter.RewriteLinkHeader("<https://evil.example/api/x>; rel=\"next\"", Upstream, Origin));
        Assert.Null(HfRewriter.RewriteLinkHeader("<https://huggingface.co/a>; rel=\"xet-auth\"", Upstream, Origin));
        Assert.Null(HfRewriter.RewriteLinkHeader(null, Upstream, Origin));
    }

    [Fact]
    public void Link_parsing_honours_quoted_commas()
    {
        var links = HfRewriter.ParseLinks("<a>; title=\"x, y\"; rel=\"next\", <b>; rel=\"prev\"").ToList();
        Assert.Equal(2, links.Count);
        Assert.Equal("a", links[0].Target);
        Assert.Contains("rel=\"next\"", links[0].Parameters);
        Assert.Equal("b", links[1].Target);
    }
}
