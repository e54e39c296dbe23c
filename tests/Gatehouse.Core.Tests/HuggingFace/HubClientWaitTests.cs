using Gatehouse.HuggingFace;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Core.Tests.HuggingFace;

public class HubClientWaitTests
{
    [Theory]
    [InlineData("unknown/None; hf_hub/0.26.5; python/3.11.2")] // huggingface_hub 0.26.5 as build_hf_headers sends it
    [InlineData("transformers/4.46.3; hf_hub/0.26.5; python/3.11.2; torch/2.5.1; file_type/model; framework/pytorch")]
    public void Huggingface_hub_0x_on_requests_follows_30_redirects_and_retries_nothing(string userAgent)
    {
        var wait = HubClientWait.For(userAgent);
        Assert.NotNull(wait);
        Assert.Equal(30, wait.MaxRedirects);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, wait.FinalStatus);
        Assert.Null(wait.RetryAfterSeconds);
    }

    [Theory]
    [InlineData("unknown/None; hf_hub/1.29.0.dev0; python/3.11.2")]
    [InlineData("transformers/5.0.0; hf_hub/1.2.3; python/3.12.1")]
    public void Huggingface_hub_1x_on_httpx_follows_20_redirects_then_retries_a_429(string userAgent)
    {
        var wait = HubClientWait.For(userAgent);
        Assert.NotNull(wait);
        Assert.Equal(20, wait.MaxRedirects);
        Assert.Equal(StatusCodes.Status429TooManyRequests, wait.FinalStatus);
        Assert.Equal(1, wait.RetryAfterSeconds);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("curl/7.88.1")]
    [InlineData("node")]
    [InlineData("huggingface_hub/1.28.0; python/3.11")] // not how the library writes it
    [InlineData("my-hf_hub/1.0")]
    [InlineData("unknown/None; hf_hub/dev; python/3.11.2")]
    public void Other_clients_are_not_redirected_since_they_may_not_follow(string? userAgent) =>
        Assert.Null(HubClientWait.For(userAgent));

    [Theory]
    [InlineData("", 0)]
    [InlineData("?gatehouse-wait=7", 7)]
    [InlineData("?gatehouse-wait=-1", 0)]
    [InlineData("?gatehouse-wait=x", 0)]
    [InlineData("?gatehouse-wait=99999", 0)]
    public void The_hop_count_comes_from_the_query(string query, int hop)
    {
        var context = new DefaultHttpContext();
        context.Request.QueryString = new QueryString(query);
        Assert.Equal(hop, HubClientWait.Hop(context.Request.Query));
    }

    [Fact]
    public void The_redirect_goes_to_the_same_raw_path_with_the_next_hop_and_keeps_other_parameters()
    {
        var context = new DefaultHttpContext();
        context.Request.QueryString = new QueryString("?download=true&gatehouse-wait=3");
        Assert.Equal("/hf/ns/name/resolve/refs%2Fpr%2F1/a.bin?download=true&gatehouse-wait=4",
            HubClientWait.Self(context, "/hf/ns/name/resolve/refs%2Fpr%2F1/a.bin", 4));
        Assert.Equal("/hf/ns/name/resolve/main/a.bin?gatehouse-wait=1", HubClientWait.Self(new DefaultHttpContext(), "/hf/ns/name/resolve/main/a.bin", 1));
    }
}
