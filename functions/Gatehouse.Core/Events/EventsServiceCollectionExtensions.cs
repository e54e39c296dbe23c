using Azure.Messaging.EventGrid;
using Gatehouse.Audit;
using Gatehouse.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Gatehouse.Events;

/// <summary>The events' registrations: the outbox, its destination and the dispatcher, chosen by <see cref="EventsOptions"/>.</summary>
public static class EventsServiceCollectionExtensions
{
    /// <summary>The webhook's HTTP client (no redirects followed: a 3xx is not a delivery).</summary>
    public const string HttpClientName = "gatehouse-events";

    /// <summary>
    /// With a topic or webhook configured, <see cref="IEventOutbox"/> is the table outbox the dispatcher delivers from;
    /// without, events are only recorded in the audit. <paramref name="defaultSource"/> gives the CloudEvents source
    /// when <c>Gatehouse:Events:Source</c> is empty.
    /// </summary>
    public static IServiceCollection AddGatehouseEvents(this IServiceCollection services, IConfiguration configuration, Func<IServiceProvider, string> defaultSource)
    {
        services.AddOptions<EventsOptions>().Bind(configuration.GetSection(EventsOptions.Section))
            .Validate(o => o.IsValid, "Invalid Gatehouse:Events settings: see the configuration reference in README.md").ValidateOnStart();
        services.AddHttpClient(HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(30))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        services.AddSingleton(sp => new TableEventOutbox(sp.GetRequiredService<GatehouseStorage>(),
            sp.GetRequiredService<IOptions<EventsOptions>>().Value.Source is { Length: > 0 } source ? source : defaultSource(sp), sp.GetRequiredService<TimeProvider>()));
        // The destination, when one is configured: the topic, else the webhook (read once, as the options are).
        var configured = configuration.GetSection(EventsOptions.Section).Get<EventsOptions>() ?? new EventsOptions();
        if (configured.TopicEndpoint.Length > 0)
        {
            services.AddSingleton<IEventSink>(_ =>
                new EventGridSink(new EventGridPublisherClient(new Uri(configured.TopicEndpoint), GatehouseStorage.IdentityCredential(configuration))));
        }
        else if (configured.WebhookUrl.Length > 0)
        {
            services.AddSingleton<IEventSink>(sp => new WebhookSink(sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName),
                new Uri(configured.WebhookUrl), configured.WebhookMode == WebhookModes.Batch));
        }
        services.AddSingleton<EventDispatcher>();
        services.AddSingleton<IEventOutbox>(sp => sp.GetRequiredService<IOptions<EventsOptions>>().Value.HasDestination
            ? sp.GetRequiredService<TableEventOutbox>()
            : new AuditOnlyEventOutbox(sp.GetRequiredService<IAuditLog>()));
        return services;
    }
}
