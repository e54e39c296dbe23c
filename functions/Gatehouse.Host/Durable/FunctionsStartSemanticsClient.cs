using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Query;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Host.Durable;

/// <summary>
/// The orchestration-service client the gRPC sidecar uses, with the Azure Functions rule for starting an instance id
/// that already exists.
/// </summary>
/// <remarks>
/// When the caller gives no reuse policy (<c>StartOrchestrationOptions.DedupeStatuses</c> unset), the sidecar passes no
/// dedupe statuses and <c>AzureStorageOrchestrationService</c> then overwrites the existing instance,
/// even a running one. The Durable Functions host instead applies its default <c>overridableExistingInstanceStates</c>
/// (<c>NonRunningStates</c>): an instance that is Running, Pending, ContinuedAsNew or Suspended is not replaced and the
/// start fails with <c>OrchestrationAlreadyExistsException</c> (gRPC <c>AlreadyExists</c>; the provider throws because
/// <c>ThrowExceptionOnInvalidDedupeStatus</c> is on), while a Completed, Failed or Terminated instance is started afresh.
/// This class applies that default; explicit dedupe statuses from the caller are passed through unchanged.
/// Everything else is delegated as is.
/// </remarks>
internal sealed class FunctionsStartSemanticsClient(
    IOrchestrationServiceClient inner,
    ILogger<FunctionsStartSemanticsClient> logger)
    : IOrchestrationServiceClient, IOrchestrationServiceQueryClient, IOrchestrationServicePurgeClient
{
    /// <summary>The Functions host's <c>OverridableStates.NonRunningStates</c> expressed as dedupe statuses.</summary>
    internal static readonly OrchestrationStatus[] FunctionsDedupeStatuses =
    [
        OrchestrationStatus.Running,
        OrchestrationStatus.ContinuedAsNew,
        OrchestrationStatus.Pending,
        OrchestrationStatus.Suspended,
    ];

    public Task CreateTaskOrchestrationAsync(TaskMessage creationMessage) =>
        CreateTaskOrchestrationAsync(creationMessage, dedupeStatuses: null!);

    public Task CreateTaskOrchestrationAsync(TaskMessage creationMessage, OrchestrationStatus[] dedupeStatuses)
    {
        if (dedupeStatuses is null)
        {
            dedupeStatuses = FunctionsDedupeStatuses;
            if (creationMessage?.Event is ExecutionStartedEvent started)
            {
                DurableLog.FunctionsDedupeApplied(logger, started.Name, creationMessage.OrchestrationInstance?.InstanceId);
            }
        }

        return inner.CreateTaskOrchestrationAsync(creationMessage, dedupeStatuses);
    }

    public Task SendTaskOrchestrationMessageAsync(TaskMessage message) => inner.SendTaskOrchestrationMessageAsync(message);

    public Task SendTaskOrchestrationMessageBatchAsync(params TaskMessage[] messages) => inner.SendTaskOrchestrationMessageBatchAsync(messages);

    public Task<OrchestrationState> WaitForOrchestrationAsync(string instanceId, string executionId, TimeSpan timeout, CancellationToken cancellationToken) =>
        inner.WaitForOrchestrationAsync(instanceId, executionId, timeout, cancellationToken);

    public Task ForceTerminateTaskOrchestrationAsync(string instanceId, string reason) => inner.ForceTerminateTaskOrchestrationAsync(instanceId, reason);

    public Task<IList<OrchestrationState>> GetOrchestrationStateAsync(string instanceId, bool allExecutions) =>
        inner.GetOrchestrationStateAsync(instanceId, allExecutions);

    public Task<OrchestrationState> GetOrchestrationStateAsync(string instanceId, string executionId) =>
        inner.GetOrchestrationStateAsync(instanceId, executionId);

    public Task<string> GetOrchestrationHistoryAsync(string instanceId, string executionId) => inner.GetOrchestrationHistoryAsync(instanceId, executionId);

    public Task PurgeOrchestrationHistoryAsync(DateTime thresholdDateTimeUtc, OrchestrationStateTimeRangeFilterType timeRangeFilterType) =>
        inner.PurgeOrchestrationHistoryAsync(thresholdDateTimeUtc, timeRangeFilterType);

    public Task<OrchestrationQueryResult> GetOrchestrationWithQueryAsync(OrchestrationQuery query, CancellationToken cancellationToken) =>
        inner is IOrchestrationServiceQueryClient queryClient
            ? queryClient.GetOrchestrationWithQueryAsync(query, cancellationToken)
            : throw new NotSupportedException($"{inner.GetType().Name} does not support instance queries.");

    public Task<PurgeResult> PurgeInstanceStateAsync(string instanceId) =>
        inner is IOrchestrationServicePurgeClient purgeClient
            ? purgeClient.PurgeInstanceStateAsync(instanceId)
            : throw new NotSupportedException($"{inner.GetType().Name} does not support purging.");

    public Task<PurgeResult> PurgeInstanceStateAsync(PurgeInstanceFilter purgeInstanceFilter) =>
        inner is IOrchestrationServicePurgeClient purgeClient
            ? purgeClient.PurgeInstanceStateAsync(purgeInstanceFilter)
            : throw new NotSupportedException($"{inner.GetType().Name} does not support purging.");
}
