using Gatehouse.Oci.Auth;
using Gatehouse.Oci.Layers;
using Gatehouse.Oci.Scanning;
using Gatehouse.Oci.Upstream;
using Gatehouse.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Oci;

/// <summary>The container-image remote's services: its upstream and auth, the remote, its scan's stores, the endpoint.</summary>
public static class OciServiceCollectionExtensions
{
    public static IServiceCollection AddOci(this IServiceCollection services)
    {
        services.AddOciAuth();
        services.AddOciUpstream();
        services.AddSingleton<LayerReports>();
        services.AddSingleton<ImageAdvisories>();
        services.AddSingleton<OciImageFacts>();
        services.AddSingleton<OciRemote>();
        services.AddSingleton<IRemote>(sp => sp.GetRequiredService<OciRemote>());
        services.AddSingleton<OciBlobLinks>();
        services.AddSingleton<OciEndpoint>();
        return services;
    }
}
