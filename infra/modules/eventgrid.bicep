// Event Grid, phase 1: the system topic on the storage account (its subscription to the blob trigger is phase 2,
// ../eventgrid.bicep, because it needs the app's blobs_extension key) and the custom topic Gatehouse publishes verdict
// events to. The custom topic accepts Entra ID only (the app holds EventGrid Data Sender on it, granted in rbac.bicep).

param systemTopicName string
param verdictTopicName string
param location string
param tags object = {}

@description('Resource id of the storage account whose blob events the system topic carries.')
param storageAccountId string

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: location
  tags: tags
  // The subscription dead-letters undeliverable events into the storage account with this identity.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: storageAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource verdictTopic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: verdictTopicName
  location: location
  tags: tags
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    // No topic access keys or SAS tokens: publishers authenticate with Entra ID.
    disableLocalAuth: true
    minimumTlsVersionAllowed: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

output systemTopicId string = systemTopic.id
output systemTopicName string = systemTopic.name
output systemTopicPrincipalId string = systemTopic.identity.principalId
output verdictTopicId string = verdictTopic.id
output verdictTopicName string = verdictTopic.name
output verdictTopicEndpoint string = verdictTopic.properties.endpoint
