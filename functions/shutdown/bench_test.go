package shutdown_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"golang.org/x/sync/errgroup"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/shutdown"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/store"
)

// benchSweepSessions is the size of the fleet one benchmarked sweep stops.
const benchSweepSessions = 1000

// benchSDEnv is the shutdown function against Azurite (records and, as in
// local mode, the event queues) and the simulator over loopback, with a
// policy (60 minutes after Ready) that every session has outlived.
type benchSDEnv struct {
	ctx  context.Context
	sim  *arrsim.Server
	arrc *arr.Client
	st   *store.Store
	deps shutdown.Deps
	now  time.Time
	run  int
}

func newBenchSDEnv(tb testing.TB) *benchSDEnv {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	az := azuritetest.Start(tb)
	sim, url := functest.Sim(tb, arrsim.Options{ReadyAfter: time.Second}, nil)
	arrc := functest.ARR(tb, url, azpolicy.ClientOptions{})
	st := functest.Store(tb, az.ConnectionString, nil)
	qs, err := notify.QueueService(az.ConnectionString, "", nil)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := functest.Config(tb, az.ConnectionString, map[string]string{"SHUTDOWN_MAX_READY_MINUTES": "60", "SHUTDOWN_WARNING_MINUTES": "0"})
	e := &benchSDEnv{ctx: ctx, sim: sim, arrc: arrc, st: st, now: time.Now().UTC()}
	e.deps = shutdown.Deps{Config: cfg, ARR: functions.Value(arrc), Bus: functions.Value[functions.Publisher](notify.NewLocal(qs, config.EventsTopic)),
		Records: functions.Value[shutdown.Records](st), Now: func() time.Time { return e.now }}
	return e
}

// fleet starts n sessions in the simulator, lets them become Ready, and
// records them as an earlier watch sweep would have (bulk import: the set-up
// is not what is measured), Ready two hours ago.
func (e *benchSDEnv) fleet(tb testing.TB, n int) {
	tb.Helper()
	e.run++
	var g errgroup.Group
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error {
			id := fmt.Sprintf("sb-%d-%04d", e.run, i)
			_, err := e.arrc.CreateSession(e.ctx, id, arr.SessionSettings{MaxLeaseTimeMinutes: 1440, Size: "Standard"}, nil)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
	e.sim.Advance(2 * time.Second)
	listed, err := functions.ListSessions(e.ctx, e.arrc)
	if err != nil || len(listed) != n {
		tb.Fatalf("list: %d sessions, %v", len(listed), err)
	}
	readyAt := e.now.Add(-2 * time.Hour)
	recs := make([]*arrops.Session, len(listed))
	for i := range listed {
		s := functions.Adopt(&listed[i], readyAt)
		s.RequestedBy, s.Origin = fmt.Sprintf("app-%02d", i%50), arrops.OriginCommand
		s.Announced = s.Status // announced by that earlier sweep
		recs[i] = s
	}
	if err := e.st.ImportSessions(e.ctx, recs); err != nil {
		tb.Fatal(err)
	}
}

// sweepCalls are the ARR calls of one sweep, from the simulator's counters.
type sweepCalls struct{ listPages, stops, gets, creates int64 }

func sweepCallsSince(before, after arrsim.Stats) sweepCalls {
	return sweepCalls{listPages: after.ListSessions - before.ListSessions, stops: after.StopSession - before.StopSession,
		gets: after.GetSession - before.GetSession, creates: after.CreateSession - before.CreateSession}
}

// BenchmarkSweep1000 measures one shutdown sweep over benchSweepSessions
// active sessions past their maximum age: the ARR calls it makes (one List,
// whose pages are counted, plus one stop per session) and
// its wall time against the List call alone (the baseline, first).
func BenchmarkSweep1000(b *testing.B) {
	e := newBenchSDEnv(b)
	e.fleet(b, benchSweepSessions)
	b.Run("baseline=list", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if l, err := functions.ListSessions(e.ctx, e.arrc); err != nil || len(l) != benchSweepSessions {
				b.Fatalf("list: %d, %v", len(l), err)
			}
		}
	})
	b.Run("sweep", func(b *testing.B) {
		b.ReportAllocs()
		var calls sweepCalls
		for i := 0; i < b.N; i++ {
			if i > 0 { // the first fleet is already there
				b.StopTimer()
				e.fleet(b, benchSweepSessions)
				b.StartTimer()
			}
			before := e.sim.Stats()
			st, err := shutdown.Sweep(e.ctx, e.deps, slog.New(slog.NewJSONHandler(io.Discard, nil)))
			if err != nil || st.Stopped != benchSweepSessions || st.ListCalls != 1 {
				b.Fatalf("sweep: %+v, %v", st, err)
			}
			c := sweepCallsSince(before, e.sim.Stats())
			calls.listPages += c.listPages
			calls.stops += c.stops
			calls.gets += c.gets
			calls.creates += c.creates
		}
		n := float64(b.N)
		b.ReportMetric(float64(calls.listPages)/n, "list-pages/sweep")
		b.ReportMetric(float64(calls.stops)/n, "stops/sweep")
		b.ReportMetric(float64(calls.gets)/n, "gets/sweep")
		b.ReportMetric(float64(calls.creates)/n, "creates/sweep")
	})
}

// TestSweepBench checks the benchmark's set-up on a small fleet: the
// imported records need no update before the policy, so a sweep makes one
// List and one stop per session (no GETs: the List is the final view), and
// stops them all.
func TestSweepBench(t *testing.T) {
	e := newBenchSDEnv(t)
	const n = 5
	e.fleet(t, n)
	before := e.sim.Stats()
	st, err := shutdown.Sweep(e.ctx, e.deps, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil || st.Stopped != n || st.Adopted != 0 || st.ListCalls != 1 {
		t.Fatalf("sweep: %+v, %v", st, err)
	}
	if c := sweepCallsSince(before, e.sim.Stats()); c != (sweepCalls{listPages: 1, stops: n}) {
		t.Errorf("ARR calls %+v, want 1 List page and %d stops", c, n)
	}
	if l, err := functions.ListSessions(e.ctx, e.arrc); err != nil || len(l) != 0 {
		t.Errorf("after the sweep ARR lists %d sessions (%v)", len(l), err)
	}
}
