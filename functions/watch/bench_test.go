package watch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/watch"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/notify"
)

// benchSessions is how many Ready sessions the unchanged sweep looks at.
const benchSessions = 200

// benchWatchEnv is the watch function against Azurite (records and, as in
// local mode, the event queues) and the simulator over loopback, with
// benchSessions sessions Ready and recorded.
type benchWatchEnv struct {
	ctx    context.Context
	sim    *arrsim.Server
	arrc   *arr.Client
	tables *functest.Requests // the store client's table requests
	deps   watch.Deps
}

func newBenchWatchEnv(tb testing.TB, sessions int) *benchWatchEnv {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	az := azuritetest.Start(tb)
	sim, url := functest.Sim(tb, arrsim.Options{ReadyAfter: time.Second}, nil)
	arrc := functest.ARR(tb, url, azpolicy.ClientOptions{})
	tables := &functest.Requests{}
	st := functest.Store(tb, az.ConnectionString, nil, tables)
	qs, err := notify.QueueService(az.ConnectionString, "", nil)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := functest.Config(tb, az.ConnectionString)
	e := &benchWatchEnv{ctx: ctx, sim: sim, arrc: arrc, tables: tables}
	e.deps = watch.Deps{Config: cfg, ARR: functions.Value(arrc), Bus: functions.Value[functions.Publisher](notify.NewLocal(qs, config.EventsTopic)),
		Records: functions.Value[watch.Records](st), Now: time.Now}
	for i := range sessions {
		if _, err := arrc.CreateSession(ctx, fmt.Sprintf("wb-%04d", i), arr.SessionSettings{MaxLeaseTimeMinutes: 600, Size: "Standard"}, nil); err != nil {
			tb.Fatal(err)
		}
	}
	sim.Advance(2 * time.Second)
	// The first sweep adopts them all, Ready, and announces it.
	if st, err := watch.Sweep(ctx, e.deps); err != nil || st.Adopted != sessions {
		tb.Fatalf("first sweep: %+v, %v", st, err)
	}
	return e
}

// arrCalls is the number of ARR requests (token calls aside) so far.
func (e *benchWatchEnv) arrCalls() int64 {
	s := e.sim.Stats()
	return s.CreateSession + s.GetSession + s.UpdateSession + s.StopSession + s.ListSessions + s.CreateConversion + s.GetConversion + s.ListConversions
}

// BenchmarkUnchangedSweep measures a watch sweep over benchSessions Ready
// sessions that nothing changed since the last sweep, against the List call
// alone (the baseline, first): the sweep must write no table entity and make
// no ARR call beyond the List pages.
func BenchmarkUnchangedSweep(b *testing.B) {
	e := newBenchWatchEnv(b, benchSessions)
	b.Run("baseline=list", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if l, err := functions.ListSessions(e.ctx, e.arrc); err != nil || len(l) != benchSessions {
				b.Fatalf("list: %d, %v", len(l), err)
			}
		}
	})
	b.Run("sweep", func(b *testing.B) {
		writes, calls := e.tables.Writes.Load(), e.arrCalls()
		lists := e.sim.Stats().ListSessions
		b.ReportAllocs()
		for b.Loop() {
			st, err := watch.Sweep(e.ctx, e.deps)
			if err != nil || st.Writes != 0 || st.Listed != benchSessions {
				b.Fatalf("sweep: %+v, %v", st, err)
			}
		}
		n := float64(b.N)
		w := e.tables.Writes.Load() - writes
		b.ReportMetric(float64(w)/n, "table-writes/sweep")
		b.ReportMetric(float64(e.arrCalls()-calls)/n, "arr-calls/sweep")
		b.ReportMetric(float64(e.sim.Stats().ListSessions-lists)/n, "list-pages/sweep")
		if w != 0 {
			b.Errorf("%d unchanged sweeps wrote %d table entities", b.N, w)
		}
	})
}

// TestUnchangedSweepBench checks the benchmark's premise on a few sessions:
// after the adopting sweep, a sweep writes nothing and calls only List, and
// the counter does see writes when something changes.
func TestUnchangedSweepBench(t *testing.T) {
	e := newBenchWatchEnv(t, 3)
	writes, calls := e.tables.Writes.Load(), e.arrCalls()
	if st, err := watch.Sweep(e.ctx, e.deps); err != nil || st.Writes != 0 {
		t.Fatalf("unchanged sweep: %+v, %v", st, err)
	}
	if w, c := e.tables.Writes.Load()-writes, e.arrCalls()-calls; w != 0 || c != 1 {
		t.Errorf("unchanged sweep: %d table writes, %d ARR calls; want 0 and 1 (List)", w, c)
	}
	if _, err := e.arrc.StopSession(e.ctx, "wb-0001", nil); err != nil {
		t.Fatal(err)
	}
	writes = e.tables.Writes.Load()
	st, err := watch.Sweep(e.ctx, e.deps)
	if err != nil || st.Gets != 1 || st.Writes == 0 || e.tables.Writes.Load() == writes {
		t.Fatalf("sweep after a stop: %+v, %v; table writes %d", st, err, e.tables.Writes.Load()-writes)
	}
}
