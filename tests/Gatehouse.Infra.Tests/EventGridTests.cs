namespace Gatehouse.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed class EventGridTests(InfraWorkspace infra)
{
    [Fact]
    public void System_topic_carries_the_storage_account_s_events_and_has_an_identity_for_dead_letters()
    {
        var deployment = new Deployment(infra.Default);

        Assert.Equal(deployment.StorageId, deployment.SystemTopic.Str("properties.source"));
        Assert.Equal("Microsoft.Storage.StorageAccounts", deployment.SystemTopic.Str("properties.topicType"));
        Assert.Equal("SystemAssigned", deployment.SystemTopic.Str("identity.type"));
        // Phase 1 creates no subscription: the webhook's key does not exist before the code is deployed.
        Assert.Empty(deployment.Snapshot.OfType("Microsoft.EventGrid/systemTopics/eventSubscriptions"));
    }

    [Fact]
    public void Phase_two_sends_only_BlobCreated_in_uploads_to_the_blob_trigger_webhook_with_the_blobs_extension_key()
    {
        var subscription = infra.EventGrid.Single("Microsoft.EventGrid/systemTopics/eventSubscriptions");
        var app = InfraWorkspace.PhaseTwoEnvironment["AZURE_FUNCTION_APP_NAME"];
        var appId = $"{InfraWorkspace.ResourceGroupId}/providers/Microsoft.Web/sites/{app}";

        Assert.Equal($"{InfraWorkspace.PhaseTwoEnvironment["AZURE_EVENTGRID_SYSTEM_TOPIC_NAME"]}/uploads-to-scanupload", (string?)subscription["name"]);
        Assert.Equal(["Microsoft.Storage.BlobCreated"], subscription.At("properties.filter.includedEventTypes")!.AsArray().Select(t => (string)t!));
        Assert.Equal("/blobServices/default/containers/uploads/", subscription.Str("properties.filter.subjectBeginsWith"));
        Assert.Equal("EventGridSchema", subscription.Str("properties.eventDeliverySchema"));
        Assert.Equal("WebHook", subscription.Str("properties.destination.endpointType"));
        Assert.Equal(
            $"[format('https://{{0}}/runtime/webhooks/blobs?functionName=Host.Functions.{{1}}&code={{2}}', reference('{appId}', '2024-11-01').defaultHostName, 'ScanUpload', listKeys('{appId}/host/default', '2024-11-01').systemKeys.blobs_extension)]",
            subscription.Str("properties.destination.properties.endpointUrl"));
        Assert.Equal(1, subscription.Int("properties.destination.properties.maxEventsPerBatch"));
    }

    [Fact]
    public void Phase_two_retries_and_then_dead_letters_with_the_topic_s_identity()
    {
        var subscription = infra.EventGrid.Single("Microsoft.EventGrid/systemTopics/eventSubscriptions");
        var storage = InfraWorkspace.PhaseTwoEnvironment["AZURE_STORAGE_ACCOUNT_NAME"];

        Assert.Equal(30, subscription.Int("properties.retryPolicy.maxDeliveryAttempts"));
        Assert.Equal(1440, subscription.Int("properties.retryPolicy.eventTimeToLiveInMinutes"));
        Assert.Equal("SystemAssigned", subscription.Str("properties.deadLetterWithResourceIdentity.identity.type"));
        Assert.Equal("StorageBlob", subscription.Str("properties.deadLetterWithResourceIdentity.deadLetterDestination.endpointType"));
        Assert.Equal($"{InfraWorkspace.ResourceGroupId}/providers/Microsoft.Storage/storageAccounts/{storage}",
            subscription.Str("properties.deadLetterWithResourceIdentity.deadLetterDestination.properties.resourceId"));
        Assert.Equal("eventgrid-deadletter", subscription.Str("properties.deadLetterWithResourceIdentity.deadLetterDestination.properties.blobContainerName"));
        // No key ever leaves the deployment: the webhook URL is not an output.
        Assert.All(infra.EventGrid.Outputs, o => Assert.DoesNotContain("listKeys", o.Value!.ToJsonString(), StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Phase_two_parameter_names_are_main_bicep_s_outputs()
    {
        var parameters = File.ReadAllText(Path.Combine(infra.InfraDirectory, "eventgrid.bicepparam"));
        var outputs = infra.Default.Outputs.Select(o => o.Key).ToHashSet();

        foreach (var variable in new[] { "AZURE_FUNCTION_APP_NAME", "AZURE_EVENTGRID_SYSTEM_TOPIC_NAME", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_EVENTGRID_DEADLETTER_CONTAINER_NAME" })
        {
            Assert.Contains($"readEnvironmentVariable('{variable}'", parameters);
            Assert.Contains(variable, outputs);
        }
    }

    [Fact]
    public async Task Phase_two_refuses_to_build_without_the_names_of_phase_one()
    {
        var result = await infra.RunAsync(null, "build-params", "eventgrid.bicepparam", "--stdout");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(result.Diagnostics, d => d.Contains("AZURE_FUNCTION_APP_NAME", StringComparison.Ordinal) && d.Contains("BCP427", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("default")]
    [InlineData("production")]
    public void Verdict_topic_accepts_Entra_ID_only_and_the_app_is_told_its_endpoint(string profile)
    {
        var deployment = new Deployment(infra.Profile(profile));
        var topic = deployment.VerdictTopic;

        Assert.True(topic.Bool("properties.disableLocalAuth"));
        Assert.Equal("1.2", topic.Str("properties.minimumTlsVersionAllowed"));
        Assert.Equal("CloudEventSchemaV1_0", topic.Str("properties.inputSchema"));
        var endpoint = $"[{Deployment.ReferenceTo(topic, "endpoint")}]";
        Assert.Equal(endpoint, deployment.Setting("Gatehouse__Events__TopicEndpoint"));
        Assert.Equal(endpoint, deployment.Snapshot.Output("AZURE_VERDICT_TOPIC_ENDPOINT"));
    }
}
