// arrops deployment: one resource group holding the Flex Consumption function
// app (Go custom handler), its storage (tables, queues, containers), Service
// Bus (commands queue, events topic), the Event Grid wiring that turns uploads
// into queue messages, and monitoring. The function app reaches everything
// with its system-assigned identity; no key or connection string is stored.
//
// This file is checked by internal/infracheck (parsing only: there is no Bicep
// compiler in CI). Settings of config.Settings that are deliberately not set
// here are listed on "infracheck: unset" lines with the reason.
//
// infracheck: unset ARR_STS_ENDPOINT: only for the local simulator; Azure derives https://sts.<account domain>
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds resource names.')
param environmentName string

@minLength(1)
@description('Region of every resource. Must offer Flex Consumption.')
param location string

@description('Tags added to every resource.')
param tags object = {}

// ---- Remote Rendering account (existing; ARR can no longer be created) ----

@description('Name of an existing Remote Rendering account. Empty: no role assignment is made (grant access by hand).')
param arrAccountName string = ''

@description('Resource group of the existing Remote Rendering account (default: the one azd creates).')
param arrResourceGroup string = ''

@description('Remote Rendering account id (a UUID): ARR_ACCOUNT_ID.')
param arrAccountId string

@description('Remote Rendering account domain, e.g. eastus.mixedreality.azure.com: ARR_ACCOUNT_DOMAIN.')
param arrAccountDomain string

@description('Service endpoint override: ARR_ENDPOINT (empty: derived from the account domain).')
param arrEndpoint string = ''

@allowed(['Standard', 'Premium'])
param arrDefaultSize string = 'Standard'

@minValue(1)
@maxValue(1440)
param arrDefaultLeaseMinutes int = 60

// ---- Conversions ----

@description('Container whose uploads are converted (ARR_INPUT_CONTAINER).')
param inputContainerName string = 'arr-input'

@description('Only blobs under this prefix are converted (ARR_INPUT_PREFIX).')
param inputPrefix string = ''

@description('Container receiving .arrAsset files (ARR_OUTPUT_CONTAINER).')
param outputContainerName string = 'arr-output'

@description('Prefix prepended to output paths (ARR_OUTPUT_PREFIX).')
param outputPrefix string = ''

@allowed(['linked', 'userDelegationSas'])
@description('How ARR reads and writes blobs (ARR_STORAGE_ACCESS). linked needs the storage account linked to the ARR account.')
param storageAccess string = 'userDelegationSas'

@minValue(15)
@maxValue(1440)
param sasExpiryMinutes int = 240

// ---- Schedules (function.json binds %WATCH_SCHEDULE% and %SHUTDOWN_SCHEDULE%: they must be set) ----

@description('NCRONTAB, six fields (WATCH_SCHEDULE).')
param watchSchedule string = '0 */1 * * * *'

@minValue(1)
@maxValue(64)
param watchConcurrency int = 8

@minValue(0)
@maxValue(60)
@description('Follow-up sweep period in seconds while anything is in transition (WATCH_FOLLOWUP_SECONDS); 0: off.')
param watchFollowupSeconds int = 5

@description('NCRONTAB, six fields (SHUTDOWN_SCHEDULE).')
param shutdownSchedule string = '0 */5 * * * *'

// ---- Shutdown policies (empty: off) ----

param shutdownMaxReadyMinutes string = ''
@description('HH:MM-HH:MM in shutdownTimeZone, may cross midnight, e.g. 19:00-07:00.')
param shutdownQuietHours string = ''
param shutdownQuietWeekends bool = false
@description('IANA time zone name, e.g. Europe/Berlin.')
param shutdownTimeZone string = 'UTC'
param shutdownDailyBudgetMinutes string = ''
param shutdownAbsoluteMaxMinutes string = ''
param shutdownWarningMinutes string = '10'
param shutdownDryRun bool = false
param shutdownConcurrency string = '8'

@allowed(['', 'Standard', 'Premium'])
@description('Size of the one replacement for a session that failed before Ready (ARR_FALLBACK_SIZE); empty: off.')
param arrFallbackSize string = ''

// ---- Warm pool (off while both sizes are 0) ----

@minValue(0)
@maxValue(100)
@description('Ready Standard sessions to keep in the pool window (POOL_STANDARD).')
param poolStandard int = 0
@minValue(0)
@maxValue(100)
@description('Ready Premium sessions to keep in the pool window (POOL_PREMIUM).')
param poolPremium int = 0
@description('HH:MM-HH:MM in poolTimeZone, may cross midnight; required when a pool size is set (POOL_HOURS).')
param poolHours string = ''
@description('Days the pool window opens, e.g. Mon-Fri; empty: every day (POOL_DAYS).')
param poolDays string = ''
@description('IANA time zone of the pool window; empty: shutdownTimeZone (POOL_TIME_ZONE).')
param poolTimeZone string = ''
@minValue(15)
@maxValue(1440)
@description('Lease of an unclaimed pool session in minutes (POOL_LEASE_MINUTES).')
param poolLeaseMinutes int = 60

// ---- Cost estimates (both or neither) ----

param rateStandardPerHour string = ''
param ratePremiumPerHour string = ''
param currency string = 'USD'

@allowed(['debug', 'info', 'warn', 'error'])
param logLevel string = 'info'

@minValue(1)
@maxValue(1000)
@description('Flex Consumption scale-out limit.')
param maximumInstanceCount int = 40

// ---- Names ----

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var allTags = union(tags, { 'azd-env-name': environmentName })
var rgName = 'rg-${environmentName}'
var storageAccountName = 'st${resourceToken}'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'
var serviceBusName = 'sb-${resourceToken}'
var functionAppName = 'func-${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: rgName
  location: location
  tags: allTags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: allTags
    logAnalyticsName: 'log-${resourceToken}'
    appInsightsName: 'appi-${resourceToken}'
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: allTags
    name: storageAccountName
    inputContainerName: inputContainerName
    outputContainerName: outputContainerName
    deploymentContainerName: deploymentContainerName
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    location: location
    tags: allTags
    name: serviceBusName
  }
}

module events 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    location: location
    tags: allTags
    storageAccountName: storage.outputs.name
    systemTopicName: 'evgt-${resourceToken}'
    inputContainerName: inputContainerName
    inputPrefix: inputPrefix
  }
}

// App settings of arrops (config.Settings). Secrets (ARR_ACCOUNT_KEY,
// AzureWebJobsStorage, ServiceBusConnection) are never set here: the app uses
// its managed identity. The identity-based connection settings are added by
// the functionapp module, which knows the endpoints.
var appSettings = {
  ARR_ACCOUNT_ID: arrAccountId
  ARR_ACCOUNT_DOMAIN: arrAccountDomain
  ARR_ENDPOINT: arrEndpoint
  ARR_DEFAULT_SIZE: arrDefaultSize
  ARR_DEFAULT_LEASE_MINUTES: string(arrDefaultLeaseMinutes)
  ARR_FALLBACK_SIZE: arrFallbackSize
  WATCH_SCHEDULE: watchSchedule
  WATCH_CONCURRENCY: string(watchConcurrency)
  WATCH_FOLLOWUP_SECONDS: string(watchFollowupSeconds)
  SHUTDOWN_SCHEDULE: shutdownSchedule
  SHUTDOWN_MAX_READY_MINUTES: shutdownMaxReadyMinutes
  SHUTDOWN_QUIET_HOURS: shutdownQuietHours
  SHUTDOWN_QUIET_WEEKENDS: string(shutdownQuietWeekends)
  SHUTDOWN_TIME_ZONE: shutdownTimeZone
  SHUTDOWN_DAILY_BUDGET_MINUTES: shutdownDailyBudgetMinutes
  SHUTDOWN_ABSOLUTE_MAX_MINUTES: shutdownAbsoluteMaxMinutes
  SHUTDOWN_WARNING_MINUTES: shutdownWarningMinutes
  SHUTDOWN_DRY_RUN: string(shutdownDryRun)
  SHUTDOWN_CONCURRENCY: shutdownConcurrency
  POOL_STANDARD: string(poolStandard)
  POOL_PREMIUM: string(poolPremium)
  POOL_HOURS: poolHours
  POOL_DAYS: poolDays
  POOL_TIME_ZONE: poolTimeZone
  POOL_LEASE_MINUTES: string(poolLeaseMinutes)
  ARR_INPUT_CONTAINER: inputContainerName
  ARR_INPUT_PREFIX: inputPrefix
  ARR_OUTPUT_CONTAINER: outputContainerName
  ARR_OUTPUT_PREFIX: outputPrefix
  ARR_STORAGE_ACCESS: storageAccess
  ARR_SAS_EXPIRY_MINUTES: string(sasExpiryMinutes)
  ARR_RATE_STANDARD_PER_HOUR: rateStandardPerHour
  ARR_RATE_PREMIUM_PER_HOUR: ratePremiumPerHour
  ARR_CURRENCY: currency
  ARROPS_LOG_LEVEL: logLevel
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    location: location
    tags: allTags
    name: functionAppName
    planName: 'plan-${resourceToken}'
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    appInsightsConnectionString: monitoring.outputs.connectionString
    maximumInstanceCount: maximumInstanceCount
    appSettings: appSettings
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.name
    inputContainerName: inputContainerName
    outputContainerName: outputContainerName
    deploymentContainerName: deploymentContainerName
    serviceBusName: serviceBus.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

// Remote Rendering Administrator on the existing account: conversions need
// more than the Client role. Skipped when no account name is given.
module arrRole 'modules/arr-role.bicep' = if (!empty(arrAccountName)) {
  name: 'arr-role'
  scope: resourceGroup(empty(arrResourceGroup) ? rgName : arrResourceGroup)
  dependsOn: [
    rg
  ]
  params: {
    principalId: functionApp.outputs.principalId
    arrAccountName: arrAccountName
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.url
output AZURE_FUNCTION_PRINCIPAL_ID string = functionApp.outputs.principalId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_SERVICEBUS_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output ARR_INPUT_CONTAINER string = inputContainerName
output ARR_OUTPUT_CONTAINER string = outputContainerName
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
