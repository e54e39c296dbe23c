using System.Globalization;
using System.Text;
using DurableTask.AzureStorage;
using Microsoft.Extensions.Configuration;

namespace Gatehouse.Host.Durable;

/// <summary>
/// Settings of the standalone host's durable backend (AzureStorage provider behind the in-process gRPC sidecar).
/// Key names match the Azure Functions app (<c>AzureWebJobsStorage</c>, hub name from host.json); environment
/// variables use <c>__</c> for <c>:</c>, e.g. <c>Gatehouse__Durable__HubName</c>.
/// </summary>
public sealed record DurableBackendOptions
{
    public const string StorageConnectionKey = "AzureWebJobsStorage";
    public const string SectionName = "Gatehouse:Durable";
    public const string HubNameKey = SectionName + ":HubName";
    public const string SidecarPortKey = SectionName + ":SidecarPort";
    public const string PartitionCountKey = SectionName + ":PartitionCount";
    public const string LeaseIntervalKey = SectionName + ":LeaseIntervalSeconds";
    public const string LeaseRenewIntervalKey = SectionName + ":LeaseRenewIntervalSeconds";
    public const string LeaseAcquireIntervalKey = SectionName + ":LeaseAcquireIntervalSeconds";
    public const string MaxQueuePollingIntervalKey = SectionName + ":MaxQueuePollingIntervalSeconds";
    public const string WorkItemVisibilityTimeoutKey = SectionName + ":WorkItemQueueVisibilityTimeoutSeconds";
    public const string ControlQueueVisibilityTimeoutKey = SectionName + ":ControlQueueVisibilityTimeoutSeconds";

    /// <summary>Same default as <c>extensions.durableTask.hubName</c> in host.json.</summary>
    public const string DefaultHubName = "gatehouse";

    public const int DefaultPartitionCount = 4;

    /// <summary>host.json sets <c>maxQueuePollingInterval</c> to 5 s (the provider default is 30 s).</summary>
    public static readonly TimeSpan DefaultMaxQueuePollingInterval = TimeSpan.FromSeconds(5);

    // Task hub names become table, queue and blob-container names; these are the Durable Functions rules.
    private const int MinHubNameLength = 3;
    private const int MaxHubNameLength = 45;

    /// <summary>Storage connection string (<c>AzureWebJobsStorage</c>). A secret: never logged, never printed.</summary>
    public required string StorageConnectionString { get; init; }

    public string HubName { get; init; } = DefaultHubName;

    /// <summary>Loopback port of the gRPC sidecar; 0 picks a free port at startup.</summary>
    public int SidecarPort { get; init; }

    public int PartitionCount { get; init; } = DefaultPartitionCount;

    public TimeSpan LeaseInterval { get; init; } = ProviderDefaults.LeaseInterval;

    public TimeSpan LeaseRenewInterval { get; init; } = ProviderDefaults.LeaseRenewInterval;

    public TimeSpan LeaseAcquireInterval { get; init; } = ProviderDefaults.LeaseAcquireInterval;

    public TimeSpan MaxQueuePollingInterval { get; init; } = DefaultMaxQueuePollingInterval;

    /// <summary>How long a dequeued activity message stays hidden: after a crash, the time before another process retries it.</summary>
    public TimeSpan WorkItemQueueVisibilityTimeout { get; init; } = ProviderDefaults.WorkItemQueueVisibilityTimeout;

    /// <summary>The same for orchestration (control queue) messages.</summary>
    public TimeSpan ControlQueueVisibilityTimeout { get; init; } = ProviderDefaults.ControlQueueVisibilityTimeout;

    private static AzureStorageOrchestrationServiceSettings ProviderDefaults { get; } = new();

    /// <summary>
    /// Reads and validates the settings. Throws <see cref="InvalidOperationException"/> listing every problem
    /// (never the connection string itself).
    /// </summary>
    public static DurableBackendOptions FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var errors = new List<string>();

        var connectionString = configuration[StorageConnectionKey];
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            errors.Add(configuration.GetSection(StorageConnectionKey).GetChildren().Any()
                ? $"{StorageConnectionKey} is configured as an identity-based connection ({StorageConnectionKey}:<setting>); the standalone host needs a connection string in {StorageConnectionKey}."
                : $"{StorageConnectionKey} is missing: set it to a storage connection string (for Azurite: scripts/lib/azurite.sh azurite_connection_string).");
        }
        else if (!IsParsableConnectionString(connectionString))
        {
            errors.Add($"{StorageConnectionKey} is not a valid storage connection string (value not shown).");
        }

        var hubName = configuration[HubNameKey] is { Length: > 0 } configuredHub ? configuredHub : DefaultHubName;
        if (!IsValidHubName(hubName))
        {
            errors.Add($"{HubNameKey} '{hubName}' is invalid: use {MinHubNameLength}-{MaxHubNameLength} letters or digits, starting with a letter.");
        }

        var sidecarPort = ReadInt(configuration, SidecarPortKey, 0, min: 0, max: 65535, errors);
        var partitionCount = ReadInt(configuration, PartitionCountKey, DefaultPartitionCount, min: 1, max: 16, errors);
        var leaseInterval = ReadSeconds(configuration, LeaseIntervalKey, ProviderDefaults.LeaseInterval, errors);
        var leaseRenewInterval = ReadSeconds(configuration, LeaseRenewIntervalKey, ProviderDefaults.LeaseRenewInterval, errors);
        var leaseAcquireInterval = ReadSeconds(configuration, LeaseAcquireIntervalKey, ProviderDefaults.LeaseAcquireInterval, errors);
        var maxQueuePollingInterval = ReadSeconds(configuration, MaxQueuePollingIntervalKey, DefaultMaxQueuePollingInterval, errors);
        var workItemVisibility = ReadSeconds(configuration, WorkItemVisibilityTimeoutKey, ProviderDefaults.WorkItemQueueVisibilityTimeout, errors);
        var controlVisibility = ReadSeconds(configuration, ControlQueueVisibilityTimeoutKey, ProviderDefaults.ControlQueueVisibilityTimeout, errors);

        if (leaseInterval > TimeSpan.Zero && leaseRenewInterval > TimeSpan.Zero && leaseRenewInterval >= leaseInterval)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"{LeaseRenewIntervalKey} ({leaseRenewInterval.TotalSeconds} s) must be shorter than {LeaseIntervalKey} ({leaseInterval.TotalSeconds} s), otherwise partition leases expire before they are renewed."));
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException(
                "Invalid durable backend configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => " - " + e)));
        }

        return new DurableBackendOptions
        {
            StorageConnectionString = connectionString!,
            HubName = hubName,
            SidecarPort = sidecarPort,
            PartitionCount = partitionCount,
            LeaseInterval = leaseInterval,
            LeaseRenewInterval = leaseRenewInterval,
            LeaseAcquireInterval = leaseAcquireInterval,
            MaxQueuePollingInterval = maxQueuePollingInterval,
            WorkItemQueueVisibilityTimeout = workItemVisibility,
            ControlQueueVisibilityTimeout = controlVisibility,
        };
    }

    /// <summary>Durable Functions task hub rule: letters and digits, starts with a letter, 3-45 characters.</summary>
    public static bool IsValidHubName(string? hubName) =>
        hubName is { Length: >= MinHubNameLength and <= MaxHubNameLength }
        && char.IsAsciiLetter(hubName[0])
        && hubName.All(char.IsAsciiLetterOrDigit);

    // The record's generated ToString would print the connection string; list everything else instead. The compiler
    // calls this member, which the unused-member analyzer cannot see.
#pragma warning disable IDE0051
    private bool PrintMembers(StringBuilder builder)
#pragma warning restore IDE0051
    {
        builder.Append(CultureInfo.InvariantCulture,
            $"HubName = {HubName}, SidecarPort = {SidecarPort}, PartitionCount = {PartitionCount}, LeaseInterval = {LeaseInterval}, LeaseRenewInterval = {LeaseRenewInterval}, LeaseAcquireInterval = {LeaseAcquireInterval}, MaxQueuePollingInterval = {MaxQueuePollingInterval}, WorkItemQueueVisibilityTimeout = {WorkItemQueueVisibilityTimeout}, ControlQueueVisibilityTimeout = {ControlQueueVisibilityTimeout}, StorageConnectionString = (hidden)");
        return true;
    }

    private static bool IsParsableConnectionString(string connectionString)
    {
        try
        {
            // Parses only (no I/O); throws FormatException/ArgumentException for malformed strings.
            _ = new Azure.Storage.Blobs.BlobServiceClient(connectionString);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private static int ReadInt(IConfiguration configuration, string key, int defaultValue, int min, int max, List<string> errors)
    {
        var raw = configuration[key];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return defaultValue;
        }

        if (int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        errors.Add($"{key} must be an integer between {min} and {max} (was '{raw}').");
        return defaultValue;
    }

    private static TimeSpan ReadSeconds(IConfiguration configuration, string key, TimeSpan defaultValue, List<string> errors)
    {
        var raw = configuration[key];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return defaultValue;
        }

        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            && double.IsFinite(seconds) && seconds > 0 && seconds <= TimeSpan.FromHours(1).TotalSeconds)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        errors.Add($"{key} must be a number of seconds greater than 0 and at most 3600 (was '{raw}').");
        return defaultValue;
    }
}
