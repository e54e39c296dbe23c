using Gatehouse.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse;

/// <summary>The one registration both hosts call.</summary>
public static class GatehouseServiceCollectionExtensions
{
    public static IServiceCollection AddGatehouse(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<GatehouseHttp>();
        return services;
    }
}
