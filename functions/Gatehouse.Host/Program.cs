using Gatehouse;
using Gatehouse.Host;
using Gatehouse.Host.Durable;
using Microsoft.Extensions.Configuration.Memory;

var builder = WebApplication.CreateBuilder(args);

// local.settings.json (or --settings <file>) gives the defaults; environment variables and the command line win.
var settingsPath = builder.Configuration["settings"] ?? Path.Combine(Directory.GetCurrentDirectory(), "local.settings.json");
if (File.Exists(settingsPath))
{
    builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = LocalSettings.Read(settingsPath) });
}
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.Configuration["urls"] = "http://127.0.0.1:7071";
}

// Per-request framework logs cost more than the request on a cached index page; Gatehouse logs its own decisions.
if (builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore"] is null)
{
    builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
}

// On SIGTERM/SIGINT requests still running get this long to finish (the host's default is 30 s; shutdownTimeoutSeconds
// overrides). Downloads waiting for a scan are answered 503 at once when stopping begins; a body still streaming after
// this is cut off (huggingface_hub resumes with Range; pip starts the file again).
if (builder.Configuration[WebHostDefaults.ShutdownTimeoutKey] is null)
{
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
}

builder.Services.AddGatehouse(builder.Configuration);
builder.Services.AddHostedService<OsvRefreshService>();
builder.AddHostTelemetry();
builder.Services.AddHostedService<Gatehouse.Events.EventDispatchService>();
builder.Services.AddHostedService<UploadWatcherService>();
builder.Services.AddHostedService<RescanService>();
builder.AddGatehouseDurable(GatehouseTasks.Register);

var app = builder.Build();
app.MapHostTelemetry();
app.MapGatehouse();
app.MapGatehouseDurable();
app.Run();
