// Package report turns session and conversion records into a usage and cost
// report: query parsing (ParseQuery), billing arithmetic (Bill), aggregation
// (Build) and rendering as JSON, CSV or a self-contained HTML page (Render).
//
// It does no storage I/O. Records arrive as iterators so a month of sessions
// is never held in memory: Build keeps only per-group and per-day aggregates
// (plus, for HTML, at most MaxConversionRows conversion rows and the
// conversion durations needed for the median and p95); Render streams JSON and
// CSV session rows as they arrive and writes the totals after them.
//
// Billing runs from the first time a session was seen Ready until it was seen
// Stopped, Expired or Error (or until now while it runs), clipped to the
// report's [from 00:00, to+1 00:00) UTC range. Cost is hours × the hourly
// rate of the session's size when rates are configured; otherwise the report
// gives minutes only and says "no rates configured".
//
// CSV layout (RFC 4180, header row, fixed column order) uses a leading kind
// column: one "session" row per listed session in input order, then one
// "group" row per group of the chosen groupBy (sorted by key), then one
// "total" row. Columns a kind does not use are empty. Conversions appear in
// JSON and HTML only.
package report
