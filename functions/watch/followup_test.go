package watch_test

import (
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/watch"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/policy"
	"github.com/arrops/arrops/schedule"
	"github.com/arrops/arrops/trigger"
)

// TestTimerRearmsAndArms: the minute timer starts a follow-up chain when its
// sweep sees a session starting and no chain is live (a lost message, a
// crash between claim and send), leaves a live chain alone, starts nothing
// when nothing is in transition, and arms the first policy instant of a
// session it sees become Ready.
func TestTimerRearmsAndArms(t *testing.T) {
	e := newWatchEnv(t)
	due := &schedule.Memory{Now: func() time.Time { return e.now }}
	sched := functions.Value[schedule.Scheduler](due)
	e.deps.FollowUps = &functions.FollowUps{Period: 5 * time.Second, Due: sched, Records: functions.Value[functions.ChainRecords](e.st)}
	e.deps.Deadlines = &functions.Deadlines{Policy: policy.Options{MaxReadyMinutes: 60, WarningMinutes: 10, TimeZone: time.UTC},
		Due: sched, Records: functions.Value[functions.DeadlineRecords](e.st)}
	fn := watch.New(e.deps)
	tick := func() { functest.RunTimer(t, e.ctx, fn, watch.Binding, trigger.Timer{}) }
	kinds := func() (follow, deadline int) {
		for _, p := range due.Pending() {
			if p.Msg.Kind == arrops.DueFollowUp {
				follow++
			} else {
				deadline++
			}
		}
		return
	}

	e.startRecorded("tw-1", "ann", "")
	tick()
	if f, d := kinds(); f != 1 || d != 0 {
		t.Fatalf("a starting session without a chain: %d follow-ups, %d deadlines; want the chain re-armed", f, d)
	}
	tick()
	if f, _ := kinds(); f != 1 {
		t.Fatalf("the timer started a second chain beside a live one: %d follow-ups", f)
	}

	e.sim.Advance(2 * time.Second) // Ready
	e.now = e.now.Add(time.Minute)
	tick()
	warnAt := e.now.Add(50 * time.Minute)
	if r := warnAt.Truncate(time.Second); !r.Equal(warnAt) {
		warnAt = r.Add(time.Second) // instants are whole seconds, never early
	}
	if s := e.record("tw-1"); s.Status != arrops.SessionReady || !s.DeadlineAt.Equal(warnAt) {
		t.Fatalf("after Ready: %s, DeadlineAt %v, want ReadyAt + 50 min (the warning)", s.Status, s.DeadlineAt)
	}
	if f, d := kinds(); f != 1 || d != 1 {
		t.Fatalf("after Ready: %d follow-ups, %d deadlines; want the old link only and one deadline", f, d)
	}
	// Idle (everything Ready): the timer makes no chain, arms nothing new.
	due.Due(e.now.Add(time.Minute)) // the old link is delivered (and would end the chain)
	e.now = e.now.Add(time.Minute)
	tick()
	if f, d := kinds(); f != 0 || d != 1 {
		t.Fatalf("idle tick: %d follow-ups, %d deadlines", f, d)
	}
}

// TestBudgetRearmedWhenAnotherSessionBills: with a daily budget, a second
// session of the same requester becoming Ready brings the first one's
// projected exhaustion forward; the sweep that sees it re-arms the first.
func TestBudgetRearmedWhenAnotherSessionBills(t *testing.T) {
	e := newWatchEnv(t)
	due := &schedule.Memory{Now: func() time.Time { return e.now }}
	e.deps.Deadlines = &functions.Deadlines{Policy: policy.Options{DailyBudget: 600, BudgetSet: true, TimeZone: time.UTC},
		Due: functions.Value[schedule.Scheduler](due), Records: functions.Value[functions.DeadlineRecords](e.st)}
	e.now = time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC) // the budget day has 16 hours left
	e.startRecorded("bud-1", "ann", "")
	e.sim.Advance(2 * time.Second)
	if _, err := watch.Sweep(e.ctx, e.deps); err != nil {
		t.Fatal(err)
	}
	first := e.record("bud-1").DeadlineAt
	if !first.Equal(e.now.Add(600 * time.Minute)) {
		t.Fatalf("one billing session: exhaustion armed at %v, want now + 600 min", first)
	}
	e.now = e.now.Add(60 * time.Minute) // 540 min left
	e.startRecorded("bud-2", "ann", "")
	e.sim.Advance(2 * time.Second)
	if _, err := watch.Sweep(e.ctx, e.deps); err != nil {
		t.Fatal(err)
	}
	want := e.now.Add(270 * time.Minute) // two sessions burn it twice as fast
	for _, id := range []string{"bud-1", "bud-2"} {
		if at := e.record(id).DeadlineAt; !at.Equal(want) {
			t.Errorf("%s armed at %v, want %v", id, at, want)
		}
	}
	if n := len(due.Pending()); n != 3 {
		t.Errorf("%d deadlines scheduled, want 3 (the first, then one per session)", n)
	}
}
