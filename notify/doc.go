// Package notify sends and receives arrops' messages: transition events on the
// arr-events topic, replies to a command's ReplyTo queue, and (for arrctl)
// commands and replies. Two transports implement the same Publisher and
// Receiver interfaces:
//
//   - ServiceBus (azservicebus): one cached Sender per queue or topic, several
//     messages sent as one batch. Every message carries a MessageID chosen by
//     the caller (deterministic per transition), so a namespace with duplicate
//     detection drops a republish after a crash: publishing is idempotent.
//   - Local: for runs without a Service Bus namespace, each message becomes a
//     localbus.Envelope (JSON, then base64, as the Functions host's default
//     queue messageEncoding expects) on the Azurite storage queue named after
//     the entity; devhost turns envelopes on arr-commands back into Service Bus
//     trigger invocations. Storage queues have no duplicate detection: a
//     republish is a second message, and consumers dedupe by MessageID (the
//     handler does, through its idempotent records).
//
// Storage queue names are stricter than Service Bus entity names, so
// QueueName maps an entity name deterministically: lower case, every
// character other than a-z, 0-9 and '-' replaced by '-', runs of '-'
// collapsed, '-' trimmed from both ends. "Viewer_Replies/EU" becomes
// "viewer-replies-eu". Names that differ only in those characters share a
// queue. An empty result, or one shorter than 3 or longer than 63 characters,
// is an error naming the entity.
//
// Receive settles what it returns (Service Bus: complete; local: delete), so
// a receiver that crashes after Receive loses those messages: it suits arrctl
// waiting for replies, not work that must survive a crash.
package notify
