using System.Net.Mime;
using System.Text.Json;

namespace Gatehouse.UpstreamSimulator.Events;

/// <summary>
/// <c>/_sim/events</c>: a CloudEvents webhook (HTTP protocol binding 1.0: structured mode
/// <c>application/cloudevents+json</c>, one event; batched mode <c>application/cloudevents-batch+json</c>, an array),
/// the list of what arrived, and a switch that makes it answer 503.
/// </summary>
internal static class EventReceiverEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var events = app.MapGroup("/_sim/events");
        events.MapPost("", ReceiveAsync);
        events.MapGet("", (EventReceiver receiver) => Results.Json(Listing(receiver)));
        events.MapDelete("", (EventReceiver receiver) =>
        {
            receiver.Clear();
            return Results.Json(Listing(receiver));
        });
        events.MapPost("/down", (EventReceiver receiver) =>
        {
            receiver.IsDown = true;
            return Results.Json(Listing(receiver));
        });
        events.MapPost("/up", (EventReceiver receiver) =>
        {
            receiver.IsDown = false;
            return Results.Json(Listing(receiver));
        });
    }

    private static async Task<IResult> ReceiveAsync(HttpContext context, EventReceiver receiver)
    {
        if (receiver.IsDown)
        {
            receiver.CountRefused();
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
        var mediaType = context.Request.ContentType is { } header ? new ContentType(header).MediaType : "";
        if (mediaType is not ("application/cloudevents+json" or "application/cloudevents-batch+json"))
        {
            return Results.StatusCode(StatusCodes.Status415UnsupportedMediaType);
        }
        JsonElement body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            return Results.BadRequest();
        }
        var batch = mediaType == "application/cloudevents-batch+json";
        if (batch ? body.ValueKind != JsonValueKind.Array : body.ValueKind != JsonValueKind.Object)
        {
            return Results.BadRequest();
        }
        receiver.Add(mediaType, batch ? [.. body.EnumerateArray().Select(e => e.Clone())] : [body.Clone()]);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static object Listing(EventReceiver receiver)
    {
        var deliveries = receiver.Deliveries;
        return new
        {
            down = receiver.IsDown,
            refused = receiver.Refused,
            deliveries = deliveries.Count,
            events = deliveries.SelectMany(d => d.Events.Select(e => new { receivedAt = d.ReceivedAt, contentType = d.ContentType, @event = e })),
        };
    }
}
