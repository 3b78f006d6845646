package report

import (
	"context"
	"io"
	"iter"
	"time"

	"github.com/arrops/arrops"
)

// Records is the part of the records store a report reads (store.Store
// satisfies it).
type Records interface {
	SessionsByDay(ctx context.Context, from, to time.Time) iter.Seq2[*arrops.Session, error]
	ConversionsByDay(ctx context.Context, from, to time.Time) iter.Seq2[*arrops.Conversion, error]
}

// Lookback is how far before the query's start session records are read: a
// session's record is keyed by its creation day and leases end within 24
// hours of Ready, so a session that began earlier and ran into the range is
// counted (billing clips it to the range).
const Lookback = 2 * 24 * time.Hour

// Write renders the report for q from recs into w with day-range queries on
// the table keys (no scans). The report function and arrctl both use it, so
// the HTTP report and the CLI give the same numbers.
func Write(ctx context.Context, w io.Writer, recs Records, q Query, rates Rates, now time.Time) error {
	sessions := recs.SessionsByDay(ctx, q.Start().Add(-Lookback), q.End())
	conversions := recs.ConversionsByDay(ctx, q.Start(), q.End())
	return Render(ctx, w, q, rates, now, sessions, conversions)
}
