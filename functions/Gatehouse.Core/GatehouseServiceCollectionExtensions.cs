using Gatehouse.Admin;
using Gatehouse.Audit;
using Gatehouse.Bom;
using Gatehouse.Configuration;
using Gatehouse.Events;
using Gatehouse.Http;
using Gatehouse.HuggingFace;
using Gatehouse.HuggingFace.Prefetch;
using Gatehouse.Names;
using Gatehouse.Oci;
using Gatehouse.Pipeline;
using Gatehouse.Policy;
using Gatehouse.PyPI;
using Gatehouse.Quarantine;
using Gatehouse.Rescans;
using Gatehouse.Scans;
using Gatehouse.Storage;
using Gatehouse.Tokens;
using Gatehouse.Uploads;
using Gatehouse.Upstream;
using Gatehouse.Vulnerabilities;
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
        services.AddOptions<GatehouseOptions>().Bind(configuration.GetSection(GatehouseOptions.Section)).Validate(Validate, "Invalid Gatehouse settings: see the configuration reference in README.md")
            .Validate(o => ValidExtraExports(o.Osv),
                "Gatehouse:Osv:ExtraExportUrls must be space-separated absolute http or https URLs, none repeated and none the same as Gatehouse:Osv:ExportUrl")
            .ValidateOnStart();
        services.AddMemoryCache();
        services.TryAddTimeProvider();
        services.AddSingleton(_ => GatehouseStorage.FromConfiguration(configuration));
        services.AddSingleton(_ => PublicUrls.FromConfiguration(configuration));
        services.AddHostedService<StorageInitializer>();

        // Upstreams: one client, each remote with its own named HttpClient (its timeout; no automatic redirects or decompression).
        services.AddSingleton<UpstreamClient>();
        AddUpstreamHttpClient(services, PyPIUpstream.HttpClientName, o => o.PyPI.UpstreamTimeoutSeconds);
        AddUpstreamHttpClient(services, HuggingFaceUpstream.HttpClientName, o => o.HuggingFace.UpstreamTimeoutSeconds);
        AddUpstreamHttpClient(services, OsvRefresh.HttpClientName, o => o.Osv.UpstreamTimeoutSeconds);
        AddUpstreamHttpClient(services, Oci.Upstream.OciUpstream.HttpClientName, o => o.Oci.UpstreamTimeoutSeconds);

        // The pipeline and its decision hook.
        services.AddOptions<StagingOptions>().Bind(configuration.GetSection(StagingOptions.Section));
        services.AddSingleton<LocalStagedCopies>();
        services.AddSingleton<LocalContentChecks>();
        services.AddSingleton<ContentStore>();
        services.AddSingleton<IContentStaging>(sp => sp.GetRequiredService<ContentStore>());
        services.AddSingleton<IFactsStore, FactsStore>();
        services.AddSingleton<IReferenceStore, ReferenceStore>();
        services.AddSingleton<ScanSignals>();
        services.AddSingleton<IScanClaims, ScanClaims>();
        services.AddSingleton<ScanStarter>();
        services.AddSingleton<RemoteRegistry>();
        services.AddSingleton<PolicyProvider>();
        services.AddSingleton<IPolicySource>(sp => sp.GetRequiredService<PolicyProvider>());
        services.AddSingleton<PolicyDryRun>();
        services.AddSingleton<AdminPolicyEndpoint>();
        services.AddSingleton<ReferenceDecisions>();
        services.AddSingleton<VulnerabilityMirror>();
        services.AddSingleton<OsvImporter>();
        services.AddSingleton<OsvRefresh>();
        services.AddSingleton<AdminOsvEndpoint>();
        services.AddSingleton<OsvApiEndpoint>();
        services.AddSingleton<ContentFetcher>();
        services.AddSingleton<ContentPlacement>();
        services.AddSingleton<ArtifactGate>();
        services.AddSingleton<ModelScanSlots>();
        services.AddSingleton<IAuditLog, AuditLog>();
        services.AddGatehouseEvents(configuration, sp => sp.GetRequiredService<PublicUrls>().Origin);
        services.AddSingleton<Downloads>();

        // Names: first sightings of Hugging Face repos, to notice a namespace taken over or a repo created again.
        services.AddSingleton<IRepoIdentityStore, TableRepoIdentityStore>();
        services.AddSingleton<NamespaceCheck>();

        // Remotes.
        services.AddSingleton<PyPIUpstream>();
        services.AddSingleton<IRemote, PyPIRemote>();
        services.AddSingleton<PyPIFacts>();
        services.AddSingleton<SimpleIndexCache>();
        services.AddSingleton<JsonApiCache>();
        services.AddSingleton<SimpleIndexEndpoint>();
        services.AddSingleton<FilesEndpoint>();
        services.AddSingleton<JsonApiEndpoint>();
        services.AddSingleton<ProvenanceEndpoint>();
        services.AddSingleton<HuggingFaceUpstream>();
        services.AddSingleton<IRemote, HuggingFaceRemote>();
        services.AddSingleton<HuggingFaceFacts>();
        services.AddSingleton<HfFiles>();
        services.AddSingleton<HfRepository>();
        services.AddSingleton<HuggingFaceResolve>();
        services.AddSingleton<HfListingPolicy>();
        services.AddSingleton<HuggingFaceEndpoint>();
        services.AddSingleton<PrefetchEndpoint>();

        // Entitlements and the HTTP entry points.
        services.AddSingleton<EntitlementTokenService>();
        services.AddSingleton<AdminTokensEndpoint>();
        services.AddSingleton<AuthFailureLimiter>();
        services.AddSingleton<TokenCredentials>();
        services.AddSingleton<IDownloadObserver, TokenUsageObserver>();
        services.AddSingleton<BlobResponses>();
        services.AddSingleton<GatehouseHttp>();

        // Bills of materials (CycloneDX) of what a project or repository pulled through Gatehouse.
        services.AddSingleton<IModelCards, HubModelCards>();
        services.AddSingleton<BomBuilder>();
        services.AddSingleton<AdminBomEndpoint>();

        // The audit trail's queries, the affected-consumer report, and every download recorded in it.
        services.AddSingleton<AuditReader>();
        services.AddSingleton<IArtifactDecisions, ArtifactDecisionsNow>();
        services.AddSingleton<AdminAuditEndpoint>();
        services.AddSingleton<IDownloadObserver, AuditedDownloads>();

        // Quarantine review: reviewers' overrides (consulted by every decision), the list, the actions; the admin API document.
        services.AddSingleton<TableVerdictOverrides>();
        services.AddSingleton<IVerdictOverrides>(sp => sp.GetRequiredService<TableVerdictOverrides>());
        services.AddSingleton<AuditTrail>();
        services.AddSingleton<QuarantineReview>();
        services.AddSingleton<AdminQuarantineEndpoint>();
        services.AddSingleton<AdminOpenApiEndpoint>();

        // Uploads: files a team writes into the uploads container, scanned as their own remote.
        services.AddOptions<UploadsOptions>().Bind(configuration.GetSection(UploadsOptions.Section));
        services.AddSingleton<UploadsRemote>();
        services.AddSingleton<IRemote>(sp => sp.GetRequiredService<UploadsRemote>());
        services.AddSingleton<UploadIntake>();
        services.AddSingleton<UploadsEndpoint>();
        services.AddSingleton<UploadWatcher>();

        // Rescans of cached verdicts after the checks, the policy or the OSV data changed.
        services.AddSingleton<RescanRuns>();
        services.AddSingleton<AdminRescanEndpoint>();
        services.AddSingleton<WebConsole.ConsoleAssets>();
        services.AddSingleton<WebConsole.ConsoleSessions>();
        services.AddSingleton<WebConsole.ConsoleEndpoint>();

        // The console's overview and artifact search, and this instance's live counters (counting from host start).
        services.AddSingleton<LiveCounters>();
        services.AddHostedService<LiveCounters.Starter>();
        services.AddSingleton<IReferenceCatalog, ReferenceCatalog>();
        services.AddSingleton<ConsoleStats>();
        services.AddSingleton<AdminStatsEndpoint>();
        services.AddSingleton<ArtifactSearch>();
        services.AddSingleton<AdminArtifactsEndpoint>();

        // Container images: the OCI remote under /v2/, its token endpoint and its image scans.
        services.AddOci();
        return services;
    }

    private static void AddUpstreamHttpClient(IServiceCollection services, string name, Func<GatehouseOptions, int> timeoutSeconds) =>
        services.AddHttpClient(name, (sp, client) =>
        {
            client.Timeout = TimeSpan.FromSeconds(timeoutSeconds(sp.GetRequiredService<IOptions<GatehouseOptions>>().Value));
            client.DefaultRequestHeaders.UserAgent.ParseAdd("Gatehouse/0.1");
        }).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = System.Net.DecompressionMethods.None, UseCookies = false });

    /// <summary>Maps every route of <see cref="GatehouseRoutes"/> onto <see cref="GatehouseHttp"/> (the standalone host).</summary>
    public static IEndpointRouteBuilder MapGatehouse(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods("/" + GatehouseRoutes.PypiSimple, Methods("PypiSimple"),
            (HttpContext c, GatehouseHttp h, string? path) => h.PypiSimple(c, path));
        endpoints.MapMethods("/" + GatehouseRoutes.PypiFiles, Methods("PypiFiles"),
            (HttpContext c, GatehouseHttp h, DurableTaskClient d, string? path) => h.PypiFiles(c, d, path));
        endpoints.MapMethods("/" + GatehouseRoutes.PypiIntegrity, Methods("PypiIntegrity"),
            (HttpContext c, GatehouseHttp h, string? path) => h.PypiIntegrity(c, path));
        endpoints.MapMethods("/" + GatehouseRoutes.PypiJson, Methods("PypiJson"),
            (HttpContext c, GatehouseHttp h, string project, string? rest) => h.PypiJson(c, project, rest));
        endpoints.MapMethods("/" + GatehouseRoutes.HuggingFace, Methods("HuggingFace"),
            (HttpContext c, GatehouseHttp h, DurableTaskClient d, string? path) => h.HuggingFace(c, d, path));
        endpoints.MapMethods("/" + GatehouseRoutes.AdminTokens, Methods("AdminTokens"),
            (HttpContext c, GatehouseHttp h, string? id, string? operation) => h.AdminTokens(c, id, operation));
        endpoints.MapMethods("/" + GatehouseRoutes.AdminPrefetch, Methods("AdminPrefetch"),
            (HttpContext c, GatehouseHttp h, DurableTaskClient d, string source, string? id) => h.AdminPrefetch(c, d, source, id));
        endpoints.MapMethods("/" + GatehouseRoutes.AdminPolicy, Methods("AdminPolicy"),
            (HttpContext c, GatehouseHttp h, string? operation) => h.AdminPolicy(c, operation));
        endpoints.MapMethods("/" + GatehouseRoutes.AdminOsv, Methods("AdminOsv"),
            (HttpContext c, GatehouseHttp h, string? operation) => h.AdminOsv(c, operation));
        endpoints.MapMethods("/" + GatehouseRoutes.Health, Methods("Health"), (HttpContext c, GatehouseHttp h) => h.Health(c));
        endpoints.MapMethods("/" + GatehouseRoutes.OsvApi, Methods("OsvApi"),
            (HttpContext c, GatehouseHttp h, string? path) => h.OsvApi(c, path));
        endpoints.MapMethods("/" + GatehouseRoutes.AdminBom, Methods("AdminBom"),
            (HttpContext c, GatehouseHttp h, string remote, string? name) => h.AdminBom(c, remote, name));
        endpoints.MapMethods("/" + GatehouseRoutes.AdminAudit, Methods("AdminAudit"),
            (HttpContext c, GatehouseHttp h, string? operation) => h.AdminAudit(c, operation));

        endpoints.MapMethods("/" + GatehouseRoutes.AdminQuarantine, Methods("AdminQuarantine"),
            (HttpContext c, GatehouseHttp h, DurableTaskClient d, string? sha256, string? operation) => h.AdminQuarantine(c, d, sha256, operation));
        endpoints.MapMethods("/" + GatehouseRoutes.AdminOpenApi, Methods("AdminOpenApi"), (HttpContext c, GatehouseHttp h) => h.AdminOpenApi(c));

        endpoints.MapMethods("/" + GatehouseRoutes.Uploads, Methods("Uploads"),
            (HttpContext c, GatehouseHttp h, DurableTaskClient d, string? path) => h.Uploads(c, d, path));

        endpoints.MapMethods("/" + GatehouseRoutes.AdminRescan, Methods("AdminRescan"),
            (HttpContext c, GatehouseHttp h, DurableTaskClient d, string? id) => h.AdminRescan(c, d, id));
        endpoints.MapMethods("/" + GatehouseRoutes.Console, Methods("Console"), (HttpContext c, GatehouseHttp h, string? path) => h.Console(c, path));
        endpoints.MapMethods("/" + GatehouseRoutes.AdminStats, Methods("AdminStats"), (HttpContext c, GatehouseHttp h) => h.AdminStats(c));
        endpoints.MapMethods("/" + GatehouseRoutes.AdminArtifacts, Methods("AdminArtifacts"), (HttpContext c, GatehouseHttp h) => h.AdminArtifacts(c));
        endpoints.MapMethods("/" + GatehouseRoutes.OciRoot, Methods("OciRoot"), (HttpContext c, GatehouseHttp h) => h.OciRoot(c));
        endpoints.MapMethods("/" + GatehouseRoutes.Oci, Methods("Oci"), (HttpContext c, GatehouseHttp h, DurableTaskClient d, string? path) => h.Oci(c, d, path));
        endpoints.MapMethods("/" + GatehouseRoutes.OciToken, Methods("OciToken"), (HttpContext c, GatehouseHttp h) => h.OciToken(c));
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
        && o.HuggingFace.DownloadWaitSliceSeconds is > 0 and < 10 && o.HuggingFace.PrefetchScanTimeoutSeconds > 0
        && o.PyPI.IndexTtlSeconds >= 0 && o.Scan.InlineWaitSeconds >= 0 && o.Scan.RetryAfterSeconds > 0 && o.Scan.ClaimMinutes > 0
        && o.Serving.Mode is "Stream" or "Sas" && o.Serving.SasLifetimeSeconds is > 0 and <= 3600
        && o.Policy.ReloadSeconds > 0 && o.Archive.MaxEntries > 0 && o.Archive.MaxNestingDepth >= 0 && o.Archive.MaxCompressionRatio > 1
        && IsHttpUrl(o.Osv.ExportUrl)
        && o.Osv.ProjectCacheSeconds >= 0 && o.Osv.UpstreamTimeoutSeconds > 0
        && o.Auth.TokenCacheMilliseconds is >= 0 and <= 60_000 && o.Auth.FailureLimit >= 0 && o.Auth.FailureWindowSeconds > 0 && o.Auth.RotationGraceHours >= 0
        && o.Rescan.BatchSize > 0 && o.Prefetch.MaxTreePages > 0 && o.Prefetch.MaxFiles > 0 && o.AdminWork.Parallelism > 0;

    /// <summary>Each further export is an http(s) URL, and no export is configured twice (a bad ExportUrl is <see cref="Validate"/>'s to report).</summary>
    private static bool ValidExtraExports(OsvOptions osv)
    {
        var urls = osv.ExportUrls();
        return urls.Skip(1).All(IsHttpUrl)
            && (!IsHttpUrl(osv.ExportUrl) || urls.Select(u => new Uri(u).AbsoluteUri).Distinct(StringComparer.Ordinal).Count() == urls.Count);
    }

    private static bool IsHttpUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp);

    /// <summary>Creates containers and tables before the first request.</summary>
    private sealed class StorageInitializer(GatehouseStorage storage) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => storage.EnsureCreatedAsync(cancellationToken);
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
