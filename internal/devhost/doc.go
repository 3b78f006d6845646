// Package devhost is a local stand-in for the Azure Functions host (runtime 4.x)
// driving a custom handler: it reads host.json and the function.json files,
// starts and supervises the handler process, and invokes it the way the real host
// does for timer, storage-queue, Service Bus and HTTP triggers.
//
// Fidelity is the point: the request bodies devhost POSTs to the handler follow
// the captured host payloads in the shared fixtures (double-encoded queue bodies,
// string-encoded metadata, body properties copied into Metadata with shadowing,
// Service Bus duplicate keys, HTTP header arrays), and the tests compare them with
// those fixtures, so a handler that works under devhost works under the host.
//
// Delivery follows the host:
//   - storage queues (AzureWebJobsStorage, usually Azurite): messages are leased
//     for 10 minutes (renewed while the invocation runs), deleted on a 2xx reply,
//     made visible again after extensions.queues.visibilityTimeout otherwise, and
//     moved to "<queue>-poison" after maxDequeueCount attempts (default 5). Text
//     that is not valid base64 under the default messageEncoding never reaches the
//     handler and ends in the poison queue the same way. A message put with a
//     visibility timeout (a delayed message) stays invisible until due, as the
//     storage service keeps it; the queue is polled as the host polls it: at
//     once after a message, then with delays doubling from 100 ms up to
//     extensions.queues.maxPollingInterval (default 1 minute), so a delayed
//     message is delivered at most that long after it falls due.
//   - Service Bus, local mode (the connection setting is empty, or -sb-local): the
//     queue is carried on the Azurite queue of the same name, one
//     localbus.Envelope per message (non-envelope text is taken as a bare body).
//     Complete is delete, abandon makes the message visible at once, and after
//     MaxDeliveryCount (10) failed deliveries it moves to "<queue>-deadletter",
//     the stand-in for "<queue>/$deadletterqueue". Real Service Bus is not driven.
//   - timers: six-field NCRONTAB (or a TimeSpan), runOnStartup, no overlapping
//     runs. With AzureWebJobsStorage set, the schedule status is kept where the
//     host keeps it (container azure-webjobs-hosts, blob
//     timers/devhost/Host.Functions.<name>/status), so an occurrence missed while
//     devhost was down runs at start with IsPastDue true; otherwise it lives in
//     memory. A first run reports Last as DateTime.MinValue, and sub-minute
//     schedules send "ScheduleStatus": null (no monitor), as the host does.
//   - HTTP: /<routePrefix>/<route>, methods enforced, authLevel function (the
//     default) and admin need the function key (?code= or x-functions-key).
//     net/http canonicalizes header names, so the handler sees "X-Functions-Key"
//     where Kestrel would keep the client's casing.
//   - functionTimeout (default 30 minutes here): the handler is killed and
//     restarted, and the invocation counts as failed.
//
// The admin API needs the master key (x-functions-key or ?code=; setting
// DEVHOST_MASTER_KEY, default DevMasterKey), as the host's does; a function key
// is refused with 401. POST /admin/functions/<name> with an optional {"input":"..."}
// fires any non-HTTP function now and answers 202 once the invocation succeeded
// (502 with the reason if it failed); GET /admin/host/status reports the state.
package devhost
