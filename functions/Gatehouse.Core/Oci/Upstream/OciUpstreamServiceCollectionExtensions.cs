using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Oci.Upstream;

/// <summary>Registers the OCI upstream and its named HttpClient (the registries' timeout, no automatic redirects).</summary>
public static class OciUpstreamServiceCollectionExtensions
{
    public static IServiceCollection AddOciUpstream(this IServiceCollection services)
    {
        GatehouseServiceCollectionExtensions.AddUpstreamHttpClient(services, OciUpstream.HttpClientName, o => o.Oci.UpstreamTimeoutSeconds);
        services.AddSingleton<OciUpstream>();
        return services;
    }
}
