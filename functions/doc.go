// Package functions holds what every arrops function shares: the adapter from
// a custom-handler invocation (POST /<FunctionName>) to a Go function, the
// lazily built clients (ARR, Table Storage, messaging, blobs) a function uses,
// the interfaces it uses them through (SessionRecords, ConversionRecords,
// Publisher), the one ETag read-modify-write helper (ModifySession,
// ModifyConversion), and keeping records in step with ARR (SyncSession,
// ListSessions, SyncConversion, Finalize) with announcements.
//
// Each function lives in its own folder beside its function.json:
// functions/commands, functions/convert, functions/watch, functions/shutdown
// and functions/report.
//
// Error contract with the Functions host: a Func returns nil after it has
// recorded (and, where possible, answered) an outcome, including permanent
// failures such as a malformed message; the invocation then succeeds (200) and
// the message is settled. A non-nil error means "transient, try again": the
// adapter answers 500 so the host abandons the message and redelivers it, up to
// the poison/dead-letter limit.
package functions
