package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

// Unclaimed pool sessions wait outside every policy (the pool window ends
// them); a claim starts the clock of each policy for the new requester.
func TestPoolSessions(t *testing.T) {
	cfg := Options{MaxReadyMinutes: 60, AbsoluteMaxMinute: 120, BudgetSet: true, DailyBudget: 30,
		Quiet: window(t, "11:00-13:00"), TimeZone: time.UTC} // t0 is 12:00: quiet
	free := &arrops.Session{ID: "pool-standard-20261124-0", Status: arrops.SessionReady, Origin: arrops.OriginPool,
		RequestedBy: arrops.PoolRequester, ReadyAt: t0.Add(-5 * time.Hour)}
	if d := only(t, Evaluate(t0, cfg, []*arrops.Session{free}, nil)); d.Action != None {
		t.Fatalf("unclaimed pool session: %v %q, want None", d.Action, d.Reason)
	}
	if at, ok := NextInstant(t0, cfg, free, Usage{}); ok {
		t.Fatalf("unclaimed pool session has a policy instant %s", at)
	}

	claimed := *free
	claimed.ID = "pool-standard-20261124-1"
	claimed.ClaimedBy, claimed.ClaimedAt, claimed.RequestedBy = "cmd-1", t0.Add(-50*time.Minute), "viewer"
	day := cfg
	day.Quiet, day.BudgetSet = QuietHours{}, false
	d := only(t, Evaluate(t0, day, []*arrops.Session{&claimed}, nil))
	if d.Action != None || !d.StopAt.Equal(claimed.ClaimedAt.Add(time.Hour)) {
		t.Fatalf("claimed 50 min ago (Ready 5 h): %v stop at %s, want None until claim + 60 min", d.Action, d.StopAt)
	}
	claimed.ClaimedAt = t0.Add(-61 * time.Minute)
	d = only(t, Evaluate(t0, day, []*arrops.Session{&claimed}, nil))
	if d.Action != Stop || !strings.Contains(d.Reason, "ready for 61 min") {
		t.Fatalf("claimed 61 min ago: %v %q, want a max-age stop counted from the claim", d.Action, d.Reason)
	}
	// The budget counts the requester's minutes from the claim, not the
	// pool's idle hours.
	claimed.ClaimedAt = t0.Add(-20 * time.Minute)
	u := DailyUsage(t0, cfg, []*arrops.Session{&claimed, free}, nil)
	if u["viewer"].Minutes != 20 || u[arrops.PoolRequester].Minutes != 5*60 {
		t.Fatalf("usage %+v: want viewer 20 min (from the claim), pool 300", u)
	}
}
