package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/azuritetest"
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

// TestStore runs everything that needs Azurite against one instance.
func TestStore(t *testing.T) {
	az := azuritetest.Start(t)
	clock := func() time.Time { return t0.Add(2 * time.Hour) }
	t.Run("EnsureTables", func(t *testing.T) { testEnsureTables(t, az) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newFixture(t, az, 0, clock)) })
	t.Run("CreateIdempotent", func(t *testing.T) { testCreateIdempotent(t, newFixture(t, az, 0, clock)) })
	t.Run("ConcurrentCreate", func(t *testing.T) { testConcurrentCreate(t, newFixture(t, az, 0, clock)) })
	t.Run("ConcurrentUpdate", func(t *testing.T) { testConcurrentUpdate(t, newFixture(t, az, 0, clock)) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, az, newFixture(t, az, 0, clock)) })
	t.Run("RangePaging", func(t *testing.T) { testRangePaging(t, newFixture(t, az, 100, clock)) })
	t.Run("Active", func(t *testing.T) { testActive(t, newFixture(t, az, 0, clock)) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, newFixture(t, az, 0, clock)) })
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

func testRoundTrip(t *testing.T, f *fixture) {
	ctx := ctxT(t)
	tests := []*arrops.Session{fullSession(), {ID: "min", Status: arrops.SessionStarting, CreatedAt: t0}}
	for _, want := range tests {
		want.ETag = ""
		in := *want
		got, created, err := f.st.CreateSession(ctx, &in)
		if err != nil || !created {
			t.Fatalf("create %s: created %v, %v", want.ID, created, err)
		}
		if got.ETag == "" || !got.UpdatedAt.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("create did not set ETag/UpdatedAt: %q %v", got.ETag, got.UpdatedAt)
		}
		read, err := f.st.GetSession(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if read.ETag != got.ETag {
			t.Errorf("ETag after get %q, after create %q", read.ETag, got.ETag)
		}
		want.UpdatedAt, want.ETag = got.UpdatedAt, got.ETag
		if !reflect.DeepEqual(read, want) {
			t.Errorf("session round trip:\n got %+v\nwant %+v", read, want)
		}
		// Listing decodes the same record (ETag from odata.etag).
		var listed []*arrops.Session
		for s, err := range f.st.SessionsByDay(ctx, t0.Truncate(24*time.Hour), t0.Truncate(24*time.Hour).Add(24*time.Hour)) {
			if err != nil {
				t.Fatal(err)
			}
			if s.ID == want.ID {
				listed = append(listed, s)
			}
		}
		if len(listed) != 1 || !reflect.DeepEqual(listed[0], want) {
			t.Errorf("listed %+v, want %+v", listed, want)
		}
	}
	// Clearing a field on update removes the property (replace, not merge).
	s, _ := f.st.GetSession(ctx, "s-full_1")
	s.Hostname, s.Tags = "", nil
	if err := f.st.UpdateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	s2, _ := f.st.GetSession(ctx, "s-full_1")
	if s2.Hostname != "" || s2.Tags != nil || s2.ETag != s.ETag {
		t.Errorf("after clearing: hostname %q tags %v etag %q/%q", s2.Hostname, s2.Tags, s2.ETag, s.ETag)
	}

	c := fullConversion()
	c.ETag = ""
	got, created, err := f.st.CreateConversion(ctx, c)
	if err != nil || !created {
		t.Fatalf("create conversion: %v %v", created, err)
	}
	read, err := f.st.GetConversion(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(read, got) {
		t.Errorf("conversion round trip:\n got %+v\nwant %+v", read, got)
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

func testCreateIdempotent(t *testing.T, f *fixture) {
	ctx := ctxT(t)
	first := &arrops.Session{ID: "redelivered", Status: arrops.SessionStarting, RequestedBy: "app-a", CreatedAt: t0}
	if _, created, err := f.st.CreateSession(ctx, first); err != nil || !created {
		t.Fatalf("first create: %v %v", created, err)
	}
	// The redelivery carries a later CreatedAt (another day) and other values:
	// nothing is written, the first record comes back.
	again := &arrops.Session{ID: "redelivered", Status: arrops.SessionStarting, RequestedBy: "app-b", CreatedAt: t0.Add(30 * time.Hour)}
	got, created, err := f.st.CreateSession(ctx, again)
	if err != nil || created {
		t.Fatalf("redelivered create: created %v, %v", created, err)
	}
	if got.RequestedBy != "app-a" || !got.CreatedAt.Equal(t0) || got.ETag != first.ETag {
		t.Errorf("redelivery returned %+v, want the first record", got)
	}
	n := 0
	for s, err := range f.st.SessionsByDay(ctx, t0.Add(-48*time.Hour), t0.Add(72*time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		if s.ID == "redelivered" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d records for one id", n)
	}

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

func testConcurrentCreate(t *testing.T, f *fixture) {
	ctx := ctxT(t)
	const n = 6
	var wg sync.WaitGroup
	var createdCount atomic.Int32
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, created, err := f.st.CreateSession(ctx, &arrops.Session{ID: "race", RequestedBy: fmt.Sprint(i), CreatedAt: t0})
			if err != nil {
				errs <- err
			}
			if created {
				createdCount.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if createdCount.Load() != 1 {
		t.Errorf("%d creators won, want 1", createdCount.Load())
	}
}

func testConcurrentUpdate(t *testing.T, f *fixture) {
	ctx := ctxT(t)
	if _, _, err := f.st.CreateSession(ctx, &arrops.Session{ID: "contended", Status: arrops.SessionStarting, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	a, _ := f.st.GetSession(ctx, "contended")
	b, _ := f.st.GetSession(ctx, "contended")
	a.Status, a.Hostname = arrops.SessionReady, "host-a"
	if err := f.st.UpdateSession(ctx, a); err != nil {
		t.Fatalf("first writer: %v", err)
	}
	b.StopReason = "writer b"
	staleETag := b.ETag
	err := f.st.UpdateSession(ctx, b)
	if !errors.Is(err, ErrConcurrentUpdate) {
		t.Fatalf("second writer: %v, want ErrConcurrentUpdate", err)
	}
	if b.ETag != staleETag {
		t.Error("failed update changed the caller's ETag")
	}
	// Re-read and retry: both changes survive.
	b, err = f.st.GetSession(ctx, "contended")
	if err != nil {
		t.Fatal(err)
	}
	b.StopReason = "writer b"
	if err := f.st.UpdateSession(ctx, b); err != nil {
		t.Fatalf("retry: %v", err)
	}
	final, _ := f.st.GetSession(ctx, "contended")
	if final.Status != arrops.SessionReady || final.Hostname != "host-a" || final.StopReason != "writer b" {
		t.Errorf("final record %+v lost a write", final)
	}

	// Many writers, each retrying on conflict: no update is lost.
	if _, _, err := f.st.CreateConversion(ctx, &arrops.Conversion{ID: "counter", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const writers = 5
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := f.st.GetConversion(ctx, "counter")
				if err != nil {
					t.Error(err)
					return
				}
				c.Note += fmt.Sprint(i)
				err = f.st.UpdateConversion(ctx, c)
				if err == nil {
					return
				}
				if !errors.Is(err, ErrConcurrentUpdate) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c, _ := f.st.GetConversion(ctx, "counter")
	if len(c.Note) != writers {
		t.Errorf("note %q: want one digit per writer", c.Note)
	}
}

func testErrors(t *testing.T, az *azuritetest.Instance, f *fixture) {
	ctx := ctxT(t)
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"get missing", func() error { _, err := f.st.GetSession(ctx, "nope"); return err }(), arrops.ENOTFOUND},
		{"get missing conversion", func() error { _, err := f.st.GetConversion(ctx, "nope"); return err }(), arrops.ENOTFOUND},
		{"invalid id", func() error { _, err := f.st.GetSession(ctx, "a/b"); return err }(), arrops.EINVALID},
		{"create invalid id", func() error { _, _, err := f.st.CreateSession(ctx, &arrops.Session{ID: ""}); return err }(), arrops.EINVALID},
		{"update without etag", f.st.UpdateSession(ctx, &arrops.Session{ID: "x"}), arrops.EINVALID},
		{"update missing", f.st.UpdateSession(ctx, &arrops.Session{ID: "x", ETag: `W/"datetime'2026-01-01T00%3A00%3A00Z'"`}), arrops.ENOTFOUND},
		{"audit without id", f.st.AppendAudit(ctx, arrops.CommandAudit{}), arrops.EINVALID},
	}
	for _, tt := range tests {
		if got := arrops.ErrorCode(tt.err); got != tt.code {
			t.Errorf("%s: %v (code %q), want %q", tt.name, tt.err, got, tt.code)
		}
	}
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

func testActive(t *testing.T, f *fixture) {
	ctx := ctxT(t)
	now := time.Date(2026, 11, 24, 0, 30, 0, 0, time.UTC)
	seed := []*arrops.Session{
		{ID: "ready-today", Status: arrops.SessionReady, CreatedAt: now.Add(-10 * time.Minute)},
		{ID: "starting-2d", Status: arrops.SessionStarting, CreatedAt: now.Add(-50 * time.Hour)},
		{ID: "ready-5d", Status: arrops.SessionReady, CreatedAt: now.Add(-5 * 24 * time.Hour)},
		{ID: "stopped-today", Status: arrops.SessionStopped, CreatedAt: now.Add(-2 * time.Hour), StoppedAt: now.Add(-time.Hour)},
		{ID: "expired-1d", Status: arrops.SessionExpired, CreatedAt: now.Add(-30 * time.Hour), StoppedAt: now.Add(-5 * time.Hour)},
		{ID: "error-old", Status: arrops.SessionError, CreatedAt: now.Add(-30 * time.Hour), StoppedAt: now.Add(-29 * time.Hour)},
		{ID: "skewed", Status: arrops.SessionStarting, CreatedAt: now.Add(time.Hour)},
	}
	for _, s := range seed {
		if _, _, err := f.st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(ss []*arrops.Session) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return strings.Join(out, ",")
	}
	active, err := f.st.ActiveSessions(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(active), "starting-2d,ready-today,skewed"; got != want {
		t.Errorf("ActiveSessions = %s, want %s", got, want)
	}
	// The budget's finished sessions: stopped at or after since.
	fin, err := f.st.FinishedSessionsSince(ctx, now.Add(-6*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(fin), "expired-1d,stopped-today"; got != want {
		t.Errorf("FinishedSessionsSince = %s, want %s", got, want)
	}

	convs := []*arrops.Conversion{
		{ID: "running", Status: arrops.ConversionRunning, CreatedAt: now.Add(-time.Hour)},
		{ID: "notstarted", Status: arrops.ConversionNotStarted, CreatedAt: now.Add(-time.Minute)},
		{ID: "done", Status: arrops.ConversionSucceeded, CreatedAt: now.Add(-time.Hour)},
		{ID: "rejected", Status: arrops.ConversionRejected, CreatedAt: now.Add(-time.Hour)},
		{ID: "old-running", Status: arrops.ConversionRunning, CreatedAt: now.Add(-4 * 24 * time.Hour)},
	}
	for _, c := range convs {
		if _, _, err := f.st.CreateConversion(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ac, err := f.st.ActiveConversions(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range ac {
		got = append(got, c.ID)
	}
	// "running" was created yesterday (23:30), so it comes first.
	if strings.Join(got, ",") != "running,notstarted" {
		t.Errorf("ActiveConversions = %v", got)
	}
	n := 0
	for _, err := range f.st.ConversionsByDay(ctx, now.Add(-24*time.Hour), now) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 4 {
		t.Errorf("ConversionsByDay today: %d, want 4", n)
	}
}

func testAudit(t *testing.T, f *fixture) {
	ctx := ctxT(t)
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	id := "msg/1?x"
	for d := 1; d <= 3; d++ {
		a := arrops.CommandAudit{MessageID: id, DeliveryCount: d, InvocationID: fmt.Sprintf("inv-%d", d), Action: arrops.ActionStart, SessionID: "s1",
			RequestedBy: "app", Outcome: arrops.OutcomeRejected, Reason: fmt.Sprintf("try %d", d), At: at.Add(time.Duration(d) * time.Minute)}
		if err := f.st.AppendAudit(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// Delivery 2 written again (the handler retried its own write).
	retry := arrops.CommandAudit{MessageID: id, DeliveryCount: 2, InvocationID: "inv-2", Action: arrops.ActionStart, SessionID: "s1",
		RequestedBy: "app", Outcome: arrops.OutcomeAccepted, Reason: "second write", At: at.Add(2 * time.Minute)}
	if err := f.st.AppendAudit(ctx, retry); err != nil {
		t.Fatal(err)
	}
	var rows []*arrops.CommandAudit
	for a, err := range f.st.AuditByDay(ctx, at.Truncate(24*time.Hour), at.Truncate(24*time.Hour).Add(24*time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, a)
	}
	if len(rows) != 3 {
		t.Fatalf("%d audit rows, want 3", len(rows))
	}
	if !reflect.DeepEqual(rows[1], &retry) {
		t.Errorf("row 2 = %+v, want %+v", rows[1], retry)
	}
	for i, r := range rows {
		if r.DeliveryCount != i+1 || r.MessageID != id {
			t.Errorf("row %d = %+v", i, r)
		}
	}
	assertNoSecrets(t, f)
}
