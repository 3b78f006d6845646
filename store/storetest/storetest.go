// Package storetest is the conformance suite of arrops' record drivers, in
// the style of go-cloud's drivertest: every driver (store.Store on Azure
// Table Storage or Azurite, memstore.Store in memory) runs the same
// RunConformanceTests, so the functions' tests on the memory driver test what
// the functions will meet in production.
//
// The suite pins what the functions rely on: create-if-absent (a
// redelivered create returns the first record), lookup by id, ETag-
// conditional updates failing with arrops.ErrConcurrentUpdate, replace (not
// merge) semantics, times as stored (UTC, 100 ns), range queries by creation
// day in (day, id) order, the active and finished views, audit rows keyed by
// delivery, bulk import, Table Storage's size limits and the error codes.
// What only one driver has (request counts, paging, missing tables, secrets
// at rest) stays in that driver's own tests.
//
// It is test support: only _test.go files import it.
package storetest

import (
	"context"
	"iter"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

// Store is the record API every driver offers.
type Store interface {
	GetSession(ctx context.Context, id string) (*arrops.Session, error)
	CreateSession(ctx context.Context, s *arrops.Session) (*arrops.Session, bool, error)
	UpdateSession(ctx context.Context, s *arrops.Session) error
	ActiveSessions(ctx context.Context, now time.Time) ([]*arrops.Session, error)
	FinishedSessionsSince(ctx context.Context, since, now time.Time) ([]*arrops.Session, error)
	SessionsByDay(ctx context.Context, from, to time.Time) iter.Seq2[*arrops.Session, error]
	ImportSessions(ctx context.Context, recs []*arrops.Session) error

	GetConversion(ctx context.Context, id string) (*arrops.Conversion, error)
	CreateConversion(ctx context.Context, c *arrops.Conversion) (*arrops.Conversion, bool, error)
	UpdateConversion(ctx context.Context, c *arrops.Conversion) error
	ActiveConversions(ctx context.Context, now time.Time) ([]*arrops.Conversion, error)
	ConversionsByDay(ctx context.Context, from, to time.Time) iter.Seq2[*arrops.Conversion, error]
	ImportConversions(ctx context.Context, recs []*arrops.Conversion) error

	AppendAudit(ctx context.Context, a arrops.CommandAudit) error
	AuditByDay(ctx context.Context, from, to time.Time) iter.Seq2[*arrops.CommandAudit, error]

	GetFollowUpChain(ctx context.Context) (*arrops.FollowUpChain, error)
	SaveFollowUpChain(ctx context.Context, c *arrops.FollowUpChain) error
	GetDueMark(ctx context.Context, name string) (*arrops.FollowUpChain, error)
	SaveDueMark(ctx context.Context, name string, c *arrops.FollowUpChain) error
	DeleteDueMark(ctx context.Context, name string, c *arrops.FollowUpChain) error
	ReservedSessions(ctx context.Context, now time.Time) ([]*arrops.Session, error)
}

// Harness makes a driver for one test: a store with no records whose clock
// (UpdatedAt, default CreatedAt and At) is now.
type Harness func(t *testing.T, now func() time.Time) Store

// RunConformanceTests runs the suite against the stores h makes.
func RunConformanceTests(t *testing.T, h Harness) {
	t.Helper()
	tests := []struct {
		name string
		run  func(*testing.T, Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Copies", testCopies},
		{"CreateIdempotent", testCreateIdempotent},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentUpdate", testConcurrentUpdate},
		{"Errors", testErrors},
		{"ByDay", testByDay},
		{"Active", testActive},
		{"Audit", testAudit},
		{"Import", testImport},
		{"Limits", testLimits},
		{"FollowUpChain", testFollowUpChain},
		{"DueMarks", testDueMarks},
		{"Reserved", testReserved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, h(t, func() time.Time { return Clock }))
		})
	}
}

// Clock is the time the harness's clock returns: a fixed instant, in a zone
// other than UTC and finer than 100 ns, so normalization shows.
var Clock = time.Date(2026, 11, 24, 11, 30, 15, 123456789, time.FixedZone("CET", 3600))

// t0 is a creation time on 2026-11-24 (UTC).
var t0 = time.Date(2026, 11, 24, 9, 30, 15, 123456700, time.UTC)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// asStored is t as every driver gives it back: UTC, at 100 ns.
func asStored(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(100 * time.Nanosecond)
}
