// The one storage account: Gatehouse's blob containers and tables (named in GatehouseStorage.cs), the Durable Task
// hub (its own queues, tables and blobs, created by the host at start), the Flex deployment container and the Event
// Grid dead-letter container. Identity only: shared keys are off, so no connection string can work against it.

@description('Storage account name (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object = {}

@description('Standard_LRS for development; Standard_ZRS (or GZRS) survives a zone outage.')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
param skuName string = 'Standard_LRS'

@description('Days a deleted blob, blob version or container can be restored (soft delete).')
@minValue(1)
@maxValue(365)
param deleteRetentionDays int = 7

@description('Days previous versions of blobs in the protected containers (artifacts, quarantine, config) are kept.')
@minValue(1)
@maxValue(3650)
param protectedVersionRetentionDays int = 30

@description('Blob containers the app uses (GatehouseStorage.cs).')
param appContainers string[]

@description('Containers whose overwritten or deleted blobs must stay recoverable: their previous versions are kept for protectedVersionRetentionDays. Every other container keeps previous versions for one day only.')
param protectedContainers string[]

@description('Tables the app uses (GatehouseStorage.cs).')
param tables string[]

@description('Blob container the Flex Consumption app deploys its package from.')
param deploymentContainerName string

@description('Blob container Event Grid dead-letters undeliverable upload events into.')
param deadLetterContainerName string

@description('Name prefixes of the containers the Functions host and the Durable task hub create themselves (azure-webjobs-hosts, <hub>-leases, …); their old blob versions expire after a day.')
param hostContainerPrefixes string[]

var allContainers = concat(appContainers, [deploymentContainerName, deadLetterContainerName])
// A lifecycle rule matches blobs by "<container>/<name prefix>"; a prefix without a slash matches container names.
var unprotectedPrefixes = concat(
  map(filter(allContainers, c => !contains(protectedContainers, c)), c => '${c}/'),
  hostContainerPrefixes
)

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    // Identity only: no account keys, no SAS signed with them; the portal uses Entra ID too.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    // Flex Consumption without a virtual network reaches storage over its public endpoint (with Entra ID auth).
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }

  resource blobServices 'blobServices' = {
    name: 'default'
    properties: {
      // Versioning and soft delete are account-wide settings in Azure Storage: they cannot be switched on for one
      // container only. What is per container is how long previous versions are kept (lifecyclePolicy below).
      isVersioningEnabled: true
      deleteRetentionPolicy: {
        enabled: true
        days: deleteRetentionDays
      }
      containerDeleteRetentionPolicy: {
        enabled: true
        days: deleteRetentionDays
      }
    }

    resource containers 'containers' = [
      for container in allContainers: {
        name: container
        properties: {
          publicAccess: 'None'
        }
      }
    ]
  }

  resource tableServices 'tableServices' = {
    name: 'default'

    resource appTables 'tables' = [
      for table in tables: {
        name: table
      }
    ]
  }

  // Durable Functions creates its control and work-item queues itself; the service is declared so that its
  // diagnostic settings have a parent.
  resource queueServices 'queueServices' = {
    name: 'default'
  }

  resource lifecyclePolicy 'managementPolicies' = {
    name: 'default'
    properties: {
      policy: {
        rules: [
          {
            name: 'keepProtectedVersions'
            enabled: true
            type: 'Lifecycle'
            definition: {
              filters: {
                blobTypes: ['blockBlob']
                prefixMatch: [for c in protectedContainers: '${c}/']
              }
              actions: {
                version: {
                  delete: {
                    daysAfterCreationGreaterThan: protectedVersionRetentionDays
                  }
                }
              }
            }
          }
          {
            // Staging, uploads, caches, packages and the host's own blobs are rewritten often; old versions are noise.
            // (Two delete rules on one blob would fire at the earlier age, so the two prefix lists must not overlap.)
            name: 'expireOtherVersions'
            enabled: true
            type: 'Lifecycle'
            definition: {
              filters: {
                blobTypes: ['blockBlob']
                prefixMatch: unprotectedPrefixes
              }
              actions: {
                version: {
                  delete: {
                    daysAfterCreationGreaterThan: 1
                  }
                }
              }
            }
          }
        ]
      }
    }
    dependsOn: [blobServices::containers]
  }
}

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
