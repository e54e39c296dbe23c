// A template without the AZURE_FUNCTION_APP_NAME output: there is no app to publish code to.
targetScope = 'resourceGroup'

param environmentName string

output AZURE_ENVIRONMENT string = environmentName
