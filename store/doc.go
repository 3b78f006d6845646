// Package store keeps arrops' records (sessions, conversions, command audit)
// in Azure Table Storage through aztables.
//
// # Keys
//
// Three access patterns decide the keys:
//
//   - reports read a date range without scanning the table;
//   - the functions look a record up by id in O(1);
//   - watch and shutdown need the active (non-terminal) records cheaply.
//
// A record lives at PartitionKey = its creation day in UTC ("YYYYMMDD", from
// CreatedAt) and RowKey = its id. A date range is therefore a PartitionKey
// range query (SessionsByDay, ConversionsByDay, AuditByDay), streamed page by
// page. A record is keyed by the day it was created, so a session that runs
// across midnight is found under its first day only: callers that report on
// [from, to) read a couple of days earlier and clip by their own times.
//
// Lookup by id goes through an index entity in the same table: PartitionKey
// "id", RowKey = the id, property Day = the record's partition. "id" sorts
// after every digit, so day-range queries never see index rows. Create writes
// the index first and the record second, both as inserts, so a create
// redelivered after a crash between the two finishes the job instead of
// making a second record; the day of an id never changes, so the Store caches
// it and a warm GetSession or UpdateSession is one request.
//
// Active records are found by a PartitionKey range over the last ActiveWindow
// (3 days) plus tomorrow (clock skew), filtered server-side on Status. A
// session lease ends at most 24 hours after Ready, so nothing older can still
// run. The alternative, an "active" marker partition, would make every status
// change two writes and give a second source of truth that a crash between
// the writes can leave wrong; the range costs a filtered read of three or
// four daily partitions, which is small next to the ARR calls a sweep makes.
// A record left non-terminal while watch did not run for more than
// ActiveWindow is no longer visited (ARR forgets such sessions anyway).
//
// Command audit rows: PartitionKey = day of At (UTC), RowKey = the message id
// (with '/', '\', '#', '?', '%' and control characters percent-escaped, as
// Table keys forbid them) + "~" + the delivery count (4 digits) + "~" + the
// host's invocation id. A retried write within one invocation upserts the
// same row; three deliveries make three rows, even when a sender puts the
// same message on the queue three times (each arrives with delivery count 1).
//
// # Properties
//
// Each record field is a property of the same name (Session: Size, Status,
// Origin, RequestedBy, Tags, MaxLeaseMinutes, CreatedAt, ReadyAt, StoppedAt,
// ElapsedMinutes, Hostname, HandshakePort, InspectorPort, Teraflops,
// StopReason, ErrorCode, ErrorMessage, ReplyTo, CorrelationID, Announced,
// AnnounceClaimedAt, ExtendedUntil, WarnedAt, UpdatedAt; Conversion likewise;
// the id is the RowKey and ETag is the entity's ETag). Tags is a JSON string;
// times are Edm.DateTime in UTC at the service's 100 ns precision; InputSize
// is Edm.Int64 and Teraflops Edm.Double. Zero values are omitted, and updates
// replace the whole entity, so a cleared field disappears. The domain types
// hold no secrets and the store adds none.
//
// # Concurrency and errors
//
// Updates are conditional on the ETag the record was read with; a record
// changed in between yields ErrConcurrentUpdate (errors.Is): re-read and retry.
// A missing record is arrops.ENOTFOUND, an invalid id arrops.EINVALID; other
// storage failures come back wrapped as they are (arrops.EINTERNAL), so the
// handler fails the invocation and the host retries.
package store
