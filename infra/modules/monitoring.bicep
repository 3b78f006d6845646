// Log Analytics workspace and workspace-based Application Insights. Local
// (instrumentation-key) ingestion is disabled: the function app sends
// telemetry with its identity (Monitoring Metrics Publisher, see roles.bicep).
param location string
param tags object
param logAnalyticsName string
param appInsightsName string

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

output appInsightsName string = appInsights.name
// Not a credential: with local auth disabled the key in it cannot ingest alone.
output connectionString string = appInsights.properties.ConnectionString
