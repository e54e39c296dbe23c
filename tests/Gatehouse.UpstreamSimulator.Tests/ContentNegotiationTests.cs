using Gatehouse.UpstreamSimulator.PyPI;
using Microsoft.Extensions.Primitives;

namespace Gatehouse.UpstreamSimulator.Tests;

public class ContentNegotiationTests
{
    [Theory]
    [InlineData(SimulatorTestHost.PipAccept, SimpleFormat.V1Json)]
    [InlineData("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", SimpleFormat.V1Json)]
    [InlineData("text/html", SimpleFormat.TextHtml)]
    [InlineData("application/vnd.pypi.simple.v1+html", SimpleFormat.V1Html)]
    [InlineData("*/*", SimpleFormat.TextHtml)]
    [InlineData("application/*", SimpleFormat.V1Html)]
    [InlineData("text/html;q=0.5, application/vnd.pypi.simple.v1+json;q=0.9", SimpleFormat.V1Json)]
    [InlineData("application/vnd.pypi.simple.v1+json;q=0, */*", SimpleFormat.TextHtml)]
    public void Accept_header_selects_the_representation_Warehouse_would(string accept, SimpleFormat expected) =>
        Assert.Equal(expected, SimpleContentNegotiation.Select(new StringValues(accept)));

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/vnd.pypi.simple.latest+json")]
    [InlineData("image/png, application/xml")]
    public void Nothing_acceptable_falls_back_to_html_never_406(string accept) =>
        Assert.Equal(SimpleFormat.TextHtml, SimpleContentNegotiation.Select(new StringValues(accept)));

    [Fact]
    public void No_accept_header_means_html() =>
        Assert.Equal(SimpleFormat.TextHtml, SimpleContentNegotiation.Select(StringValues.Empty));
}
