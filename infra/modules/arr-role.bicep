// Remote Rendering Administrator for the function app on an existing Remote
// Rendering account (deployed into that account's resource group). The
// Administrator role is needed because the app starts conversions; the
// Client role covers sessions only.
param principalId string
param arrAccountName string

var remoteRenderingAdministrator = '3df8b902-2a6f-47c7-8cc5-360e9b272a7e'

resource arrAccount 'Microsoft.MixedReality/remoteRenderingAccounts@2021-01-01' existing = {
  name: arrAccountName
}

resource arrAdministrator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(arrAccount.id, principalId, remoteRenderingAdministrator)
  scope: arrAccount
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', remoteRenderingAdministrator)
  }
}
