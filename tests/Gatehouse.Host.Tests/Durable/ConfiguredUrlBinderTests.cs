using Gatehouse.Host.Durable;
using Microsoft.Extensions.Configuration;

namespace Gatehouse.Host.Tests.Durable;

/// <summary>Which application URLs are bound next to the sidecar: the generic web host's precedence.</summary>
public sealed class ConfiguredUrlBinderTests
{
    [Fact]
    public void Urls_win_over_http_ports()
    {
        var urls = ConfiguredUrlBinder.ConfiguredUrls(Config(new()
        {
            ["urls"] = "http://127.0.0.1:7071; http://localhost:7072",
            ["http_ports"] = "8080",
        }));

        Assert.Equal(["http://127.0.0.1:7071", "http://localhost:7072"], urls);
    }

    [Fact]
    public void Http_and_https_ports_bind_every_interface_when_no_urls_are_set()
    {
        var urls = ConfiguredUrlBinder.ConfiguredUrls(Config(new() { ["http_ports"] = "8080;8081", ["https_ports"] = "8443" }));

        Assert.Equal(["http://*:8080", "http://*:8081", "https://*:8443"], urls);
    }

    [Fact]
    public void Without_any_setting_the_app_listens_where_kestrel_would_by_default()
    {
        Assert.Equal(["http://localhost:5000"], ConfiguredUrlBinder.ConfiguredUrls(Config([])));
    }

    [Fact]
    public void Kestrel_endpoint_configuration_is_left_to_kestrel()
    {
        var kestrel = new Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions();

        var bound = ConfiguredUrlBinder.Bind(kestrel, Config(new()
        {
            ["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:7071",
            ["urls"] = "http://127.0.0.1:9999",
        }));

        Assert.Empty(bound);
    }

    private static IConfiguration Config(Dictionary<string, string?> settings) => new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
}
