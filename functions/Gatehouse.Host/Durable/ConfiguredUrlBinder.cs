using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Gatehouse.Host.Durable;

/// <summary>
/// Binds the application's configured URLs as explicit Kestrel endpoints.
/// </summary>
/// <remarks>
/// As soon as code calls <c>KestrelServerOptions.Listen</c> (as the durable sidecar does), Kestrel stops honouring
/// <c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>urls</c> and <c>ASPNETCORE_HTTP_PORTS</c>/<c>HTTPS_PORTS</c> and logs
/// "Overriding address(es) ...". To keep the app reachable where the caller asked, the same precedence
/// as the generic web host (<c>urls</c>, then <c>http_ports</c>/<c>https_ports</c>, then <c>http://localhost:5000</c>)
/// is applied here with explicit <c>Listen</c> calls. When <c>Kestrel:Endpoints</c> is configured, Kestrel binds those
/// itself and this binder does nothing (the same as without the sidecar: configured endpoints win over URLs).
/// </remarks>
internal static class ConfiguredUrlBinder
{
    private const string DefaultUrl = "http://localhost:5000";

    /// <summary>Returns the URLs that were bound, or an empty list when Kestrel endpoint configuration is in charge.</summary>
    public static IReadOnlyList<string> Bind(KestrelServerOptions kestrel, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(configuration);

        if (configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
        {
            return [];
        }

        var urls = ConfiguredUrls(configuration);
        foreach (var url in urls)
        {
            Listen(kestrel, url);
        }

        return urls;
    }

    internal static IReadOnlyList<string> ConfiguredUrls(IConfiguration configuration)
    {
        var urls = configuration[WebHostDefaults.ServerUrlsKey];
        if (string.IsNullOrWhiteSpace(urls))
        {
            urls = string.Join(';',
                ExpandPorts(configuration[WebHostDefaults.HttpPortsKey], Uri.UriSchemeHttp)
                    .Concat(ExpandPorts(configuration[WebHostDefaults.HttpsPortsKey], Uri.UriSchemeHttps)));
        }

        var list = urls.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return list.Length > 0 ? list : [DefaultUrl];
    }

    private static IEnumerable<string> ExpandPorts(string? ports, string scheme) =>
        (ports ?? string.Empty)
            .Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(port => $"{scheme}://*:{port}");

    private static void Listen(KestrelServerOptions kestrel, string url)
    {
        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(url);
        }
        catch (FormatException e)
        {
            throw new InvalidOperationException($"Configured URL '{url}' is not a valid binding address.", e);
        }

        if (!string.IsNullOrEmpty(address.PathBase))
        {
            throw new InvalidOperationException($"Configured URL '{url}' has a path; Kestrel does not support path bases in URLs (use UsePathBase).");
        }

        var https = string.Equals(address.Scheme, Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase);
        if (!https && !string.Equals(address.Scheme, Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Configured URL '{url}' has unsupported scheme '{address.Scheme}'.");
        }

        Action<ListenOptions> configure = listen =>
        {
            if (https)
            {
                listen.UseHttps();
            }
        };

        if (address.IsUnixPipe)
        {
            kestrel.ListenUnixSocket(address.UnixPipePath, configure);
        }
        else if (address.IsNamedPipe)
        {
            kestrel.ListenNamedPipe(address.NamedPipeName, configure);
        }
        else if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(address.Port, configure);
        }
        else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
        {
            kestrel.Listen(ip, address.Port, configure);
        }
        else
        {
            // "*", "+" and host names bind every interface, as Kestrel does for URLs.
            kestrel.ListenAnyIP(address.Port, configure);
        }
    }
}
