// Package report turns session and conversion records into a usage and cost
// report: query parsing (ParseQuery), billing arithmetic (Bill), aggregation
// (Build) and rendering as JSON, CSV or a self-contained HTML page (Render).
//
// It does no storage I/O. Records arrive as iterators so a month of sessions
// is never held in memory: Build keeps only per-group and per-day aggregates
// (plus, for HTML, the newest MaxSessionRows sessions and MaxConversionRows
// conversions, and the conversion and start durations the quantiles need);
// Render streams JSON and CSV rows as they arrive and writes the totals
// after them.
//
// Billing runs from the first time a session was seen Ready until it was seen
// Stopped, Expired or Error (or until now while it runs), clipped to the
// report's [from 00:00, to+1 00:00) UTC range. Cost is hours × the hourly
// rate of the session's size when rates are configured; otherwise the report
// gives minutes only and says "no rates configured".
//
// Savings are counted for sessions a policy stopped in the range (status
// Stopped, StopReason "policy <name>: …"): the minutes from StoppedAt to the
// end of the lease the session had (ReadyAt, or CreatedAt if never Ready,
// plus MaxLeaseMinutes; ExtendedUntil when later), unclipped, at the size's
// rate. Waste is the billed time of Expired sessions, as the totals count
// it. Start times are ReadyAt − CreatedAt of sessions created in the range.
//
// The sessions CSV (RFC 4180, header row, fixed column order; new columns
// only at the end) uses a leading kind column: one "session" row per listed
// session in input order, then one "group" row per group of the chosen
// groupBy (sorted by key), one "savings" row per policy, one "waste" row
// and one "total" row. Columns a kind does not use are empty.
// dataset=conversions lists the conversion records instead, one row each
// (ConversionsCSVHeader), or in JSON with the conversions summary.
package report
