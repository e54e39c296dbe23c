// The Flex Consumption (FC1) plan and the dotnet-isolated 10.0 Function App. The app runs as one user-assigned
// identity for everything: host storage and Durable (AzureWebJobsStorage__*), the deployment container, Key Vault
// references, Application Insights ingestion and publishing verdict events. No setting carries a key.

param planName string
param functionAppName string
param location string
param tags object = {}

@description('Tags for the app only (azd finds the service to deploy by azd-service-name).')
param appTags object = {}

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity: the Functions host and the Azure SDK pick the identity by it.')
param identityClientId string

param blobEndpoint string
param queueEndpoint string
param tableEndpoint string

@description('Blob container the app package is deployed to and run from.')
param deploymentContainerName string

param applicationInsightsConnectionString string

@description('Endpoint of the Event Grid topic Gatehouse publishes verdict events to.')
param verdictTopicEndpoint string

@description('Key Vault URI (https://<name>.vault.azure.net/).')
param keyVaultUri string

@description('Name of the Key Vault secret holding the Hugging Face token for gated repositories.')
param huggingFaceTokenSecretName string

@description('Reference the Hugging Face token secret from the app. Set the secret first: an unresolvable reference reaches the app as the literal "@Microsoft.KeyVault(...)" text.')
param useHuggingFaceTokenSecret bool

@description('Name of the Key Vault secret holding the key that signs the OCI token endpoint\'s tokens.')
param ociTokenSigningKeySecretName string

@description('Reference the OCI token signing key secret from the app (Gatehouse__Oci__TokenSigningKey); else the app keeps a generated key in its config container.')
param useOciTokenSigningKeySecret bool

@description('Memory per instance: 512, 2048 or 4096 MB. Scanning large model files wants 2048 or more.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Upper bound of instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Always-ready instances for the Durable group (orchestrations and activities): at least 1, so queued scans are picked up without waiting for a scale decision.')
@minValue(1)
param durableAlwaysReadyInstances int = 1

@description('Always-ready instances for the HTTP group (0 = scale from zero: the first pip request after idle waits for a cold start).')
@minValue(0)
param httpAlwaysReadyInstances int = 0

@description('Further app settings (for example Gatehouse__PyPI__IndexUrl for a private mirror). The identity, storage, monitoring and Key Vault settings above them cannot be overridden here.')
param additionalAppSettings object = {}

var alwaysReady = concat(
  [
    {
      name: 'durable'
      instanceCount: durableAlwaysReadyInstances
    }
  ],
  httpAlwaysReadyInstances > 0
    ? [
        {
          name: 'http'
          instanceCount: httpAlwaysReadyInstances
        }
      ]
    : []
)

// Versionless secret URI: the app follows the newest version of the secret (refreshed within 24 hours, or on restart).
var huggingFaceTokenReference = '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${huggingFaceTokenSecretName}/)'

var identitySettings = {
  // Host storage, Durable task hub and GatehouseStorage.FromConfiguration: identity-based connection.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  AzureWebJobsStorage__queueServiceUri: queueEndpoint
  AzureWebJobsStorage__tableServiceUri: tableEndpoint
  // DefaultAzureCredential in any other SDK client picks the user-assigned identity by this.
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // In Azure allowed blobs are served as a 302 to a short-lived user-delegation SAS (no account key involved).
  Gatehouse__Serving__Mode: 'Sas'
  Gatehouse__Events__TopicEndpoint: verdictTopicEndpoint
}

// Settings with defaults an operator may override through additionalAppSettings: the Functions timer of the rescan
// resolves its schedule from this one (%Gatehouse:Rescan:Schedule%), so it must exist. Daily at 03:00 UTC.
var defaultSettings = {
  Gatehouse__Rescan__Schedule: '0 0 3 * * *'
}

var secretSettings = union(
  useHuggingFaceTokenSecret
    ? {
        Gatehouse__HuggingFace__UpstreamToken: huggingFaceTokenReference
      }
    : {},
  useOciTokenSigningKeySecret
    ? {
        Gatehouse__Oci__TokenSigningKey: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${ociTokenSigningKeySecretName}/)'
      }
    : {}
)

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-11-01' = {
  name: functionAppName
  location: location
  tags: union(tags, appTags)
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    // Key Vault references resolve with the user-assigned identity (the default would be a system identity).
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReady
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }

  resource appSettings 'config' = {
    name: 'appsettings'
    properties: union(defaultSettings, additionalAppSettings, identitySettings, secretSettings)
  }

  // No publishing user names and passwords: deployments (azd, az, gatehouse deploy) authenticate with Entra ID.
  resource ftpCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: {
      allow: false
    }
  }

  resource scmCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: {
      allow: false
    }
  }
}

output id string = functionApp.id
output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
output planId string = plan.id
output deploymentContainerUrl string = '${blobEndpoint}${deploymentContainerName}'
