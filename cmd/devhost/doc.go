// Command devhost runs an arrops deployment root locally the way the Azure
// Functions host would: it starts the custom handler, fires timers, delivers
// storage-queue messages (and, in local mode, Service Bus messages carried on
// Azurite queues) with the host's payloads and retry semantics, and forwards
// HTTP triggers. See package internal/devhost for the details.
//
// Usage:
//
//	devhost [-root dir] [-settings file] [-handler path] [-addr 127.0.0.1:7071]
//	        [-function-key key] [-sb-local] [-functions a,b]
//
// Fire any function now with POST /admin/functions/<name> and an optional body
// {"input":"..."}; the admin API needs the master key (x-functions-key or
// ?code=; setting DEVHOST_MASTER_KEY, default devhost-local-master-key).
package main
