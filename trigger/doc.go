// Package trigger is the handler's side of the Azure Functions custom-handler
// protocol (runtime 4.x, FUNCTIONS_WORKER_RUNTIME=custom,
// enableForwardingHttpRequest=false): typed payloads for each trigger the
// project uses, the response envelope, a per-invocation logger, and the
// reverse encoders that reproduce the host's request bodies for the local host
// emulator and for tests.
//
// A request is decoded in two steps, so each function decodes only its own
// binding by name:
//
//	inv, err := trigger.DecodeInvocation(body)
//	msg, err := inv.ServiceBusMessage("cmd")
//
// The host's encoding has quirks that the decoders undo (see
// ../shared/spec/functions-host.md and the fixtures' README):
//
//   - Queue and Service Bus text bodies are JSON-encoded twice: Data.<binding>
//     is a JSON string whose content is itself a JSON string literal. One level
//     less (an object, or a string holding the text directly) is accepted too.
//     A body that is not JSON but is base64 of JSON is decoded (BodyBase64 is
//     then set); Service Bus bodies with ContentType application/octet-stream
//     are base64-decoded whatever they hold.
//   - Metadata values are JSON text: strings are quoted twice ("\"abc\""),
//     numbers arrive as strings ("3"), trigger timestamps arrive quoted once.
//   - Top-level scalar properties of a JSON body are copied into Metadata and
//     replace built-in keys of the same name (matched case-insensitively): an
//     Event Grid event's "id" overwrites the queue message "Id", a command's
//     "sessionId" overwrites the Service Bus "SessionId". The rule applied
//     here: the body is the truth for body fields; a built-in metadata value
//     is trusted only when it cannot have come from the body. When the body
//     has a same-named scalar whose host rendering equals the metadata value,
//     the field is left empty and the metadata key is listed in Shadowed.
//   - Body dates are rewritten in Metadata as "MM/dd/yyyy HH:mm:ss": never
//     read dates from body-derived Metadata keys; decode the body.
//
// Replies: Response (Outputs/Logs/ReturnValue) with HTTPResponse for http
// output bindings; WriteResponse sends it. NewLogger gives a slog.Logger that
// writes each record once, as a JSON line carrying its level, to stdout or to
// an invocation's bounded InvocationLog, which returns the lines in
// Response.Logs of a 2xx reply and passes them to stdout otherwise (the host
// drops the Logs of a failed invocation); never to stderr, which the host
// logs as Error.
//
// Encode*Invocation reproduce the host's request bodies (same Data and
// Metadata values; key order of Go maps aside) for the local host emulator.
// Each x decoded from a fixture satisfies decode(encode(x)) == x.
//
// Output: queue output bindings must be given objects, not strings: the host
// base64-decodes any output string that happens to be valid base64.
// Response.AddQueueMessage enforces that.
package trigger
