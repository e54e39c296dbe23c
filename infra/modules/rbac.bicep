// Every role assignment of the deployment, in one place. Each is named guid(scope, principal, role), so a redeploy
// finds the same assignment again. No Owner, Contributor or User Access Administrator anywhere: the app's identity
// gets data-plane roles on exactly the resources it uses, nothing at resource-group scope.

@description('Principal id of the user-assigned identity the Function App runs as.')
param appPrincipalId string

@description('Principal id of the storage system topic\'s system-assigned identity (it dead-letters undeliverable events).')
param systemTopicPrincipalId string

@description('Optional: a user or group that manages the upstream credentials in Key Vault (empty = none).')
param operatorPrincipalId string = ''

@allowed(['User', 'Group', 'ServicePrincipal'])
param operatorPrincipalType string = 'User'

param storageAccountName string
param deadLetterContainerName string
param applicationInsightsName string
param verdictTopicName string
param keyVaultName string

// Built-in role definition ids (the same in every tenant).
// Storage Blob Data Owner: the Functions host's documented role for an identity-based AzureWebJobsStorage (host
// locks, keys and timers in azure-webjobs-* containers), Durable's lease and large-message blobs, the app's
// containers (staging → artifacts/quarantine moves), pulling the package from the deployment container, and the
// user-delegation key behind the read-only SAS redirects (Gatehouse__Serving__Mode=Sas).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// Storage Blob Data Contributor: lets Event Grid write undeliverable upload events into the dead-letter container.
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
// Storage Queue Data Contributor: Durable Functions' control and work-item queues on Azure Storage.
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
// Storage Table Data Contributor: Durable's history and instance tables, and Gatehouse's verdicts, references,
// tokens and audit tables.
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
// Monitoring Metrics Publisher: Entra ID ingestion into Application Insights, whose local auth is disabled.
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
// EventGrid Data Sender: publishing verdict events to the custom topic, whose local auth is disabled.
var eventGridDataSender = 'd5a91429-5739-47e2-a06b-3470a27159e7'
// Key Vault Secrets User: reading secret values, for the Key Vault reference of the Hugging Face upstream token.
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
// Key Vault Secrets Officer: the operator sets and rotates the upstream token (never given to the app).
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName

  resource blobServices 'blobServices' existing = {
    name: 'default'

    resource deadLetterContainer 'containers' existing = {
      name: deadLetterContainerName
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource verdictTopic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: verdictTopicName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

resource appStorageBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
  }
}

resource appStorageQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageQueueDataContributor)
  scope: storage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
  }
}

resource appStorageTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageTableDataContributor)
  scope: storage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
  }
}

resource appMonitoring 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appPrincipalId, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
  }
}

resource appVerdictTopic 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(verdictTopic.id, appPrincipalId, eventGridDataSender)
  scope: verdictTopic
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSender)
  }
}

resource appKeyVault 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
  }
}

resource systemTopicDeadLetter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::blobServices::deadLetterContainer.id, systemTopicPrincipalId, storageBlobDataContributor)
  scope: storage::blobServices::deadLetterContainer
  properties: {
    principalId: systemTopicPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
  }
}

resource operatorKeyVault 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(vault.id, operatorPrincipalId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
  }
}
