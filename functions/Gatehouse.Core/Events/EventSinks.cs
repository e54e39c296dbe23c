using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Azure;
using Azure.Messaging;
using Azure.Messaging.EventGrid;

namespace Gatehouse.Events;

/// <summary>
/// What a destination did with a batch: the first <see cref="Delivered"/> events were accepted; when <see cref="Error"/>
/// is set the rest were not. <see cref="Rejected"/> says the destination refused them for good (retrying cannot help);
/// <see cref="Single"/> that the refusal is about exactly the event after the delivered ones.
/// </summary>
public sealed record SinkResult(int Delivered, string? Error = null, bool Rejected = false, bool Single = false)
{
    public static SinkResult All(int count) => new(count);
}

/// <summary>A destination for CloudEvents (each a JSON object in the structured format).</summary>
public interface IEventSink
{
    Task<SinkResult> SendAsync(IReadOnlyList<string> envelopes, CancellationToken cancellationToken);
}

/// <summary>
/// An Event Grid custom topic with the CloudEvents 1.0 input schema, published to with the app's identity (the app holds
/// EventGrid Data Sender on the topic). A batch is accepted or refused whole.
/// </summary>
public sealed class EventGridSink(EventGridPublisherClient client) : IEventSink
{
    public async Task<SinkResult> SendAsync(IReadOnlyList<string> envelopes, CancellationToken cancellationToken)
    {
        try
        {
            await client.SendEventsAsync(envelopes.Select(e => CloudEvent.Parse(BinaryData.FromString(e))!), cancellationToken);
            return SinkResult.All(envelopes.Count);
        }
        catch (RequestFailedException e)
        {
            // Event Grid answers 400 for an event it will never take and 413 for a batch too large; anything else
            // (401/403 while a role assignment propagates, 429, 5xx) may pass later.
            return new SinkResult(0, $"Event Grid answered {e.Status}: {e.ErrorCode ?? e.Message}", e.Status is 400 or 413, envelopes.Count == 1);
        }
    }
}

/// <summary>
/// A webhook, through the CloudEvents HTTP protocol binding 1.0 (<c>cloudevents/spec</c>
/// <c>cloudevents/bindings/http-protocol-binding.md</c>): in structured mode one POST per event with
/// <c>application/cloudevents+json</c>, stopping at the first failure so later events never overtake it; in batched mode
/// one POST of a JSON array with <c>application/cloudevents-batch+json</c>. Any 2xx is delivery; 408, 429 and 5xx (and no
/// answer) are tried again; another 4xx is a refusal.
/// </summary>
public sealed class WebhookSink(HttpClient http, Uri url, bool batch) : IEventSink
{
    public async Task<SinkResult> SendAsync(IReadOnlyList<string> envelopes, CancellationToken cancellationToken)
    {
        if (batch)
        {
            var error = await PostAsync("[" + string.Join(",", envelopes) + "]", CloudEventEnvelope.BatchContentType, cancellationToken);
            return error is null ? SinkResult.All(envelopes.Count) : new SinkResult(0, error.Value.Message, error.Value.Rejected, envelopes.Count == 1);
        }
        for (var i = 0; i < envelopes.Count; i++)
        {
            if (await PostAsync(envelopes[i], CloudEventEnvelope.ContentType, cancellationToken) is { } error)
            {
                return new SinkResult(i, error.Message, error.Rejected, Single: true);
            }
        }
        return SinkResult.All(envelopes.Count);
    }

    private async Task<(string Message, bool Rejected)?> PostAsync(string body, string mediaType, CancellationToken cancellationToken)
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType) { CharSet = "utf-8" };
        try
        {
            using var response = await http.PostAsync(url, content, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return null;
            }
            var status = (int)response.StatusCode;
            return ($"the webhook answered {status}", status is >= 400 and < 500 && response.StatusCode is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests));
        }
        catch (HttpRequestException e)
        {
            return ($"the webhook could not be reached: {e.Message}", false);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ("the webhook did not answer in time", false);
        }
    }
}
