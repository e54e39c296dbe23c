using Microsoft.Extensions.Logging;

namespace Gatehouse.Host.Durable;

/// <summary>Structured log messages of the durable backend. None of them carries the storage connection string.</summary>
internal static partial class DurableLog
{
    [LoggerMessage(EventId = 5100, Level = LogLevel.Information,
        Message = "Durable backend: task hub {HubName}, {PartitionCount} partitions, storage {StorageEndpoint}, gRPC sidecar {SidecarAddress}")]
    public static partial void Configured(ILogger logger, string hubName, int partitionCount, string storageEndpoint, Uri sidecarAddress);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Information,
        Message = "Kestrel endpoints: application {ApplicationUrls} (bound explicitly next to the sidecar), gRPC sidecar {SidecarAddress} (HTTP/2)")]
    public static partial void EndpointsBound(ILogger logger, string applicationUrls, Uri sidecarAddress);

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
}
