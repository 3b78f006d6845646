// The arrops function app: Linux Flex Consumption running the Go custom
// handler (runtime "custom"), with a system-assigned identity used for every
// connection. On Flex Consumption the runtime is chosen in functionAppConfig;
// the FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION app settings
// are rejected there, so they are not set.
param location string
param tags object
param name string
param planName string
param storageAccountName string
param deploymentContainerName string
param serviceBusNamespace string
param appInsightsConnectionString string
param maximumInstanceCount int
@description('arrops settings (config.Settings), merged over the connection settings below.')
param appSettings object

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd deploys the "api" service of azure.yaml to the app tagged with it.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${account.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
}

// Identity-based connections: the host and the handler build their clients
// from these endpoints and the app's identity (azidentity), no keys.
var connectionSettings = {
  AzureWebJobsStorage__blobServiceUri: account.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: account.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: account.properties.primaryEndpoints.table
  ServiceBusConnection__fullyQualifiedNamespace: serviceBusNamespace
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(connectionSettings, appSettings)
}

output name string = site.name
output principalId string = site.identity.principalId
output url string = 'https://${site.properties.defaultHostName}'
