using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Oci.Upstream;

/// <summary>Registers the OCI upstream; its named HttpClient is registered with the other remotes' (the registries' timeout, no automatic redirects).</summary>
public static class OciUpstreamServiceCollectionExtensions
{
    public static IServiceCollection AddOciUpstream(this IServiceCollection services)
    {
        services.AddSingleton<OciUpstream>();
        return services;
    }
}
