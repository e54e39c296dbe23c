using System.Net;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Grpc;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Grpc;
using Microsoft.DurableTask.Worker.Grpc.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Host.Durable;

/// <summary>
/// Durable backend of the standalone host: the Durable Task gRPC sidecar (<see cref="TaskHubGrpcServer"/> from
/// Microsoft.DurableTask.InProcessTestHost) on its own loopback HTTP/2 endpoint, backed by
/// <see cref="AzureStorageOrchestrationService"/> (Azurite locally), plus an in-process worker and client talking to it.
/// The Functions host does the same for the Functions app: its Durable extension keeps all state, replay and scheduling
/// and talks to the isolated worker over local gRPC (Azure/azure-functions-durable-extension
/// <c>src/Worker.Extensions.DurableTask/README.md</c>).
/// </summary>
public static class DurableBackendExtensions
{
    private const string LogCategory = "Gatehouse.Host.Durable";

    /// <summary>
    /// Registers the AzureStorage orchestration service, the gRPC sidecar on its own loopback HTTP/2 Kestrel endpoint,
    /// a <c>DurableTaskWorker</c> with the given tasks, and a <see cref="DurableTaskClient"/> resolvable from DI.
    /// The application's configured URLs (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, ...) stay bound.
    /// </summary>
    /// <exception cref="InvalidOperationException">The configuration is invalid (see <see cref="DurableBackendOptions"/>).</exception>
    public static WebApplicationBuilder AddGatehouseDurable(this WebApplicationBuilder builder, Action<DurableTaskRegistry> registerTasks)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(registerTasks);
        if (builder.Services.Any(d => d.ServiceType == typeof(DurableSidecarEndpoint)))
        {
            throw new InvalidOperationException($"{nameof(AddGatehouseDurable)} was already called on this builder.");
        }

        var options = DurableBackendOptions.FromConfiguration(builder.Configuration);
        var sidecar = DurableSidecarEndpoint.Resolve(options.SidecarPort);
        var services = builder.Services;

        services.AddSingleton(options);
        services.AddSingleton(sidecar);

        // The provider logs every poll and lease at Information; keep host.json's levels unless configured otherwise.
        foreach (var category in (string[])["DurableTask.AzureStorage", "DurableTask.Core"])
        {
            if (builder.Configuration[$"Logging:LogLevel:{category}"] is null)
            {
                builder.Logging.AddFilter(category, LogLevel.Warning);
            }
        }

        // Backend. The sidecar dispatches work through the sub-orchestration fix, and client calls (start, query, purge,
        // wait) through the Functions rule for existing instance ids; both wrap the one provider instance.
        services.AddSingleton(sp => new AzureStorageOrchestrationService(CreateSettings(options, sp.GetRequiredService<ILoggerFactory>())));
        services.AddSingleton<IOrchestrationService>(sp => SubOrchestrationFixProxy.Wrap(sp.GetRequiredService<AzureStorageOrchestrationService>()));
        services.AddSingleton<IOrchestrationServiceClient>(sp => new FunctionsStartSemanticsClient(
            sp.GetRequiredService<AzureStorageOrchestrationService>(), sp.GetRequiredService<ILogger<FunctionsStartSemanticsClient>>()));

        // Must be registered before the worker: creates the task hub first, releases the leases last.
        services.AddHostedService<DurableTaskHubLifetime>();

        // Sidecar (gRPC server).
        // RequireHost (MapGatehouseDurable) trusts the Host header; the guard checks the connection's real endpoint.
        services.AddGrpc().AddServiceOptions<TaskHubGrpcServer>(o => o.Interceptors.Add<SidecarConnectionGuard>());
        services.AddOptions<TaskHubGrpcServerOptions>().Configure(o => o.Mode = TaskHubGrpcServerMode.ApiServerAndDispatcher);
        services.TryAddSingleton<TaskHubGrpcServer>();

        // In-process worker and client, both on one channel to the sidecar.
        services.AddSingleton<DurableSidecarChannel>();
        services.AddDurableTaskWorker(worker =>
        {
            worker.AddTasks(registerTasks);
            worker.UseGrpc();
            services.AddOptions<GrpcDurableTaskWorkerOptions>(worker.Name)
                .Configure<DurableSidecarChannel>((o, channel) =>
                {
                    o.Channel = channel.Channel;
                    // The worker expects health pings on its idle work-item stream and otherwise reconnects every
                    // 2 minutes (with a warning); this sidecar never sends them. HTTP/2 keep-alive pings on the
                    // channel still detect a dead connection.
                    o.SetSilentDisconnectTimeout(TimeSpan.Zero);
                });
            // Log once, under Microsoft.DurableTask.Worker.*, not also under the legacy "Microsoft.DurableTask".
            services.Configure<DurableTaskWorkerOptions>(worker.Name, o => o.Logging.UseLegacyCategories = false);
        });
        services.AddDurableTaskClient(client =>
        {
            client.UseGrpc();
            client.RegisterDirectly();
            services.AddOptions<GrpcDurableTaskClientOptions>(client.Name)
                .Configure<DurableSidecarChannel>((o, channel) => o.Channel = channel.Channel);
        });

        // Kestrel: the sidecar gets its own HTTP/2-only loopback endpoint. Any code-defined endpoint makes Kestrel
        // ignore the configured URLs, so those are bound explicitly too (see ConfiguredUrlBinder).
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var applicationUrls = ConfiguredUrlBinder.Bind(kestrel, context.Configuration);
            kestrel.Listen(IPAddress.Loopback, sidecar.Port, listen => listen.Protocols = HttpProtocols.Http2);

            var logger = kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory);
            if (applicationUrls.Count > 0)
            {
                DurableLog.EndpointsBound(logger, string.Join(';', applicationUrls), sidecar.Address);
            }
            else
            {
                DurableLog.EndpointsFromKestrelConfiguration(logger, sidecar.Address);
            }
        });

        return builder;
    }

    /// <summary>
    /// Maps the sidecar's gRPC service, reachable only on the sidecar endpoint: routed with
    /// <c>RequireHost("*:&lt;sidecar port&gt;")</c>, and calls that did not arrive on the sidecar's loopback port are
    /// refused with <c>PermissionDenied</c> (the Host header alone can be forged).
    /// </summary>
    public static WebApplication MapGatehouseDurable(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var sidecar = app.Services.GetService<DurableSidecarEndpoint>()
            ?? throw new InvalidOperationException($"Call {nameof(AddGatehouseDurable)} on the builder before {nameof(MapGatehouseDurable)}.");

        app.MapGrpcService<TaskHubGrpcServer>().RequireHost(sidecar.HostPattern);

        var options = app.Services.GetRequiredService<DurableBackendOptions>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory);
        DurableLog.Configured(logger, options.HubName, options.PartitionCount, DescribeStorage(options.StorageConnectionString), sidecar.Address);
        return app;
    }

    internal static AzureStorageOrchestrationServiceSettings CreateSettings(DurableBackendOptions options, ILoggerFactory loggerFactory) => new()
    {
        StorageAccountClientProvider = new StorageAccountClientProvider(options.StorageConnectionString),
        TaskHubName = options.HubName,
        PartitionCount = options.PartitionCount,
        LeaseInterval = options.LeaseInterval,
        LeaseRenewInterval = options.LeaseRenewInterval,
        LeaseAcquireInterval = options.LeaseAcquireInterval,
        MaxQueuePollingInterval = options.MaxQueuePollingInterval,
        WorkItemQueueVisibilityTimeout = options.WorkItemQueueVisibilityTimeout,
        ControlQueueVisibilityTimeout = options.ControlQueueVisibilityTimeout,
        // Functions semantics: starting an instance id that is still running fails with OrchestrationAlreadyExists
        // instead of being silently ignored (the provider's default).
        ThrowExceptionOnInvalidDedupeStatus = true,
        LoggerFactory = loggerFactory,
    };

    /// <summary>Storage blob endpoint without credentials (scheme, host, port, path), for logs and errors.</summary>
    internal static string DescribeStorage(string connectionString)
    {
        try
        {
            return new Azure.Storage.Blobs.BlobServiceClient(connectionString).Uri.GetLeftPart(UriPartial.Path);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            return "(unparsable connection string)";
        }
    }
}
