using Microsoft.Extensions.Configuration;

namespace Gatehouse.Http;

/// <summary>
/// Gatehouse's own address as clients reach it, for the absolute URLs its answers carry (a tree page's
/// <c>Link: rel="next"</c>, PEP 740 provenance URLs, JSON API file URLs). It comes from configuration, never from a
/// request's <c>Host</c> header, which any client can set.
/// </summary>
public sealed class PublicUrls
{
    public const string SettingKey = "Gatehouse:PublicBaseUrl";

    public PublicUrls(string baseUrl)
    {
        if (!Uri.TryCreate(baseUrl.TrimEnd('/'), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw new InvalidOperationException($"{SettingKey} must be an absolute http(s) URL without query, like https://gatehouse.example.com (got '{baseUrl}').");
        }
        Origin = uri.AbsoluteUri.TrimEnd('/');
    }

    /// <summary>Scheme, host and path base, without a trailing slash: <c>https://gatehouse.example.com</c>.</summary>
    public string Origin { get; }

    /// <summary>
    /// The configured <c>Gatehouse:PublicBaseUrl</c>; else, on Azure, <c>https://{WEBSITE_HOSTNAME}</c>; else the standalone
    /// host's first listening URL (<c>urls</c>, with a wildcard host read as localhost).
    /// </summary>
    public static PublicUrls FromConfiguration(IConfiguration configuration)
    {
        if (configuration[SettingKey] is { Length: > 0 } configured)
        {
            return new PublicUrls(configured);
        }
        if (configuration["WEBSITE_HOSTNAME"] is { Length: > 0 } azureHost)
        {
            return new PublicUrls("https://" + azureHost);
        }
        if (configuration["urls"]?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() is { } url)
        {
            return new PublicUrls(url.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal)
                .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal).Replace("://[::]", "://localhost", StringComparison.Ordinal));
        }
        throw new InvalidOperationException($"Set {SettingKey.Replace(":", "__", StringComparison.Ordinal)} to the URL clients use to reach Gatehouse.");
    }
}
