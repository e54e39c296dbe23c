// Gatehouse on Azure: a Flex Consumption Function App (dotnet-isolated 10.0, Durable Functions on Azure Storage)
// that runs as one user-assigned identity, with identity-only storage, Key Vault, Application Insights + Log Analytics,
// Event Grid (uploads → blob trigger, verdict events out) and diagnostic settings. Phase 2 — the Event Grid
// subscription that needs the deployed code's blobs_extension key — is ./eventgrid.bicep (see README.md).
targetScope = 'resourceGroup'

@description('Name of the environment (azd environment name): part of every resource name\'s hash and the azd-env-name tag.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region for every resource (Flex Consumption must be available there).')
param location string = resourceGroup().location

@description('Storage redundancy: Standard_LRS for development; Standard_ZRS or GZRS in production.')
param storageSkuName string = 'Standard_LRS'

@description('Days deleted blobs, blob versions and containers stay recoverable (soft delete; account-wide).')
param blobDeleteRetentionDays int = 7

@description('Days previous versions of blobs in artifacts, quarantine and config are kept.')
param protectedVersionRetentionDays int = 30

@description('Days Log Analytics (and so Application Insights) keeps data.')
param logRetentionInDays int = 30

@description('Days a deleted Key Vault or secret can be recovered.')
param keyVaultSoftDeleteRetentionInDays int = 7

@description('Key Vault purge protection (irreversible once on): on in production.')
param keyVaultPurgeProtection bool = false

@description('Memory per Function App instance in MB (512, 2048, 4096).')
param instanceMemoryMB int = 2048

@description('Maximum Function App instances (40-1000).')
param maximumInstanceCount int = 100

@description('Always-ready instances for the Durable group (at least 1).')
param durableAlwaysReadyInstances int = 1

@description('Always-ready instances for the HTTP group (0 = scale from zero).')
param httpAlwaysReadyInstances int = 0

@description('Point Gatehouse__HuggingFace__UpstreamToken at the Key Vault secret "hf-upstream-token". Set the secret before turning this on.')
param useHuggingFaceTokenSecret bool = false

@description('Point Gatehouse__Oci__TokenSigningKey at the Key Vault secret "oci-token-signing-key" (set by ociTokenSigningKey or by hand). Off: the app generates a key once and keeps it in its config container.')
param useOciTokenSigningKeySecret bool = false

@secure()
@description('The key (base64, at least 32 bytes: openssl rand -base64 64) that signs the tokens of Gatehouse\'s OCI token endpoint, written to the Key Vault secret "oci-token-signing-key" when given; empty leaves the secret as it is.')
param ociTokenSigningKey string = ''

@description('Optional object id of a user or group that manages the upstream credentials (Key Vault Secrets Officer). azd passes the signed-in user.')
param operatorPrincipalId string = ''

@description('Type of operatorPrincipalId.')
@allowed(['User', 'Group', 'ServicePrincipal'])
param operatorPrincipalType string = 'User'

@description('Further Gatehouse app settings, e.g. {"Gatehouse__PyPI__IndexUrl": "https://mirror.example/simple/"}. They cannot override the identity, storage or monitoring settings.')
param additionalAppSettings object = {}

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'gatehouse'
}

// Storage layout: exactly the names in functions/Gatehouse.Core/Storage/GatehouseStorage.cs (the infra tests compare them).
var appContainers = ['staging', 'artifacts', 'quarantine', 'uploads', 'reports', 'config', 'upstream-cache']
var appTables = ['verdicts', 'references', 'tokens', 'audit', 'vulnerabilities', 'names', 'events', 'overrides', 'consolesessions']
// Overwritten or deleted blobs here must stay recoverable: cached artifacts, quarantined evidence, the policy.
var protectedContainers = ['artifacts', 'quarantine', 'config']
// The Durable task hub names its own containers after the hub name in host.json.
var durableHubName = loadJsonContent('../host.json').extensions.durableTask.hubName

// Every name is computed here, from the template's inputs only, so that what-if and snapshots can predict them.
var identityName = '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
var storageAccountName = '${abbrs.storageStorageAccounts}${resourceToken}'
var logAnalyticsName = '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
var applicationInsightsName = '${abbrs.insightsComponents}${resourceToken}'
var keyVaultName = '${abbrs.keyVaultVaults}${resourceToken}'
var systemTopicName = '${abbrs.eventGridSystemTopics}${resourceToken}'
var verdictTopicName = '${abbrs.eventGridTopics}verdicts-${resourceToken}'
var planName = '${abbrs.webServerFarms}${resourceToken}'
var functionAppName = '${abbrs.webSitesFunctions}${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var deadLetterContainerName = 'eventgrid-deadletter'
var huggingFaceTokenSecretName = 'hf-upstream-token'
var ociTokenSigningKeySecretName = 'oci-token-signing-key'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: identityName
  location: location
  tags: tags
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName
    location: location
    tags: tags
    skuName: storageSkuName
    deleteRetentionDays: blobDeleteRetentionDays
    protectedVersionRetentionDays: protectedVersionRetentionDays
    appContainers: appContainers
    protectedContainers: protectedContainers
    tables: appTables
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    hostContainerPrefixes: ['azure-webjobs-', '${durableHubName}-']
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: logAnalyticsName
    applicationInsightsName: applicationInsightsName
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: keyVaultName
    location: location
    tags: tags
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
    enablePurgeProtection: keyVaultPurgeProtection
    ociTokenSigningKeySecretName: ociTokenSigningKeySecretName
    ociTokenSigningKey: ociTokenSigningKey
  }
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  params: {
    systemTopicName: systemTopicName
    verdictTopicName: verdictTopicName
    location: location
    tags: tags
    storageAccountId: storage.outputs.id
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    planName: planName
    functionAppName: functionAppName
    location: location
    tags: tags
    appTags: {
      'azd-service-name': 'gatehouse'
    }
    identityId: identity.id
    identityClientId: identity.properties.clientId
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    verdictTopicEndpoint: eventGrid.outputs.verdictTopicEndpoint
    keyVaultUri: keyVault.outputs.uri
    huggingFaceTokenSecretName: huggingFaceTokenSecretName
    useHuggingFaceTokenSecret: useHuggingFaceTokenSecret
    ociTokenSigningKeySecretName: ociTokenSigningKeySecretName
    useOciTokenSigningKeySecret: useOciTokenSigningKeySecret
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    durableAlwaysReadyInstances: durableAlwaysReadyInstances
    httpAlwaysReadyInstances: httpAlwaysReadyInstances
    additionalAppSettings: additionalAppSettings
  }
  // The app reads storage, Key Vault and App Insights at start: grant its roles first.
  dependsOn: [rbac]
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  params: {
    // A role assignment's name must be known when its deployment starts, and guid(scope, principal, role) needs the
    // principal id, which exists only once the identity does: these two are the template's only runtime-valued
    // module inputs, and what-if shows the assignments in this module as "may change".
    #disable-next-line what-if-short-circuiting
    appPrincipalId: identity.properties.principalId
    #disable-next-line what-if-short-circuiting
    systemTopicPrincipalId: eventGrid.outputs.systemTopicPrincipalId
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
    storageAccountName: storageAccountName
    deadLetterContainerName: deadLetterContainerName
    applicationInsightsName: applicationInsightsName
    verdictTopicName: verdictTopicName
    keyVaultName: keyVaultName
  }
  dependsOn: [monitoring, keyVault] // storage: through eventGrid
}

module diagnostics 'modules/diagnostics.bicep' = {
  name: 'diagnostics'
  params: {
    logAnalyticsId: monitoring.outputs.logAnalyticsId
    storageAccountName: storageAccountName
    functionAppName: functionAppName
    keyVaultName: keyVaultName
    systemTopicName: systemTopicName
    verdictTopicName: verdictTopicName
  }
  dependsOn: [storage, functionApp, keyVault, eventGrid]
}

// The outputs contract: azd stores these in the environment, `gatehouse deploy` and scripts/eventgrid-subscription.sh read them.
output AZURE_FUNCTION_APP_NAME string = functionAppName
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_STORAGE_ACCOUNT_NAME string = storageAccountName
output AZURE_DEPLOYMENT_CONTAINER_URL string = functionApp.outputs.deploymentContainerUrl
output AZURE_KEY_VAULT_NAME string = keyVaultName
output AZURE_EVENTGRID_SYSTEM_TOPIC_NAME string = systemTopicName
output AZURE_EVENTGRID_DEADLETTER_CONTAINER_NAME string = deadLetterContainerName
output AZURE_VERDICT_TOPIC_ENDPOINT string = eventGrid.outputs.verdictTopicEndpoint
