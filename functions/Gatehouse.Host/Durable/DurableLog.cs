using Microsoft.Extensions.Logging;

namespace Gatehouse.Host.Durable;

/// <summary>Structured log messages of the durable backend. None of them carries the storage connection string.</summary>
internal static partial class DurableLog
{
    [LoggerMessage(EventId = 5100, Level = LogLevel.Information,
        Message = "Durable backend: task hub {HubName}, {PartitionCount} partitions, storage {StorageEndpoint}, gRPC sidecar {SidecarAddress}")]
    public static partial void Configured(ILogger logger, string hubName, int partitionCount, string storageEndpoint, Uri sidecarAddress);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Information,
        Message = "Kestrel endpoints: application {ApplicationUrls}, gRPC sidecar {SidecarAddress} (HTTP/2, loopback). The application URLs are bound explicitly because the sidecar is a code-defined endpoint; Kestrel's \"Overriding address(es)\" warning that follows refers to these same URLs")]
    public static partial void EndpointsBound(ILogger logger, string applicationUrls, Uri sidecarAddress);

    [LoggerMessage(EventId = 5107, Level = LogLevel.Information,
        Message = "Kestrel endpoints: application from Kestrel:Endpoints configuration, gRPC sidecar {SidecarAddress} (HTTP/2, loopback)")]
    public static partial void EndpointsFromKestrelConfiguration(ILogger logger, Uri sidecarAddress);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Information,
        Message = "Task hub {HubName} ready in {ElapsedMilliseconds} ms")]
    public static partial void TaskHubReady(ILogger logger, string hubName, long elapsedMilliseconds);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Error,
        Message = "Could not create or open task hub {HubName} in storage {StorageEndpoint}; is the storage emulator running?")]
    public static partial void TaskHubFailed(ILogger logger, Exception exception, string hubName, string storageEndpoint);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Information,
        Message = "Orchestration service for task hub {HubName} stopped in {ElapsedMilliseconds} ms (partition leases released)")]
    public static partial void Stopped(ILogger logger, string hubName, long elapsedMilliseconds);

    [LoggerMessage(EventId = 5105, Level = LogLevel.Warning,
        Message = "Orchestration service for task hub {HubName} did not stop cleanly; its partition leases will expire on their own")]
    public static partial void StopFailed(ILogger logger, Exception exception, string hubName);

    [LoggerMessage(EventId = 5106, Level = LogLevel.Debug,
        Message = "Starting {OrchestrationName} instance {InstanceId} with the Functions rule: a Running, Pending, ContinuedAsNew or Suspended instance is not replaced")]
    public static partial void FunctionsDedupeApplied(ILogger logger, string? orchestrationName, string? instanceId);
}
