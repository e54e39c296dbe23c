using System.Text.Json.Nodes;

namespace Gatehouse.Events;

/// <summary>
/// One thing Gatehouse announces, before it becomes a CloudEvents 1.0 envelope: its type (one of
/// <see cref="GatehouseEventTypes"/>), its subject (what it is about, e.g. <c>pypi/gh-demo/gh_demo-1.0.0.tar.gz</c>) and its
/// data. <paramref name="Id"/> is stable for the fact it reports, so a retried publish is recognised as the same event.
/// </summary>
public sealed record GatehouseEvent(string Id, string Type, string Subject, JsonObject Data, DateTimeOffset Time);

/// <summary>The event types Gatehouse publishes.</summary>
public static class GatehouseEventTypes
{
    public const string ArtifactQuarantined = "Gatehouse.ArtifactQuarantined";
    public const string ArtifactReleased = "Gatehouse.ArtifactReleased";
    public const string VerdictChanged = "Gatehouse.VerdictChanged";
    public const string ArtifactBlocked = "Gatehouse.ArtifactBlocked";
    public const string UploadScanned = "Gatehouse.UploadScanned";
    public const string TokenRevoked = "Gatehouse.TokenRevoked";

    public static readonly IReadOnlyList<string> All = [ArtifactQuarantined, ArtifactReleased, VerdictChanged, ArtifactBlocked, UploadScanned, TokenRevoked];
}

/// <summary>
/// Where events are handed over for delivery. An event enqueued here is delivered at least once to the configured
/// destination (Event Grid topic, webhook) and recognised by its id when delivered again; enqueueing never waits on
/// the destination.
/// </summary>
public interface IEventOutbox
{
    Task EnqueueAsync(GatehouseEvent gatehouseEvent, CancellationToken cancellationToken);
}
