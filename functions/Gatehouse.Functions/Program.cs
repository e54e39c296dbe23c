using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Gatehouse;
using Gatehouse.Telemetry;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

var builder = FunctionsApplication.CreateBuilder(args);

builder.ConfigureFunctionsWebApplication();
builder.Services.AddGatehouse(builder.Configuration);

// Traces and metrics (Gatehouse's source and meter, with the worker's own invocation spans) go to Application
// Insights when the app has its connection string (infra/app sets APPLICATIONINSIGHTS_CONNECTION_STRING); host.json's
// telemetryMode makes the Functions host use OpenTelemetry too.
var telemetry = builder.Services.AddOpenTelemetry().UseFunctionsWorkerDefaults()
    .WithTracing(tracing => tracing.AddSource(GatehouseTelemetry.Name))
    .WithMetrics(metrics => metrics.AddMeter(GatehouseTelemetry.Name));
if (!string.IsNullOrEmpty(builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"]))
{
    // Application Insights takes only Entra ID tokens here (infra/modules/monitoring.bicep); AZURE_CLIENT_ID picks the app's identity.
    telemetry.UseAzureMonitorExporter(o => o.Credential = new DefaultAzureCredential());
}

// The Durable extension turns every registered class into an orchestrationTrigger/activityTrigger function at start-up.
builder.ConfigureDurableWorker().AddTasks(GatehouseTasks.Register);

builder.Build().Run();
