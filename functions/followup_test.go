package functions_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/schedule"
	"github.com/arrops/arrops/store/memstore"
)

var t0 = time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)

type chainKit struct {
	chain *memstore.Store
	due   *schedule.Memory
	f     *functions.FollowUps
	now   atomic.Int64 // offset from t0 in ns
}

func newChainKit() *chainKit {
	k := &chainKit{chain: memstore.New(nil)}
	k.due = &schedule.Memory{Now: k.clock}
	k.f = &functions.FollowUps{Period: 5 * time.Second,
		Records: functions.Value[functions.ChainRecords](k.chain), Due: functions.Value[schedule.Scheduler](k.due)}
	return k
}

func (k *chainKit) clock() time.Time        { return t0.Add(time.Duration(k.now.Load())) }
func (k *chainKit) advance(d time.Duration) { k.now.Add(int64(d)) }

// live returns the pending follow-ups of the chain's current generation.
func (k *chainKit) live(t *testing.T) []arrops.DueMessage {
	t.Helper()
	c, err := k.chain.GetFollowUpChain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []arrops.DueMessage
	for _, p := range k.due.Pending() {
		if p.Msg.Kind == arrops.DueFollowUp && p.Msg.Gen == c.Gen && !c.DueAt.IsZero() {
			out = append(out, p.Msg)
		}
	}
	return out
}

// firstLink starts a chain and returns its first link, delivered when due.
func firstLink(t *testing.T) (*chainKit, arrops.DueMessage) {
	t.Helper()
	k := newChainKit()
	if s, err := k.f.Kick(context.Background(), k.clock()); err != nil || !s {
		t.Fatalf("kick: started=%v %v", s, err)
	}
	k.advance(5 * time.Second)
	due := k.due.Due(k.clock())
	if len(due) != 1 {
		t.Fatalf("%d links due after one kick", len(due))
	}
	return k, due[0]
}

func sweepReturning(busy bool) func(context.Context) (bool, error) {
	return func(context.Context) (bool, error) { return busy, nil }
}

// TestKickConcurrentStartsOneChain: 100 commands recorded at once start one
// chain; later kicks within the period only nudge it.
func TestKickConcurrentStartsOneChain(t *testing.T) {
	k := newChainKit()
	ctx := context.Background()
	var wg sync.WaitGroup
	var started atomic.Int32
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := k.f.Kick(ctx, k.clock())
			if err != nil {
				t.Error(err)
			}
			if s {
				started.Add(1)
			}
		}()
	}
	wg.Wait()
	if started.Load() != 1 || len(k.due.Pending()) != 1 || len(k.live(t)) != 1 {
		t.Fatalf("started %d chains, %d messages pending", started.Load(), len(k.due.Pending()))
	}
	if p := k.due.Pending()[0]; !p.Visible.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("first link visible at %v, want now+period", p.Visible)
	}
	k.advance(2 * time.Second)
	if s, err := k.f.Kick(ctx, k.clock()); err != nil || s {
		t.Fatalf("kick while live started=%v err=%v", s, err)
	}
	if len(k.due.Pending()) != 1 {
		t.Fatalf("a kick while live scheduled a message")
	}
}

// TestLinkRedelivered: the live link delivered 3 times, one after the other
// and then concurrently, schedules exactly one next link; stale copies do
// nothing, not even a sweep.
func TestLinkRedelivered(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		k, msg := firstLink(t)
		ctx := context.Background()
		var sweeps atomic.Int32
		sweep := func(context.Context) (bool, error) { sweeps.Add(1); return true, nil }
		outcomes := make([]functions.LinkOutcome, 3)
		var wg sync.WaitGroup
		for i := range 3 {
			run := func() {
				out, err := k.f.Link(ctx, msg, k.clock, sweep)
				if err != nil {
					t.Error(err)
				}
				outcomes[i] = out
			}
			if concurrent {
				wg.Add(1)
				go func() { defer wg.Done(); run() }()
			} else {
				run()
			}
		}
		wg.Wait()
		continued := 0
		for _, o := range outcomes {
			if o == functions.LinkContinued {
				continued++
			}
		}
		if continued != 1 || len(k.due.Pending()) != 1 || len(k.live(t)) != 1 {
			t.Fatalf("concurrent=%v: outcomes %v, %d pending, %d live", concurrent, outcomes, len(k.due.Pending()), len(k.live(t)))
		}
		if !concurrent && sweeps.Load() != 1 {
			t.Errorf("stale redeliveries swept: %d sweeps", sweeps.Load())
		}
		if next := k.due.Pending()[0]; next.Msg.Gen != msg.Gen+1 || !next.Visible.Equal(t0.Add(10*time.Second)) {
			t.Errorf("next link %+v, want gen %d at +10s (cadence kept)", next, msg.Gen+1)
		}
	}
}

// TestLinkEndsAndRestarts: a sweep with nothing in transition ends the
// chain; the next command starts a new generation.
func TestLinkEndsAndRestarts(t *testing.T) {
	k, msg := firstLink(t)
	ctx := context.Background()
	out, err := k.f.Link(ctx, msg, k.clock, sweepReturning(false))
	if err != nil || out != functions.LinkEnded || len(k.due.Pending()) != 0 {
		t.Fatalf("idle sweep: %v %v, %d pending", out, err, len(k.due.Pending()))
	}
	// A redelivery of the ended link is stale.
	if out, _ := k.f.Link(ctx, msg, k.clock, sweepReturning(true)); out != functions.LinkStale || len(k.due.Pending()) != 0 {
		t.Fatalf("ended link redelivered: %v", out)
	}
	if s, err := k.f.Kick(ctx, k.clock()); err != nil || !s {
		t.Fatalf("kick after the end: started=%v %v", s, err)
	}
	if l := k.live(t); len(l) != 1 || l[0].Gen != msg.Gen+1 {
		t.Fatalf("new chain %+v", l)
	}
}

// TestNudgeKeepsChain: a command records a transition while a link is
// sweeping (its List taken before the command's record), and the link's
// sweep saw nothing: the nudge makes it sweep once more instead of ending.
func TestNudgeKeepsChain(t *testing.T) {
	k, msg := firstLink(t)
	ctx := context.Background()
	out, err := k.f.Link(ctx, msg, k.clock, func(ctx context.Context) (bool, error) {
		if _, err := k.f.Kick(ctx, k.clock()); err != nil { // the command, mid-sweep
			return false, err
		}
		return false, nil
	})
	if err != nil || out != functions.LinkContinued || len(k.live(t)) != 1 || len(k.due.Pending()) != 1 {
		t.Fatalf("nudged link: %v %v, %d live, %d pending", out, err, len(k.live(t)), len(k.due.Pending()))
	}
}

// TestCrashBetweenClaimAndSchedule: a handler killed after claiming the next
// link but before scheduling it (SIGKILL, or the queue failing) leaves no
// message; the redelivered link is stale; the watch timer's Ensure restarts
// the chain once the claim is past its grace, and only then.
func TestCrashBetweenClaimAndSchedule(t *testing.T) {
	k, msg := firstLink(t)
	ctx := context.Background()
	k.due.Fail(schedule.ErrOutage)
	if _, err := k.f.Link(ctx, msg, k.clock, sweepReturning(true)); !errors.Is(err, schedule.ErrOutage) {
		t.Fatalf("link with a failing queue: %v", err)
	}
	k.due.Fail(nil)
	// The host redelivers the message (the invocation failed): stale now.
	k.advance(30 * time.Second)
	if out, err := k.f.Link(ctx, msg, k.clock, sweepReturning(true)); err != nil || out != functions.LinkStale {
		t.Fatalf("redelivery after the crash: %v %v", out, err)
	}
	if s, _ := k.f.Ensure(ctx, k.clock()); s {
		t.Fatal("the timer restarted a chain whose claim is within its grace")
	}
	k.advance(functions.FollowUpGrace)
	if s, err := k.f.Ensure(ctx, k.clock()); err != nil || !s || len(k.live(t)) != 1 {
		t.Fatalf("the timer did not re-arm the lost chain: %v %v", s, err)
	}
	if s, _ := k.f.Ensure(ctx, k.clock()); s || len(k.due.Pending()) != 1 {
		t.Fatal("a second Ensure started another chain")
	}
}

// TestChainRandomized drives commands, deliveries (duplicated, delayed,
// concurrent), crashes and timer ticks at random against one chain and
// checks after every step: at most one message of the live generation
// exists, and while the chain is live and no crash is pending, exactly one.
func TestChainRandomized(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 7))
		k := newChainKit()
		ctx := context.Background()
		var delivered []arrops.DueMessage // copies a redelivery may bring back
		for step := range 400 {
			k.advance(time.Duration(r.IntN(3000)) * time.Millisecond)
			switch op := r.IntN(10); {
			case op < 2: // commands, sometimes several at once
				n := 1 + r.IntN(3)
				var wg sync.WaitGroup
				for range n {
					wg.Add(1)
					go func() { defer wg.Done(); k.f.Kick(ctx, k.clock()) }()
				}
				wg.Wait()
			case op < 7: // deliver what is due, each maybe twice at once
				for _, m := range k.due.Due(k.clock()) {
					delivered = append(delivered, m)
					copies := 1 + r.IntN(2)
					busy := r.IntN(4) > 0
					crash := r.IntN(10) == 0
					var wg sync.WaitGroup
					for range copies {
						wg.Add(1)
						go func() {
							defer wg.Done()
							if crash {
								k.due.Fail(schedule.ErrOutage)
								defer k.due.Fail(nil)
							}
							k.f.Link(ctx, m, k.clock, sweepReturning(busy))
						}()
					}
					wg.Wait()
				}
			case op < 9: // a redelivery of an old message
				if len(delivered) > 0 {
					k.f.Link(ctx, delivered[r.IntN(len(delivered))], k.clock, sweepReturning(true))
				}
			default: // the minute timer saw something in transition
				k.f.Ensure(ctx, k.clock())
			}
			if n := len(k.live(t)); n > 1 {
				t.Fatalf("seed %d step %d: %d messages of the live generation", seed, step, n)
			}
		}
	}
}
