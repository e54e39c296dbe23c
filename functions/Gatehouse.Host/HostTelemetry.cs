using Gatehouse.Telemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Gatehouse.Host;

/// <summary>
/// OpenTelemetry on the standalone host: ASP.NET Core, HttpClient and runtime instrumentation plus Gatehouse's own
/// source and meter. Metrics are scraped from <c>/metrics</c> (Prometheus text format, admin token required); traces
/// and metrics also go to an OTLP collector when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the OpenTelemetry SDK's
/// own environment variable).
/// </summary>
internal static class HostTelemetry
{
    public const string MetricsPath = "/metrics";

    public static void AddHostTelemetry(this WebApplicationBuilder builder)
    {
        var otlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = builder.Services.AddOpenTelemetry().ConfigureResource(r => r.AddService("gatehouse"));
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(GatehouseTelemetry.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddRuntimeInstrumentation()
                // Every scrape reads the instruments afresh (the exporter's default keeps an answer 300 ms).
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
            if (otlp)
            {
                metrics.AddOtlpExporter();
            }
        });
        telemetry.WithTracing(tracing =>
        {
            tracing.AddSource(GatehouseTelemetry.Name).AddAspNetCoreInstrumentation(o => o.Filter = c => !c.Request.Path.StartsWithSegments(MetricsPath))
                .AddHttpClientInstrumentation();
            if (otlp)
            {
                tracing.AddOtlpExporter();
            }
        });
    }

    /// <summary>The Prometheus scraping endpoint, answered only for an admin token (it shows what flows through Gatehouse).</summary>
    public static void MapHostTelemetry(this WebApplication app)
    {
        app.UseWhen(c => c.Request.Path.StartsWithSegments(MetricsPath),
            branch => branch.Use((context, next) => context.RequestServices.GetRequiredService<GatehouseHttp>().AdminOnlyAsync(context, () => next(context))));
        app.MapPrometheusScrapingEndpoint(MetricsPath);
    }
}
