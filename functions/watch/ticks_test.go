package watch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/watch"
	"github.com/arrops/arrops/internal/functest"
)

// startingEnv has n sessions recorded by commands (memory records: only the
// ARR calls are counted here) and still Starting in ARR (ready after an
// hour): what every follow-up tick sees while they start.
func startingEnv(tb testing.TB, n int) (watch.Deps, *arrsim.Server) {
	tb.Helper()
	ctx := context.Background()
	sim, url := functest.Sim(tb, arrsim.Options{ReadyAfter: time.Hour}, nil)
	arrc := functest.ARR(tb, url, azpolicy.ClientOptions{})
	st := functest.Records()
	deps := watch.Deps{Config: functest.Config(tb, functest.NoStorage), ARR: functions.Value(arrc),
		Bus: functions.Value[functions.Publisher](&functest.Bus{}), Records: functions.Value[watch.Records](st), Now: time.Now}
	for i := range n {
		id := fmt.Sprintf("tick-%d-%03d", n, i)
		if _, err := arrc.CreateSession(ctx, id, arr.SessionSettings{MaxLeaseTimeMinutes: 60, Size: "Standard"}, nil); err != nil {
			tb.Fatal(err)
		}
		s := &arrops.Session{ID: id, Size: arrops.SizeStandard, Status: arrops.SessionStarting, Origin: arrops.OriginCommand,
			RequestedBy: "tick", CreatedAt: time.Now().UTC(), Announced: arrops.SessionStarting}
		if _, _, err := st.CreateSession(ctx, s); err != nil {
			tb.Fatal(err)
		}
	}
	return deps, sim
}

// tick runs one follow-up sweep and returns the ARR Lists and GETs it made.
func tick(tb testing.TB, deps watch.Deps, sim *arrsim.Server) (lists, gets int64, st watch.Stats) {
	tb.Helper()
	before := sim.Stats()
	st, err := watch.Sweep(context.Background(), deps)
	if err != nil {
		tb.Fatal(err)
	}
	after := sim.Stats()
	return after.ListSessions - before.ListSessions, after.GetSession - before.GetSession, st
}

// TestStartingTickCalls: 1, 10 and 100 sessions starting together cost each
// follow-up tick the same ARR calls: one List (one page of 100), no GET. The
// ARR SDK's pollers would make one GET per session every 2-10 s instead.
func TestStartingTickCalls(t *testing.T) {
	for _, n := range []int{1, 10, 100} {
		deps, sim := startingEnv(t, n)
		lists, gets, st := tick(t, deps, sim)
		if lists != 1 || gets != 0 || st.InTransition != n {
			t.Errorf("%d starting sessions: %d Lists, %d GETs, %d in transition per tick; want 1, 0, %d", n, lists, gets, st.InTransition, n)
		}
	}
}

// BenchmarkStartingTick reports the ARR calls and the time of one follow-up
// tick with 1, 10 and 100 sessions starting (baseline: the per-session GETs
// an SDK poller makes per polling round).
func BenchmarkStartingTick(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		deps, sim := startingEnv(b, n)
		b.Run(fmt.Sprintf("starting=%d", n), func(b *testing.B) {
			var lists, gets int64
			ticks := 0
			for b.Loop() {
				l, g, _ := tick(b, deps, sim)
				lists += l
				gets += g
				ticks++
			}
			b.ReportMetric(float64(lists)/float64(ticks), "arr-lists/tick")
			b.ReportMetric(float64(gets)/float64(ticks), "arr-gets/tick")
			b.ReportMetric(float64(n), "sdk-gets/poll")
		})
	}
}
