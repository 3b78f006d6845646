package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/store/storetest"
)

// counter is a pipeline policy counting the HTTP requests a Store sends
// (per retry, so a retried request counts twice).
type counter struct{ n atomic.Int64 }

func (c *counter) Do(req *policy.Request) (*http.Response, error) {
	c.n.Add(1)
	return req.Next()
}

var tableSeq atomic.Int64

// fixture is a Store on fresh tables of a shared Azurite.
type fixture struct {
	st    *Store
	raw   *aztables.ServiceClient // same account, no store logic
	count *counter
	opts  Options
}

func newFixture(t testing.TB, az *azuritetest.Instance, pageSize int, now func() time.Time) *fixture {
	t.Helper()
	n := tableSeq.Add(1)
	c := &counter{}
	opts := Options{
		ClientOptions:    azcore.ClientOptions{PerRetryPolicies: []policy.Policy{c}},
		SessionsTable:    fmt.Sprintf("Sessions%d", n),
		ConversionsTable: fmt.Sprintf("Conversions%d", n),
		CommandsTable:    fmt.Sprintf("Commands%d", n),
		PageSize:         pageSize, Now: now,
	}
	st, err := NewFromConnectionString(az.ConnectionString, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureTables(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw, err := aztables.NewServiceClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, raw: raw, count: c, opts: opts}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestStore runs what only this driver has; TestConformance runs the suite
// every driver passes.
func TestStore(t *testing.T) {
	az := azuritetest.Shared(t)
	clock := func() time.Time { return t0.Add(2 * time.Hour) }
	t.Run("EnsureTables", func(t *testing.T) { testEnsureTables(t, az) })
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, newFixture(t, az, 0, clock)) })
	t.Run("HalfCreated", func(t *testing.T) { testHalfCreated(t, newFixture(t, az, 0, clock)) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, az) })
	t.Run("RangePaging", func(t *testing.T) { testRangePaging(t, newFixture(t, az, 100, clock)) })
	t.Run("RequestCounts", func(t *testing.T) { testRequestCounts(t, az, clock) })
}

// testRequestCounts pins the cost model documented in doc.go.
func testRequestCounts(t *testing.T, az *azuritetest.Instance, clock func() time.Time) {
	ctx := ctxT(t)
	f := newFixture(t, az, 0, clock)
	cold := newFixture(t, az, 0, clock) // same account, other tables: reuse f's below
	cold.st = New(cold.raw, &Options{SessionsTable: f.opts.SessionsTable, ConversionsTable: f.opts.ConversionsTable,
		CommandsTable: f.opts.CommandsTable, Now: clock})
	var s *arrops.Session
	steps := []struct {
		name string
		st   *fixture
		do   func() error
		want int64
	}{
		{"create new: index + record", f, func() error {
			var err error
			s, _, err = f.st.CreateSession(ctx, &arrops.Session{ID: "cost", CreatedAt: t0})
			return err
		}, 2},
		{"get, day cached", f, func() error { _, err := f.st.GetSession(ctx, "cost"); return err }, 1},
		{"update, day cached", f, func() error { s.Hostname = "h"; return f.st.UpdateSession(ctx, s) }, 1},
		{"redelivered create: index, record, read", f, func() error {
			_, _, err := f.st.CreateSession(ctx, &arrops.Session{ID: "cost", CreatedAt: t0})
			return err
		}, 3},
		{"audit row", f, func() error { return f.st.AppendAudit(ctx, arrops.CommandAudit{MessageID: "m", DeliveryCount: 1}) }, 1},
	}
	for _, step := range steps {
		before := step.st.count.n.Load()
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := step.st.count.n.Load() - before; got != step.want {
			t.Errorf("%s: %d requests, want %d", step.name, got, step.want)
		}
	}
	// A fresh Store (another function instance) reads the index once.
	if _, err := cold.st.GetSession(ctx, "cost"); err != nil {
		t.Fatal(err)
	}
}

func testEnsureTables(t *testing.T, az *azuritetest.Instance) {
	c := &counter{}
	st, err := NewFromConnectionString(az.ConnectionString, &Options{
		ClientOptions: azcore.ClientOptions{PerRetryPolicies: []policy.Policy{c}},
		SessionsTable: "EnsureS", ConversionsTable: "EnsureC", CommandsTable: "EnsureA"})
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.EnsureTables(cancelled); err == nil {
		t.Fatal("EnsureTables with a cancelled context succeeded")
	}
	if err := st.EnsureTables(ctxT(t)); err != nil {
		t.Fatalf("retry after failure: %v", err)
	}
	before := c.n.Load()
	if err := st.EnsureTables(ctxT(t)); err != nil || c.n.Load() != before {
		t.Errorf("second EnsureTables: err %v, %d requests, want cached success", err, c.n.Load()-before)
	}
	// Another Store finds the tables already there: TableAlreadyExists is success.
	st2, _ := NewFromConnectionString(az.ConnectionString, &Options{SessionsTable: "EnsureS", ConversionsTable: "EnsureC", CommandsTable: "EnsureA"})
	if err := st2.EnsureTables(ctxT(t)); err != nil {
		t.Errorf("EnsureTables on existing tables: %v", err)
	}
}

// testSecrets writes records of every kind and checks none carries a
// secret at rest.
func testSecrets(t *testing.T, f *fixture) {
	ctx := ctxT(t)
	if _, _, err := f.st.CreateSession(ctx, fullSession()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.st.CreateConversion(ctx, fullConversion()); err != nil {
		t.Fatal(err)
	}
	if err := f.st.AppendAudit(ctx, arrops.CommandAudit{MessageID: "m", DeliveryCount: 1, Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	assertNoSecrets(t, f)
}

// assertNoSecrets reads every entity of the fixture's tables raw and checks
// no property value carries a SAS signature or an account key.
func assertNoSecrets(t *testing.T, f *fixture) {
	t.Helper()
	n := 0
	for _, table := range []string{f.opts.SessionsTable, f.opts.ConversionsTable, f.opts.CommandsTable} {
		pager := f.raw.NewClient(table).NewListEntitiesPager(nil)
		for pager.More() {
			page, err := pager.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range page.Entities {
				n++
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				for k, v := range m {
					if s := fmt.Sprint(v); strings.Contains(s, "sig=") || strings.Contains(s, "AccountKey=") {
						t.Errorf("table %s property %s holds a secret", table, k)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Error("no entities checked")
	}
}

func testHalfCreated(t *testing.T, f *fixture) {
	ctx := ctxT(t)
	// A create that crashed after the index write: the redelivery completes it
	// under the indexed day.
	ix, _ := json.Marshal(indexEntity{PartitionKey: indexPartition, RowKey: "half-done", Day: "20261123"})
	if _, err := f.raw.NewClient(f.opts.SessionsTable).AddEntity(ctx, ix, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.GetSession(ctx, "half-done"); arrops.ErrorCode(err) != arrops.ENOTFOUND {
		t.Errorf("half-created record: %v, want not found", err)
	}
	if _, created, err := f.st.CreateSession(ctx, &arrops.Session{ID: "half-done", CreatedAt: t0}); err != nil || !created {
		t.Fatalf("completing create: %v %v", created, err)
	}
	if _, err := f.raw.NewClient(f.opts.SessionsTable).GetEntity(ctx, "20261123", "half-done", nil); err != nil {
		t.Errorf("record not under the indexed day: %v", err)
	}
}

func testErrors(t *testing.T, az *azuritetest.Instance) {
	ctx := ctxT(t)
	// A missing table is not a missing record: EINTERNAL, SDK error kept.
	bad, err := NewFromConnectionString(az.ConnectionString, &Options{SessionsTable: "NoSuchTable"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.GetSession(ctx, "x")
	var re *azcore.ResponseError
	if arrops.ErrorCode(err) != arrops.EINTERNAL || !errors.As(err, &re) {
		t.Errorf("missing table: %v (code %q), want internal with *azcore.ResponseError", err, arrops.ErrorCode(err))
	}
	// Unreachable storage: transient, and the error never quotes the key.
	down, err := NewFromConnectionString(strings.Replace(az.ConnectionString, az.TableEndpoint, "http://127.0.0.1:1/devstoreaccount1", 1),
		&Options{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		func() error { _, err := down.GetSession(ctx, "x"); return err }(),
		func() error { _, _, err := down.CreateSession(ctx, &arrops.Session{ID: "x"}); return err }(),
		down.AppendAudit(ctx, arrops.CommandAudit{MessageID: "m"}),
		down.EnsureTables(ctx),
	} {
		if arrops.ErrorCode(err) != arrops.EINTERNAL || arrops.Permanent(err) {
			t.Errorf("unreachable storage: %v, want transient", err)
		}
		if err != nil && strings.Contains(err.Error(), az.AccountKey) {
			t.Error("error quotes the account key")
		}
	}
}

func testRangePaging(t *testing.T, f *fixture) {
	ctx := ctxT(t)
	// 2,500 sessions over five days, written in batches (the store's own
	// writes are tested above; this tests the reads).
	const perDay, days = 500, 5
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tc := f.raw.NewClient(f.opts.SessionsTable)
	for d := range days {
		day := start.AddDate(0, 0, d)
		for b := 0; b < perDay; b += 100 {
			var actions []aztables.TransactionAction
			for i := b; i < b+100; i++ {
				s := &arrops.Session{ID: fmt.Sprintf("s%04d", i), Status: arrops.SessionStopped,
					CreatedAt: day.Add(time.Duration(i) * time.Minute), RequestedBy: "bulk"}
				body, err := encodeSession(dayKey(day), s)
				if err != nil {
					t.Fatal(err)
				}
				actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: body})
			}
			if _, err := tc.SubmitTransaction(ctx, actions, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name     string
		from, to time.Time
		want     int
		minPages int64
		firstDay string
	}{
		{"all five days", start, start.AddDate(0, 0, days), perDay * days, 25, "20261101"},
		{"middle three", start.AddDate(0, 0, 1), start.AddDate(0, 0, 4), perDay * 3, 15, "20261102"},
		{"partial day counts whole", start.Add(36 * time.Hour), start.Add(37 * time.Hour), perDay, 5, "20261102"},
		{"empty", start, start, 0, 0, ""},
		{"before data", start.AddDate(0, 0, -9), start.AddDate(0, 0, -2), 0, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.count.n.Load()
			n := 0
			prev := ""
			for s, err := range f.st.SessionsByDay(ctx, tt.from, tt.to) {
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 && dayKey(s.CreatedAt) != tt.firstDay {
					t.Errorf("first row of day %s, want %s", dayKey(s.CreatedAt), tt.firstDay)
				}
				key := dayKey(s.CreatedAt) + s.ID
				if key <= prev {
					t.Fatalf("out of order: %s after %s", key, prev)
				}
				prev = key
				n++
			}
			pages := f.count.n.Load() - before
			if n != tt.want || pages < tt.minPages || pages > tt.minPages+1 {
				t.Errorf("%d rows in %d requests, want %d rows in %d(+1)", n, pages, tt.want, tt.minPages)
			}
		})
	}
	// Stopping early stops paging: one page of 100 read, no more.
	before := f.count.n.Load()
	for range f.st.SessionsByDay(ctx, start, start.AddDate(0, 0, days)) {
		break
	}
	if got := f.count.n.Load() - before; got != 1 {
		t.Errorf("break after the first row made %d requests, want 1", got)
	}
}

// TestMain stops the package's shared Azurite.
func TestMain(m *testing.M) { azuritetest.Main(m) }

var _ storetest.Store = (*Store)(nil)

// TestConformance runs the drivers' conformance suite against Table Storage
// (Azurite); store/memstore runs the same suite in memory.
func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T, now func() time.Time) storetest.Store {
		return newFixture(t, azuritetest.Shared(t), 0, now).st
	})
}
