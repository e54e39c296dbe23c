// Phase 2 parameters, read from the environment that azd (and scripts/eventgrid-subscription.sh) provides: the
// outputs of main.bicep. There are no fallbacks for the names on purpose: a missing one stops the build.
using 'eventgrid.bicep'

param functionAppName = readEnvironmentVariable('AZURE_FUNCTION_APP_NAME')
param systemTopicName = readEnvironmentVariable('AZURE_EVENTGRID_SYSTEM_TOPIC_NAME')
param storageAccountName = readEnvironmentVariable('AZURE_STORAGE_ACCOUNT_NAME')
param deadLetterContainerName = readEnvironmentVariable('AZURE_EVENTGRID_DEADLETTER_CONTAINER_NAME', 'eventgrid-deadletter')
param blobTriggerFunctionName = readEnvironmentVariable('GATEHOUSE_BLOB_TRIGGER_FUNCTION', 'ScanUpload')
