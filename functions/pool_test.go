package functions_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/watch"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/schedule"
	"github.com/arrops/arrops/store"
)

// shiftClock is wall-clock time moved to a chosen instant: the simulator and
// the functions share it, so sessions become Ready in real time while the
// test jumps the pool window's edges.
type shiftClock struct{ shift atomic.Int64 }

func (c *shiftClock) Now() time.Time { return time.Now().Add(time.Duration(c.shift.Load())).UTC() }

// Set moves the clock to t.
func (c *shiftClock) Set(t time.Time) { c.shift.Store(int64(time.Until(t))) }

type poolEnv struct {
	t     *testing.T
	ctx   context.Context
	clock *shiftClock
	sim   *arrsim.Server
	arrc  *arr.Client
	st    *store.Store
	pool  *functions.Pool
	due   *schedule.Memory
	watch watch.Deps
	log   *slog.Logger
}

func newPoolEnv(t *testing.T, az *azuritetest.Instance, settings map[string]string) *poolEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	clock := &shiftClock{}
	sim, url := functest.Sim(t, arrsim.Options{ReadyAfter: 300 * time.Millisecond, Clock: clock.Now}, nil)
	arrc := functest.ARR(t, url, azpolicy.ClientOptions{Retry: functest.NoRetries})
	st := functest.Store(t, az.ConnectionString, functest.FreshTables("Pool"))
	cfg := functest.Config(t, az.ConnectionString, settings)
	due := &schedule.Memory{}
	p := &functions.Pool{Config: cfg.Pool, ARR: functions.Value(arrc), Due: functions.Value[schedule.Scheduler](due),
		Records: functions.Value[functions.PoolRecords](st)}
	return &poolEnv{t: t, ctx: ctx, clock: clock, sim: sim, arrc: arrc, st: st, pool: p, due: due,
		log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		watch: watch.Deps{Config: cfg, ARR: functions.Value(arrc), Records: functions.Value[watch.Records](st), Now: clock.Now,
			Bus: functions.Value[functions.Publisher](&functest.Bus{})}}
}

func (e *poolEnv) maintain() functions.PoolStats {
	e.t.Helper()
	st, err := e.pool.Maintain(e.ctx, e.clock.Now(), e.log)
	if err != nil {
		e.t.Fatalf("maintain: %v", err)
	}
	return st
}

// settle sweeps until nothing is starting (a deadline, no fixed sleep).
func (e *poolEnv) settle() {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := watch.Sweep(e.ctx, e.watch)
		if err != nil {
			e.t.Fatal(err)
		}
		if st.InTransition == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("still %d in transition", st.InTransition)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *poolEnv) active() (free, claimed []*arrops.Session) {
	e.t.Helper()
	ss, err := e.st.ActiveSessions(e.ctx, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range ss {
		switch {
		case s.PoolFree():
			free = append(free, s)
		case s.Origin == arrops.OriginPool:
			claimed = append(claimed, s)
		}
	}
	return free, claimed
}

func TestPool(t *testing.T) {
	az := azuritetest.Start(t)
	t.Run("Lifecycle", func(t *testing.T) { testPoolLifecycle(t, az) })
	t.Run("ClaimRace", func(t *testing.T) { testPoolClaimRace(t, az) })
	t.Run("IntentFirst", func(t *testing.T) { testPoolIntentFirst(t, az) })
}

// Pool sessions are started intent first: a maintainer whose ARR create
// fails after the Requested record was inserted leaves the intent, never an
// ARR session without a record; the next maintainer carries it on (one
// session per slot), and an intent left at window close is abandoned.
func testPoolIntentFirst(t *testing.T, az *azuritetest.Instance) {
	e := newPoolEnv(t, az, map[string]string{"POOL_STANDARD": "2", "POOL_HOURS": "08:00-18:00", "POOL_LEASE_MINUTES": "60"})
	mon := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	e.clock.Set(mon.Add(9 * time.Hour))
	// Every session ARR has has a record; returns ARR's ids.
	recorded := func() map[string]bool {
		t.Helper()
		listed, err := functions.ListSessions(e.ctx, e.arrc)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, a := range listed {
			if _, err := e.st.GetSession(e.ctx, a.ID); err != nil {
				t.Fatalf("ARR session %s without a record: %v", a.ID, err)
			}
			ids[a.ID] = true
		}
		return ids
	}
	e.sim.SetFaults(arrsim.Faults{Error500Next: 1})
	if _, err := e.pool.Maintain(e.ctx, e.clock.Now(), e.log); err == nil {
		t.Fatal("maintain with ARR answering 500: no error")
	}
	first := "pool-standard-20261207-0"
	if s, err := e.st.GetSession(e.ctx, first); err != nil || s.Status != arrops.SessionRequested || !s.PoolFree() {
		t.Fatalf("after the failed create: %+v %v, want the Requested intent", s, err)
	}
	if ids := recorded(); len(ids) != 0 {
		t.Fatalf("ARR has %v after a failed create", ids)
	}
	if st := e.maintain(); st.Started != 2 || st.Free != 2 {
		t.Fatalf("next maintenance: %+v, want the intent carried on and the second slot started", st)
	}
	if ids := recorded(); len(ids) != 2 || !ids[first] || !ids["pool-standard-20261207-1"] {
		t.Fatalf("ARR has %v, want slots 0 and 1", ids)
	}
	if s, _ := e.st.GetSession(e.ctx, first); s.Status != arrops.SessionStarting || s.Announced != arrops.SessionStarting {
		t.Fatalf("resumed intent: %+v, want Starting, announcement claimed", s)
	}
	e.settle()

	// An intent left just before the close (a claim took slot 1, the
	// replacement's create failed): the close abandons it, so a late
	// maintainer's create is stopped again.
	now := e.clock.Now()
	if c, _, err := e.pool.Claim(e.ctx, e.st, functions.PoolClaim{Key: "cmd-1", Size: arrops.SizeStandard}, now); err != nil || c == nil {
		t.Fatalf("claim: %v %v", c, err)
	}
	e.sim.SetFaults(arrsim.Faults{Error500Next: 1})
	if _, err := e.pool.Maintain(e.ctx, now, e.log); err == nil {
		t.Fatal("maintain with ARR answering 500: no error")
	}
	third := "pool-standard-20261207-2"
	if s, err := e.st.GetSession(e.ctx, third); err != nil || s.Status != arrops.SessionRequested {
		t.Fatalf("replacement intent: %+v %v", s, err)
	}
	e.clock.Set(mon.Add(18 * time.Hour))
	if st := e.maintain(); st.Stopped != 2 {
		t.Fatalf("18:00: %+v, want the free session and the intent stopped", st)
	}
	if s, _ := e.st.GetSession(e.ctx, third); !functions.Abandoned(s) {
		t.Fatalf("intent at close: %+v, want abandoned", s)
	}
	if ids := recorded(); ids[third] {
		t.Fatalf("ARR has the abandoned intent %s", third)
	}
}

// The window's lead, start, claims replaced, leases renewed, a failed
// session replaced, and the close: with the observed start time unknown the
// lead is the documented default (5 min for Standard).
func testPoolLifecycle(t *testing.T, az *azuritetest.Instance) {
	e := newPoolEnv(t, az, map[string]string{"POOL_STANDARD": "2", "POOL_HOURS": "08:00-18:00", "POOL_DAYS": "Mon-Fri", "POOL_LEASE_MINUTES": "60"})
	mon := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

	e.clock.Set(mon.Add(7*time.Hour + 50*time.Minute))
	st := e.maintain()
	if st.Started != 0 || !st.NextEdge.Equal(mon.Add(7*time.Hour+55*time.Minute)) {
		t.Fatalf("07:50: %+v, want nothing started and the next look at 07:55 (08:00 less the 5 min default lead)", st)
	}
	if e.maintain(); len(e.due.Pending()) != 1 {
		t.Fatalf("the edge was scheduled %d times, want once", len(e.due.Pending()))
	}

	e.clock.Set(mon.Add(7*time.Hour + 55*time.Minute))
	if st := e.maintain(); st.Started != 2 || !st.NextEdge.Equal(mon.Add(18*time.Hour)) {
		t.Fatalf("07:55: %+v, want 2 started and the close at 18:00 next", st)
	}
	if st := e.maintain(); st.Started != 0 || st.Free != 2 {
		t.Fatalf("again: %+v, want no more", st)
	}
	e.settle()
	free, _ := e.active()
	if len(free) != 2 || free[0].ID != "pool-standard-20261207-0" || free[1].ID != "pool-standard-20261207-1" ||
		free[0].RequestedBy != arrops.PoolRequester || free[0].Status != arrops.SessionReady {
		t.Fatalf("free: %v", free)
	}

	// A claim takes one; a redelivery of the same command gets the same one.
	now := e.clock.Now()
	recs := e.st
	a, fresh, err := e.pool.Claim(e.ctx, recs, functions.PoolClaim{Key: "cmd-a", Size: arrops.SizeStandard, RequestedBy: "viewer"}, now)
	if err != nil || a == nil || !fresh || a.ClaimedBy != "cmd-a" || a.RequestedBy != "viewer" || a.Hostname == "" {
		t.Fatalf("claim: %v %v %v", a, fresh, err)
	}
	e.noClaimLock("cmd-a") // removed when the claim was done
	// A delivery stopped between its claim and removing its lock: the
	// redelivery finds the claim and removes the lock.
	if err := e.st.SaveDueMark(e.ctx, "claim-cmd-a", &arrops.FollowUpChain{DueAt: now}); err != nil {
		t.Fatal(err)
	}
	again, fresh, err := e.pool.Claim(e.ctx, recs, functions.PoolClaim{Key: "cmd-a", Size: arrops.SizeStandard}, now)
	if err != nil || again == nil || fresh || again.ID != a.ID {
		t.Fatalf("redelivered claim: %v %v %v, want %s again", again, fresh, err, a.ID)
	}
	e.noClaimLock("cmd-a")
	if p, _, _ := e.pool.Claim(e.ctx, recs, functions.PoolClaim{Key: "cmd-p", Size: arrops.SizePremium}, now); p != nil {
		t.Fatalf("a Premium start took Standard pool session %s", p.ID)
	}
	// A delivery that took the command's claim lock and was killed before
	// it claimed: its redelivery waits while the lock may still be live,
	// then takes the lock over and claims.
	lock := &arrops.FollowUpChain{DueAt: now}
	if err := e.st.SaveDueMark(e.ctx, "claim-cmd-k", lock); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.pool.Claim(e.ctx, recs, functions.PoolClaim{Key: "cmd-k", Size: arrops.SizeStandard}, now.Add(5*time.Second)); !errors.Is(err, functions.ErrClaimInProgress) {
		t.Fatalf("claim behind a live lock: %v, want ErrClaimInProgress", err)
	}
	k, fresh, err := e.pool.Claim(e.ctx, recs, functions.PoolClaim{Key: "cmd-k", Size: arrops.SizeStandard}, now.Add(30*time.Second))
	if err != nil || k == nil || !fresh || k.ID == a.ID {
		t.Fatalf("claim after the lock went stale: %v %v %v", k, fresh, err)
	}
	e.noClaimLock("cmd-k")
	// Replenish: the claimed ones are replaced in the next slots.
	if st := e.maintain(); st.Started != 2 {
		t.Fatalf("after two claims: %+v, want two replacements", st)
	}
	e.settle()

	// A pool session that fails is replaced too.
	free, _ = e.active()
	if err := e.sim.FailSession(free[0].ID, "InternalServerError", "host lost"); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if st := e.maintain(); st.Started != 1 {
		t.Fatalf("after a failure: %+v, want one replacement", st)
	}
	e.settle()
	free, claimed := e.active()
	if len(free) != 2 || len(claimed) != 2 || free[1].ID != "pool-standard-20261207-4" {
		t.Fatalf("free %v claimed %v", free, claimed)
	}

	// Leases: 40 minutes after Ready, 20 of the 60 are left: renewed.
	e.clock.Set(free[1].ReadyAt.Add(40 * time.Minute))
	if st := e.maintain(); st.Renewed != 2 {
		t.Fatalf("40 min after Ready: %+v, want both leases renewed", st)
	}
	free, _ = e.active()
	for _, s := range free {
		if s.MaxLeaseMinutes < 100 {
			t.Errorf("%s lease %d, want 40 + 60", s.ID, s.MaxLeaseMinutes)
		}
	}

	// Close: the unclaimed stop, the claimed one is the requester's.
	before := free
	e.clock.Set(mon.Add(18 * time.Hour))
	if st := e.maintain(); st.Stopped != 2 {
		t.Fatalf("18:00: %+v, want 2 stopped", st)
	}
	free, claimed = e.active()
	if len(free) != 0 || len(claimed) != 2 {
		t.Fatalf("after close: free %v claimed %v", free, claimed)
	}
	for _, f := range before {
		s, err := e.st.GetSession(e.ctx, f.ID)
		if err != nil || s.Status != arrops.SessionStopped || s.StopReason != "pool window closed (unclaimed pool session)" {
			t.Fatalf("at close: %v %v", s, err)
		}
	}
	// Friday's close looks to Monday's lead.
	e.clock.Set(time.Date(2026, 12, 11, 18, 30, 0, 0, time.UTC))
	if st := e.maintain(); !st.NextEdge.Equal(time.Date(2026, 12, 14, 7, 55, 0, 0, time.UTC)) {
		t.Fatalf("Friday night: next edge %s, want Monday 07:55", st.NextEdge)
	}
}

// 200 commands (each delivered twice at once, as a redelivery racing its
// first delivery) against a pool of 20 Ready sessions: exactly 20 commands
// get a session, each session goes to one command, and both deliveries of a
// command get the same one.
func testPoolClaimRace(t *testing.T, az *azuritetest.Instance) {
	e := newPoolEnv(t, az, map[string]string{"POOL_STANDARD": "20", "POOL_HOURS": "00:00-00:00"})
	if st := e.maintain(); st.Started != 20 {
		t.Fatalf("%+v, want 20 started", st)
	}
	e.settle()
	now := e.clock.Now()
	var mu sync.Mutex
	got := map[string][]string{} // command -> sessions it got
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	sem := make(chan struct{}, 32)
	for i := range 200 {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				key := fmt.Sprintf("cmd-%03d", i)
				var s *arrops.Session
				var err error
				// A copy that finds the other claiming fails as the host's
				// redelivery would, and comes back.
				for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
					s, _, err = e.pool.Claim(e.ctx, e.st, functions.PoolClaim{Key: key, Size: arrops.SizeStandard, RequestedBy: key}, now)
					if !errors.Is(err, functions.ErrClaimInProgress) || time.Now().After(deadline) {
						break
					}
				}
				if err != nil {
					errs <- err
					return
				}
				if s != nil {
					mu.Lock()
					got[key] = append(got[key], s.ID)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	owner := map[string]string{}
	for key, ids := range got {
		for _, id := range ids {
			if o, ok := owner[id]; ok && o != key {
				t.Fatalf("session %s claimed by %s and %s", id, o, key)
			}
			owner[id] = key
		}
		if len(ids) == 2 && ids[0] != ids[1] {
			t.Fatalf("%s: its two deliveries got %v", key, ids)
		}
	}
	if len(got) != 20 || len(owner) != 20 {
		t.Fatalf("%d commands served from the pool with %d sessions, want 20 and 20", len(got), len(owner))
	}
	free, claimed := e.active()
	if len(free) != 0 || len(claimed) != 20 {
		t.Fatalf("records: %d free, %d claimed", len(free), len(claimed))
	}
	for _, s := range claimed {
		if owner[s.ID] != s.ClaimedBy || s.RequestedBy != s.ClaimedBy {
			t.Fatalf("%s: record says %s, a command got it as %s", s.ID, s.ClaimedBy, owner[s.ID])
		}
	}
	// No claim lock stays behind.
	for i := range 200 {
		e.noClaimLock(fmt.Sprintf("cmd-%03d", i))
	}
}

// noClaimLock fails the test if the claim lock of key is still stored.
func (e *poolEnv) noClaimLock(key string) {
	e.t.Helper()
	if m, err := e.st.GetDueMark(e.ctx, "claim-"+key); err != nil || m.ETag != "" {
		e.t.Fatalf("claim lock of %s: %+v %v, want none", key, m, err)
	}
}
