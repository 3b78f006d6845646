// Service Bus of arrops: the commands queue other apps send to, and the
// events topic arrops publishes transitions on. Local (SAS) auth is disabled.
param location string
param tags object
param name string

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: name
  location: location
  tags: tags
  // Standard: topics need it (Basic has queues only).
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
  }
}

resource commandsQueue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: 'arr-commands'
  properties: {
    // A start command is redelivered at most this often before it is
    // dead-lettered; the handler answers 2xx to permanent failures anyway.
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
    deadLetteringOnMessageExpiration: true
  }
}

// Replies to commands sent by arrctl (cmd/arrctl ServiceBusReplyQueue): each
// arrctl takes only the replies correlated with its own command and leaves the
// rest; replies nobody waits for expire after an hour.
resource arrctlRepliesQueue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: 'arrctl-replies'
  properties: {
    lockDuration: 'PT30S'
    maxDeliveryCount: 100
    defaultMessageTimeToLive: 'PT1H'
    deadLetteringOnMessageExpiration: false
  }
}

// Transitions are published with deterministic MessageIds (session id +
// status), so duplicate detection drops the copies that at-least-once
// delivery of the watch sweep produces.
resource eventsTopic 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = {
  parent: namespace
  name: 'arr-events'
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
    defaultMessageTimeToLive: 'P7D'
  }
}

output name string = namespace.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
