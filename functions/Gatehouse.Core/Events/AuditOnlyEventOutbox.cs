using Gatehouse.Audit;

namespace Gatehouse.Events;

/// <summary>Events recorded in the audit and delivered nowhere: what an installation without a topic or webhook gets.</summary>
public sealed class AuditOnlyEventOutbox(IAuditLog audit) : IEventOutbox
{
    public Task EnqueueAsync(GatehouseEvent gatehouseEvent, CancellationToken cancellationToken) =>
        audit.WriteAsync("event", gatehouseEvent.Subject, $"{gatehouseEvent.Type} {gatehouseEvent.Id}: {gatehouseEvent.Data.ToJsonString()}", cancellationToken);
}
