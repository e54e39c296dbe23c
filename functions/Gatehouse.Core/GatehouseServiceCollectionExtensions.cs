using Gatehouse.Artifacts;
using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.HuggingFace;
using Gatehouse.HuggingFace.Prefetch;
using Gatehouse.PyPI;
using Gatehouse.Scans;
using Gatehouse.Storage;
using Gatehouse.Tokens;
using Gatehouse.Verdicts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Gatehouse;

/// <summary>The one registration both hosts call.</summary>
public static class GatehouseServiceCollectionExtensions
{
    public static IServiceCollection AddGatehouse(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GatehouseOptions>().Bind(configuration.GetSection(GatehouseOptions.Section)).Validate(Validate, "Invalid Gatehouse settings: see the configuration reference in README.md").ValidateOnStart();
        services.AddMemoryCache();
        services.TryAddTimeProvider();
        services.AddSingleton(_ => GatehouseStorage.FromConfiguration(configuration));
        services.AddHostedService<StorageInitializer>();
        services.AddHttpClient(PyPIUpstream.HttpClientName, (sp, client) =>
        {
            client.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<GatehouseOptions>>().Value.PyPI.UpstreamTimeoutSeconds);
            client.DefaultRequestHeaders.UserAgent.ParseAdd("Gatehouse/0.1");
        }).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = System.Net.DecompressionMethods.None });
        services.AddSingleton<PyPIUpstream>();
        services.AddHttpClient(HuggingFaceUpstream.HttpClientName, (sp, client) =>
        {
            client.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<GatehouseOptions>>().Value.HuggingFace.UpstreamTimeoutSeconds);
            client.DefaultRequestHeaders.UserAgent.ParseAdd("Gatehouse/0.1");
        }).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = System.Net.DecompressionMethods.None, UseCookies = false });
        services.AddSingleton<HuggingFaceUpstream>();
        services.AddSingleton<HuggingFaceEndpoint>();
        services.AddSingleton<HuggingFaceResolve>();
        services.AddSingleton<HfRepository>();
        services.AddSingleton<PrefetchEndpoint>();
        services.AddSingleton<SimpleIndexCache>();
        services.AddSingleton<VerdictStore>();
        services.AddSingleton<VerdictSignals>();
        services.AddSingleton<ReferenceStore>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<ArtifactGate>();
        services.AddSingleton<StagedContent>();
        services.AddSingleton<ModelScanSlots>();
        services.AddSingleton<EntitlementTokenService>();
        services.AddSingleton<BlobResponses>();
        services.AddSingleton<SimpleIndexEndpoint>();
        services.AddSingleton<FilesEndpoint>();
        services.AddSingleton<JsonApiEndpoint>();
        services.AddSingleton<ProvenanceEndpoint>();
        services.AddSingleton<AdminTokensEndpoint>();
        services.AddSingleton<GatehouseHttp>();
        return services;
    }

    /// <summary>Maps every route of <see cref="GatehouseRoutes"/> onto <see cref="GatehouseHttp"/> (the standalone host).</summary>
    public static IEndpointRouteBuilder MapGatehouse(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods("/" + GatehouseRoutes.PypiSimple, Methods("PypiSimple"),
            (HttpContext c, GatehouseHttp h, DurableTaskClient d, string? path) => h.PypiSimple(c, d, path));
        endpoints.MapMethods("/" + GatehouseRoutes.PypiFiles, Methods("PypiFiles"),
            (HttpContext c, GatehouseHttp h, DurableTaskClient d, string? path) => h.PypiFiles(c, d, path));
        endpoints.MapMethods("/" + GatehouseRoutes.PypiIntegrity, Methods("PypiIntegrity"),
            (HttpContext c, GatehouseHttp h, DurableTaskClient d, string? path) => h.PypiIntegrity(c, d, path));
        endpoints.MapMethods("/" + GatehouseRoutes.PypiJson, Methods("PypiJson"),
            (HttpContext c, GatehouseHttp h, DurableTaskClient d, string project, string? rest) => h.PypiJson(c, d, project, rest));
        endpoints.MapMethods("/" + GatehouseRoutes.HuggingFace, Methods("HuggingFace"),
            (HttpContext c, GatehouseHttp h, DurableTaskClient d, string? path) => h.HuggingFace(c, d, path));
        endpoints.MapMethods("/" + GatehouseRoutes.AdminTokens, Methods("AdminTokens"),
            (HttpContext c, GatehouseHttp h, string? id) => h.AdminTokens(c, id));
        endpoints.MapMethods("/" + GatehouseRoutes.AdminPrefetch, Methods("AdminPrefetch"),
            (HttpContext c, GatehouseHttp h, DurableTaskClient d, string source, string? id) => h.AdminPrefetch(c, d, source, id));
        endpoints.MapMethods("/" + GatehouseRoutes.Health, Methods("Health"), (HttpContext c, GatehouseHttp h) => h.Health(c));
        return endpoints;
    }

    private static IEnumerable<string> Methods(string name) => GatehouseRoutes.All.Single(r => r.Name == name).Methods;

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(s => s.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }

    private static bool Validate(GatehouseOptions o) =>
        Uri.TryCreate(o.PyPI.IndexUrl, UriKind.Absolute, out _) && Uri.TryCreate(o.PyPI.JsonApiUrl, UriKind.Absolute, out _)
        && Uri.TryCreate(o.HuggingFace.Endpoint, UriKind.Absolute, out var hf) && (hf.Scheme == Uri.UriSchemeHttps || hf.Scheme == Uri.UriSchemeHttp)
        && o.HuggingFace.CacheTtlSeconds >= 0 && o.HuggingFace.UpstreamTimeoutSeconds > 0
        && o.HuggingFace.DownloadWaitSliceSeconds is > 0 and < 10 && o.HuggingFace.PrefetchMaxFiles > 0 && o.HuggingFace.PrefetchParallelism > 0 && o.HuggingFace.PrefetchScanTimeoutSeconds > 0
        && o.PyPI.IndexTtlSeconds >= 0 && o.Scan.InlineWaitSeconds >= 0 && o.Scan.RetryAfterSeconds > 0
        && o.Serving.Mode is "Stream" or "Sas" && o.Serving.SasLifetimeSeconds is > 0 and <= 3600
        && o.Archive.MaxEntries > 0 && o.Archive.MaxNestingDepth >= 0 && o.Archive.MaxCompressionRatio > 1;

    /// <summary>Creates containers and tables before the first request.</summary>
    private sealed class StorageInitializer(GatehouseStorage storage) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => storage.EnsureCreatedAsync(cancellationToken);
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
