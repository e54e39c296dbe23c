// Key Vault for upstream credentials (the Hugging Face token for gated repositories) and the OCI token signing key. Access is Azure RBAC only (no
// access policies): the app reads secrets as Key Vault Secrets User through Key Vault references, granted in rbac.bicep.

param name string
param location string
param tags object = {}

@description('Days a deleted vault or secret can be recovered (7-90).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 7

@description('Purge protection: a deleted vault or secret cannot be purged before the retention ends. It can never be switched off again, so it is for production.')
param enablePurgeProtection bool = false

@description('Name of the secret that holds the OCI token signing key.')
param ociTokenSigningKeySecretName string = 'oci-token-signing-key'

@secure()
@description('The OCI token signing key (base64); empty: no secret is written.')
param ociTokenSigningKey string = ''

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    accessPolicies: []
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // The service rejects false here; leaving the property out is how it stays off.
    enablePurgeProtection: enablePurgeProtection ? true : null
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    // Flex Consumption without a virtual network resolves Key Vault references over the public endpoint.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Written only when given, so a redeploy without the parameter leaves a key set by hand in place.
resource ociTokenSigningKeySecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = if (!empty(ociTokenSigningKey)) {
  parent: vault
  name: ociTokenSigningKeySecretName
  properties: {
    value: ociTokenSigningKey
    contentType: 'base64 HMAC key'
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
