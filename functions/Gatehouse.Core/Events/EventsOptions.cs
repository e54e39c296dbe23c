namespace Gatehouse.Events;

/// <summary>
/// Where events go (settings <c>Gatehouse:Events:*</c>): an Event Grid topic in Azure, else a webhook, else nowhere but
/// the audit. How often the dispatcher looks, and how it backs off when the destination fails.
/// </summary>
public sealed class EventsOptions
{
    public const string Section = "Gatehouse:Events";

    /// <summary>Event Grid topic endpoint (CloudEvents 1.0 input schema), published to with the app's managed identity.</summary>
    public string TopicEndpoint { get; set; } = "";

    /// <summary>A webhook that receives CloudEvents over HTTP; used when no topic is configured.</summary>
    public string WebhookUrl { get; set; } = "";

    /// <summary>
    /// <c>Structured</c>: one POST per event, <c>application/cloudevents+json</c>; <c>Batch</c>: one POST per batch,
    /// <c>application/cloudevents-batch+json</c> (CloudEvents HTTP protocol binding 1.0, sections 3.2 and 3.3).
    /// </summary>
    public string WebhookMode { get; set; } = WebhookModes.Structured;

    /// <summary>The CloudEvents <c>source</c>; empty means the public base URL of Gatehouse.</summary>
    public string Source { get; set; } = "";

    /// <summary>How often the standalone host's dispatcher looks for pending events when all is delivered.</summary>
    public int PollSeconds { get; set; } = 2;

    /// <summary>The first retry's delay after a failed delivery; each further failure doubles it.</summary>
    public double RetryBaseSeconds { get; set; } = 1;

    /// <summary>The longest delay between two attempts.</summary>
    public double RetryMaxSeconds { get; set; } = 300;

    /// <summary>Events per publish (Event Grid takes up to 1 MB per request; one event here is a few KB).</summary>
    public int BatchSize { get; set; } = 50;

    /// <summary>True when events leave Gatehouse (a topic or a webhook); otherwise they are only recorded in the audit.</summary>
    public bool HasDestination => TopicEndpoint.Length > 0 || WebhookUrl.Length > 0;

    /// <summary>Whether the settings make sense; checked at start.</summary>
    public bool IsValid =>
        (TopicEndpoint.Length == 0 || Uri.TryCreate(TopicEndpoint, UriKind.Absolute, out var topic) && topic.Scheme == Uri.UriSchemeHttps)
        && (WebhookUrl.Length == 0 || Uri.TryCreate(WebhookUrl, UriKind.Absolute, out var hook) && (hook.Scheme == Uri.UriSchemeHttps || hook.Scheme == Uri.UriSchemeHttp))
        && WebhookMode is WebhookModes.Structured or WebhookModes.Batch
        && PollSeconds > 0 && RetryBaseSeconds > 0 && RetryMaxSeconds >= RetryBaseSeconds && BatchSize is > 0 and <= 500;
}

/// <summary>The two CloudEvents HTTP content modes a webhook may be sent.</summary>
public static class WebhookModes
{
    public const string Structured = "Structured";
    public const string Batch = "Batch";
}
