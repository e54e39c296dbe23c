using Gatehouse.PyPI;

namespace Gatehouse.Core.Tests.PyPI;

public class SimpleIndexNegotiationTests
{
    private const string Json = SimpleIndexEndpoint.JsonType;
    private const string Html = SimpleIndexEndpoint.HtmlType;

    [Theory]
    [InlineData("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", Json)] // pip
    [InlineData("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", Json)] // uv
    [InlineData("text/html", "text/html")] // old pip
    public void Each_installer_gets_the_representation_it_asks_for(string accept, string expected)
    {
        Assert.Equal(expected, SimpleIndexEndpoint.Negotiate(accept, null));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("*/*")]
    public void No_accept_header_or_anything_goes_gets_text_html_like_warehouse(string accept)
    {
        Assert.Equal("text/html", SimpleIndexEndpoint.Negotiate(accept, null));
    }

    [Theory]
    [InlineData("application/vnd.pypi.simple.v1+html", Html)]
    [InlineData("application/vnd.pypi.simple.latest+json", Json)]
    [InlineData("application/vnd.pypi.simple.latest+html", Html)]
    public void Asking_for_a_v1_type_or_its_latest_alias_gets_v1(string accept, string expected)
    {
        Assert.Equal(expected, SimpleIndexEndpoint.Negotiate(accept, null));
    }

    [Theory]
    [InlineData("application/vnd.pypi.simple.v1+json", Json)]
    [InlineData("application/vnd.pypi.simple.latest+json", Json)]
    [InlineData("application/vnd.pypi.simple.v1+html", Html)]
    [InlineData("application/vnd.pypi.simple.latest+html", Html)]
    [InlineData("text/html", "text/html")]
    public void The_format_query_parameter_overrides_the_accept_header(string format, string expected)
    {
        Assert.Equal(expected, SimpleIndexEndpoint.Negotiate("application/vnd.pypi.simple.v1+json, text/html;q=0.01", format));
        Assert.Equal(expected, SimpleIndexEndpoint.Negotiate("text/html", format));
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("image/png, application/xml;q=0.9")]
    [InlineData("application/vnd.pypi.simple.v2+json")]
    public void Only_unknown_types_get_html(string accept)
    {
        Assert.Equal("text/html", SimpleIndexEndpoint.Negotiate(accept, null));
    }

    [Fact]
    public void Q_zero_excludes_a_type()
    {
        Assert.Equal("text/html", SimpleIndexEndpoint.Negotiate("application/vnd.pypi.simple.v1+json;q=0, text/html", null));
        Assert.Equal(Html, SimpleIndexEndpoint.Negotiate("text/html;q=0, application/vnd.pypi.simple.v1+html;q=0.5", null));
    }

    [Fact]
    public void A_more_specific_range_decides_the_quality_whatever_the_order()
    {
        Assert.Equal(Json, SimpleIndexEndpoint.Negotiate("text/*;q=0.9, text/html;q=0.1, application/vnd.pypi.simple.v1+json;q=0.5", null));
        Assert.Equal(Json, SimpleIndexEndpoint.Negotiate("text/html;q=0.1, text/*;q=0.9, application/vnd.pypi.simple.v1+json;q=0.5", null));
    }

    [Fact]
    public void The_highest_quality_wins_over_the_order_of_the_header()
    {
        Assert.Equal(Html, SimpleIndexEndpoint.Negotiate("text/html;q=0.3, application/vnd.pypi.simple.v1+json;q=0.2, application/vnd.pypi.simple.v1+html;q=0.9", null));
    }

    [Fact]
    public void Media_types_are_matched_without_regard_to_case()
    {
        Assert.Equal(Json, SimpleIndexEndpoint.Negotiate("Application/VND.PyPI.Simple.V1+JSON, text/html;q=0.01", null));
    }
}
