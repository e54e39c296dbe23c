using System.Globalization;
using System.Text.Json.Nodes;

namespace Gatehouse.Events;

/// <summary>
/// A <see cref="GatehouseEvent"/> as a CloudEvents 1.0 event in the JSON format (CloudEvents spec v1.0.2,
/// <c>cloudevents/spec</c> <c>cloudevents/formats/json-format.md</c>): the required attributes <c>specversion</c>, <c>id</c>,
/// <c>source</c>, <c>type</c>, and <c>subject</c>, <c>time</c> (RFC 3339), <c>datacontenttype</c> and <c>data</c>.
/// The same JSON goes to a webhook and, parsed, to Event Grid, so both receive identical events.
/// </summary>
public static class CloudEventEnvelope
{
    public const string SpecVersion = "1.0";

    /// <summary>Structured content mode of the HTTP binding (one event per request).</summary>
    public const string ContentType = "application/cloudevents+json";

    /// <summary>Batched content mode of the HTTP binding (a JSON array of events).</summary>
    public const string BatchContentType = "application/cloudevents-batch+json";

    public static JsonObject Create(GatehouseEvent gatehouseEvent, string source) => new()
    {
        ["specversion"] = SpecVersion,
        ["id"] = gatehouseEvent.Id,
        ["source"] = source,
        ["type"] = gatehouseEvent.Type,
        ["subject"] = gatehouseEvent.Subject,
        ["time"] = gatehouseEvent.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
        ["datacontenttype"] = "application/json",
        ["data"] = gatehouseEvent.Data.DeepClone(),
    };
}
