// Diagnostic settings: every resource that has logs sends them, with its metrics, to the Log Analytics workspace.
// Storage logs every read, write and delete (who fetched which artifact is part of a supply-chain audit trail).

param logAnalyticsId string
param storageAccountName string
param functionAppName string
param keyVaultName string
param systemTopicName string
param verdictTopicName string

var settingName = 'to-log-analytics'
var storageLogs = [
  { category: 'StorageRead', enabled: true }
  { category: 'StorageWrite', enabled: true }
  { category: 'StorageDelete', enabled: true }
]
var storageMetrics = [
  { category: 'Transaction', enabled: true }
]
var allMetrics = [
  { category: 'AllMetrics', enabled: true }
]

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName

  resource blobServices 'blobServices' existing = {
    name: 'default'
  }

  resource queueServices 'queueServices' existing = {
    name: 'default'
  }

  resource tableServices 'tableServices' existing = {
    name: 'default'
  }
}

resource functionApp 'Microsoft.Web/sites@2024-11-01' existing = {
  name: functionAppName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource verdictTopic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: verdictTopicName
}

resource storageDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: storage
  properties: {
    workspaceId: logAnalyticsId
    metrics: storageMetrics
  }
}

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: storage::blobServices
  properties: {
    workspaceId: logAnalyticsId
    logs: storageLogs
    metrics: storageMetrics
  }
}

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: storage::queueServices
  properties: {
    workspaceId: logAnalyticsId
    logs: storageLogs
    metrics: storageMetrics
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: storage::tableServices
  properties: {
    workspaceId: logAnalyticsId
    logs: storageLogs
    metrics: storageMetrics
  }
}

resource functionAppDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: functionApp
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      { category: 'FunctionAppLogs', enabled: true }
    ]
    metrics: allMetrics
  }
}

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: vault
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      { category: 'AuditEvent', enabled: true }
    ]
    metrics: allMetrics
  }
}

resource systemTopicDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: systemTopic
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      { category: 'DeliveryFailures', enabled: true }
    ]
    metrics: allMetrics
  }
}

resource verdictTopicDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: verdictTopic
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      { category: 'DeliveryFailures', enabled: true }
      { category: 'PublishFailures', enabled: true }
    ]
    metrics: allMetrics
  }
}
