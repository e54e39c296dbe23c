// Defaults: a development-sized Gatehouse. azd sets AZURE_ENV_NAME (and AZURE_PRINCIPAL_ID, the signed-in user, who
// then may set the Hugging Face token in Key Vault); with the az CLI, export them or take the fallbacks.
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'gatehouse-dev')
param operatorPrincipalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
// A pipeline that runs azd as a service principal sets AZURE_PRINCIPAL_TYPE=ServicePrincipal.
param operatorPrincipalType = readEnvironmentVariable('AZURE_PRINCIPAL_TYPE', 'User')
