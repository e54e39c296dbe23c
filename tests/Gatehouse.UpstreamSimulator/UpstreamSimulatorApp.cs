using Gatehouse.UpstreamSimulator.Catalog;
using Gatehouse.UpstreamSimulator.Control;
using Gatehouse.UpstreamSimulator.Events;
using Gatehouse.UpstreamSimulator.HuggingFace;
using Gatehouse.UpstreamSimulator.Oci;
using Gatehouse.UpstreamSimulator.Osv;
using Gatehouse.UpstreamSimulator.PyPI;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Gatehouse.UpstreamSimulator;

/// <summary>Builds and starts the offline upstreams (PyPI, the Hugging Face Hub, OSV's export, a Docker Hub registry) on Kestrel.</summary>
public static class UpstreamSimulatorApp
{
    /// <summary>Builds the app with fixtures loaded and endpoints mapped; the caller starts it.</summary>
    public static WebApplication Build(SimulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.FixturesPath))
        {
            throw new ArgumentException("FixturesPath is required.", nameof(options));
        }

        var files = FixtureLoader.LoadAsync(options.FixturesPath).GetAwaiter().GetResult();
        var ownsDataPath = options.DataPath is null;
        var dataPath = Path.GetFullPath(options.DataPath ?? Path.Combine(Path.GetTempPath(), $"gatehouse-sim-{Guid.NewGuid():N}"));
        Directory.CreateDirectory(dataPath);
        var state = new SimulatorState(ProjectCatalog.From(files), dataPath, options.TimeProvider);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = typeof(UpstreamSimulatorApp).Assembly.GetName().Name,
        });
        builder.WebHost.UseUrls(options.Urls);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton(new EventReceiver(options.TimeProvider));
        var oci = new OciState(dataPath, options.TimeProvider);
        builder.Services.AddSingleton(oci);
        // Tests dispose simulators with downloads in flight; never wait the default 30 s for them.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));

        var app = builder.Build();
        if (ownsDataPath)
        {
            app.Lifetime.ApplicationStopped.Register(() => TryDeleteDirectory(dataPath));
        }

        // While down, everything except the control plane answers 503 (like an upstream outage).
        app.Use(async (context, next) =>
        {
            if (state.IsDown && !context.Request.Path.StartsWithSegments("/_sim"))
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync("503 Service Unavailable (simulated outage)\n", context.RequestAborted);
                return;
            }
            if (!context.Request.Path.StartsWithSegments("/_sim") && state.FaultFor(context.Request.Path.Value ?? "") is { } fault)
            {
                await fault.WriteAsync(context);
                return;
            }

            await next(context);
        });

        SimpleIndexEndpoints.Map(app);
        FileEndpoints.Map(app);
        JsonApiEndpoints.Map(app);
        ControlPlaneEndpoints.Map(app);
        EventReceiverEndpoints.Map(app);
        HuggingFaceSimulator.Map(app, HuggingFaceSimulator.FixturesPathFor(options.FixturesPath), options.TimeProvider);
        OsvExportEndpoints.Map(app, OsvExportEndpoints.FixturesFor(options.FixturesPath));
        OciSimulator.Map(app, oci);
        return app;
    }

    /// <summary>Builds and starts the simulator; with the default URL it listens on a free loopback port.</summary>
    public static async Task<RunningSimulator> StartAsync(SimulatorOptions options, CancellationToken ct = default)
    {
        var app = Build(options);
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("Kestrel reported no listening address.");
        return new RunningSimulator(app, new Uri(address.TrimEnd('/') + "/"), app.Services.GetRequiredService<SimulatorState>());
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a file still open elsewhere must not fail shutdown.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
