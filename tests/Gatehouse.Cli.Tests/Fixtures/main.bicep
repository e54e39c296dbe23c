// A small stand-in for infra/main.bicep with the same parameter and output contract, for `gatehouse deploy` tests.
targetScope = 'resourceGroup'

@description('Name of the environment; part of every resource name')
param environmentName string

@description('Region of the resources')
param location string = resourceGroup().location

var token = toLower(uniqueString(resourceGroup().id, environmentName))

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st${token}'
  location: location
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    allowSharedKeyAccess: false
    minimumTlsVersion: 'TLS1_2'
  }
}

output AZURE_STORAGE_ACCOUNT_NAME string = storage.name
output AZURE_FUNCTION_APP_NAME string = 'func-${token}'
