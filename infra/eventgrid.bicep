// Phase 2: the Event Grid subscription that feeds blobs created in `uploads` to the app's blob trigger.
//
// It cannot be part of main.bicep: the webhook needs the Functions host's `blobs_extension` system key, and the host
// creates that key only when it first starts code that has a blob trigger, i.e. after the code deployment. Deploy this
// after `azd deploy` / the code deployment; scripts/eventgrid-subscription.sh waits for the key and runs it (azd's
// postdeploy hook calls that script). The key is read with listKeys inside this deployment: it never leaves Azure.
targetScope = 'resourceGroup'

@description('The Function App (AZURE_FUNCTION_APP_NAME from main.bicep).')
param functionAppName string

@description('The storage system topic (AZURE_EVENTGRID_SYSTEM_TOPIC_NAME from main.bicep).')
param systemTopicName string

@description('The storage account (AZURE_STORAGE_ACCOUNT_NAME from main.bicep); dead-lettered events go there.')
param storageAccountName string

@description('Name of the blob-trigger function that scans uploads ([Function("...")] in Gatehouse.Functions).')
param blobTriggerFunctionName string = 'ScanUpload'

@description('Container whose new blobs are sent to the trigger.')
param uploadsContainerName string = 'uploads'

@description('Container for events Event Grid could not deliver (AZURE_EVENTGRID_DEADLETTER_CONTAINER_NAME).')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Delivery attempts before an event is dead-lettered (Event Grid retries with back-off).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes Event Grid keeps retrying one event before it is dead-lettered.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

resource functionApp 'Microsoft.Web/sites@2024-11-01' existing = {
  name: functionAppName

  // The host resource (its keys) is not in Bicep's type index, so it cannot be type-checked; listKeys on it is the
  // documented way to read a system key from a template.
  #disable-next-line BCP081
  resource host 'host' existing = {
    name: 'default'
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

// https://<app>/runtime/webhooks/blobs?functionName=Host.Functions.<name>&code=<blobs_extension key>
// (functions-event-grid-blob-trigger.md, "Build the endpoint URL").
var blobsExtensionKey = functionApp::host.listKeys().systemKeys.blobs_extension
var webhookUrl = 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${blobTriggerFunctionName}&code=${blobsExtensionKey}'

resource uploadsSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: systemTopic
  name: '${uploadsContainerName}-to-${toLower(blobTriggerFunctionName)}'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: webhookUrl
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      subjectBeginsWith: '/blobServices/default/containers/${uploadsContainerName}/'
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    // The topic's system identity writes dead letters (Storage Blob Data Contributor on this container, rbac.bicep).
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output subscriptionName string = uploadsSubscription.name
output webhookBaseUrl string = 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${blobTriggerFunctionName}'
