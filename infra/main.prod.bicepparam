// A production-like profile: zone-redundant storage, longer retention everywhere, Key Vault purge protection, more
// memory and always-ready instances (no cold start for the first pip request), the Hugging Face token from Key Vault
// and a group, not a person, managing it. See infra/README.md before the first deployment.
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'gatehouse-prod')
param storageSkuName = 'Standard_ZRS'
param blobDeleteRetentionDays = 30
param protectedVersionRetentionDays = 365
param logRetentionInDays = 90
param keyVaultSoftDeleteRetentionInDays = 90
param keyVaultPurgeProtection = true
param instanceMemoryMB = 4096
param maximumInstanceCount = 200
param durableAlwaysReadyInstances = 2
param httpAlwaysReadyInstances = 2
// The first deployment creates the vault: set the secret "hf-upstream-token" right after it and restart the app
// (until then the setting holds the unresolved reference text).
param useHuggingFaceTokenSecret = true
// The OCI token endpoint signs with the Key Vault secret "oci-token-signing-key": given here (openssl rand -base64 64)
// it is written on deployment; else set it by hand (until then the app signs with a key it generates and logs why).
param useOciTokenSigningKeySecret = true
param ociTokenSigningKey = readEnvironmentVariable('GATEHOUSE_OCI_TOKEN_SIGNING_KEY', '')
// Object id of the Entra ID group that rotates upstream credentials (Key Vault Secrets Officer); empty = nobody.
param operatorPrincipalId = readEnvironmentVariable('GATEHOUSE_OPERATOR_GROUP_ID', '')
param operatorPrincipalType = 'Group'
