using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Oci.Auth;

/// <summary>Registers the OCI remote's authentication: the token endpoint, the authorizer and the registry tokens they share.</summary>
public static class OciAuthServiceCollectionExtensions
{
    public static IServiceCollection AddOciAuth(this IServiceCollection services)
    {
        services.AddSingleton<OciTokenSigningKey>();
        services.AddSingleton<OciTokens>();
        services.AddSingleton<OciTokenEndpoint>();
        services.AddSingleton<OciAuthorizer>();
        return services;
    }
}
