using DurableTask.AzureStorage;
using Gatehouse.Host.Durable;
using Microsoft.Extensions.Configuration;

namespace Gatehouse.Host.Tests.Durable;

/// <summary>Configuration of the durable backend: key names, defaults and validation.</summary>
public sealed class DurableBackendOptionsTests
{
    private const string Secret = "SuperSecretKeyThatMustNeverBeShown0123456789+/==";
    private const string ConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + Secret + ";" +
        "BlobEndpoint=http://127.0.0.1:21000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:21001/devstoreaccount1;TableEndpoint=http://127.0.0.1:21002/devstoreaccount1;";

    [Fact]
    public void Only_the_storage_connection_is_required_and_the_defaults_match_host_json_and_the_provider()
    {
        var options = Read(new() { ["AzureWebJobsStorage"] = ConnectionString });
        var provider = new AzureStorageOrchestrationServiceSettings();

        Assert.Equal("gatehouse", options.HubName);
        Assert.Equal(0, options.SidecarPort);
        Assert.Equal(4, options.PartitionCount);
        Assert.Equal(TimeSpan.FromSeconds(5), options.MaxQueuePollingInterval);
        Assert.Equal(provider.LeaseInterval, options.LeaseInterval);
        Assert.Equal(provider.LeaseRenewInterval, options.LeaseRenewInterval);
        Assert.Equal(provider.LeaseAcquireInterval, options.LeaseAcquireInterval);
    }

    [Fact]
    public void Every_setting_is_read_from_the_same_keys_as_the_functions_app()
    {
        var options = Read(new()
        {
            ["AzureWebJobsStorage"] = ConnectionString,
            ["Gatehouse:Durable:HubName"] = "scans2",
            ["Gatehouse:Durable:SidecarPort"] = "50051",
            ["Gatehouse:Durable:PartitionCount"] = "16",
            ["Gatehouse:Durable:LeaseIntervalSeconds"] = "4",
            ["Gatehouse:Durable:LeaseRenewIntervalSeconds"] = "1.5",
            ["Gatehouse:Durable:LeaseAcquireIntervalSeconds"] = "0.5",
            ["Gatehouse:Durable:MaxQueuePollingIntervalSeconds"] = "2",
        });

        Assert.Equal(
            ("scans2", 50051, 16, 4.0, 1.5, 0.5, 2.0),
            (options.HubName, options.SidecarPort, options.PartitionCount, options.LeaseInterval.TotalSeconds,
             options.LeaseRenewInterval.TotalSeconds, options.LeaseAcquireInterval.TotalSeconds, options.MaxQueuePollingInterval.TotalSeconds));
        Assert.Equal(ConnectionString, options.StorageConnectionString);
    }

    [Fact]
    public void A_missing_storage_connection_is_reported_by_its_key()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Read([]));

        Assert.Contains("AzureWebJobsStorage is missing", error.Message);
    }

    [Fact]
    public void An_identity_based_storage_connection_is_reported_as_unsupported_here()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Read(new() { ["AzureWebJobsStorage:blobServiceUri"] = "https://x.blob.core.windows.net" }));

        Assert.Contains("identity-based", error.Message);
    }

    [Fact]
    public void Every_invalid_setting_is_reported_at_once_and_the_connection_string_is_never_shown()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Read(new()
        {
            ["AzureWebJobsStorage"] = "AccountKey=" + Secret + ";this is not a connection string",
            ["Gatehouse:Durable:HubName"] = "1-bad",
            ["Gatehouse:Durable:SidecarPort"] = "70000",
            ["Gatehouse:Durable:PartitionCount"] = "17",
            ["Gatehouse:Durable:LeaseIntervalSeconds"] = "2",
            ["Gatehouse:Durable:LeaseRenewIntervalSeconds"] = "3",
            ["Gatehouse:Durable:LeaseAcquireIntervalSeconds"] = "soon",
            ["Gatehouse:Durable:MaxQueuePollingIntervalSeconds"] = "0",
        }));

        foreach (var key in (string[])["AzureWebJobsStorage", "HubName", "SidecarPort", "PartitionCount", "LeaseRenewIntervalSeconds",
                     "LeaseAcquireIntervalSeconds", "MaxQueuePollingIntervalSeconds"])
        {
            Assert.Contains(key, error.Message);
        }

        Assert.DoesNotContain(Secret, error.Message);
    }

    [Theory]
    [InlineData("gatehouse", true)]
    [InlineData("Scan2026", true)]
    [InlineData("ab", false)]
    [InlineData("2scan", false)]
    [InlineData("scan-hub", false)]
    [InlineData("a234567890123456789012345678901234567890123456", false)] // 46 characters
    public void Task_hub_names_follow_the_durable_functions_rule(string hubName, bool valid) =>
        Assert.Equal(valid, DurableBackendOptions.IsValidHubName(hubName));

    [Fact]
    public void Printing_the_options_hides_the_connection_string()
    {
        var options = Read(new() { ["AzureWebJobsStorage"] = ConnectionString });

        var printed = options.ToString();

        Assert.DoesNotContain(Secret, printed);
        Assert.Contains("HubName = gatehouse", printed);
    }

    private static DurableBackendOptions Read(Dictionary<string, string?> settings) =>
        DurableBackendOptions.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
}
