package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

func TestDailyBudget(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	// 2026-11-24 10:00 CET; the budget day began at 2026-11-23 23:00 UTC.
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	dayStart := time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)
	run := func(id, who string, mins int) *arrops.Session {
		s := ready(id, now, mins)
		s.RequestedBy = who
		return s
	}
	done := func(id, who string, from, to time.Time) *arrops.Session {
		return &arrops.Session{ID: id, Status: arrops.SessionStopped, RequestedBy: who, ReadyAt: from, StoppedAt: to}
	}
	tests := []struct {
		name     string
		budget   int
		warn     int
		active   []*arrops.Session
		finished []*arrops.Session
		want     map[string]Action
		reason   string // substring of the first non-None decision's reason
	}{
		{
			name:   "reached by finished and running, all of the requester's sessions stop",
			budget: 60, active: []*arrops.Session{run("a1", "ann", 20), run("a2", "ann", 20), run("b1", "bob", 50)},
			finished: []*arrops.Session{done("f1", "ann", now.Add(-3*time.Hour), now.Add(-160*time.Minute))},
			want:     map[string]Action{"a1": Stop, "a2": Stop, "b1": None},
			reason:   `requester "ann" used 60 of 60 min on 2026-11-24 (Europe/Berlin)`,
		},
		{
			name: "one minute short", budget: 61, active: []*arrops.Session{run("a1", "ann", 20), run("a2", "ann", 20)},
			finished: []*arrops.Session{done("f1", "ann", now.Add(-3*time.Hour), now.Add(-160*time.Minute))},
			want:     map[string]Action{"a1": None, "a2": None},
		},
		{
			name: "one minute short warns: 1 min left over 2 sessions", budget: 61, warn: 10,
			active:   []*arrops.Session{run("a1", "ann", 20), run("a2", "ann", 20)},
			finished: []*arrops.Session{done("f1", "ann", now.Add(-3*time.Hour), now.Add(-160*time.Minute))},
			want:     map[string]Action{"a1": Warn, "a2": Warn},
			reason:   "(in 1 min)",
		},
		{
			name: "finished yesterday-to-today counts only today's part", budget: 40,
			active: []*arrops.Session{run("a1", "ann", 10)},
			// 60 minutes billed, 30 of them before local midnight.
			finished: []*arrops.Session{done("f1", "ann", dayStart.Add(-30*time.Minute), dayStart.Add(30*time.Minute))},
			want:     map[string]Action{"a1": Stop},
			reason:   "used 40 of 40",
		},
		{
			name: "finished entirely yesterday does not count", budget: 40,
			active:   []*arrops.Session{run("a1", "ann", 10)},
			finished: []*arrops.Session{done("f1", "ann", dayStart.Add(-5*time.Hour), dayStart)},
			want:     map[string]Action{"a1": None},
		},
		{
			name: "running since yesterday counts only today", budget: 600,
			active: []*arrops.Session{run("a1", "ann", 1000)}, // today: 10:00 - 00:00 = 600 min
			want:   map[string]Action{"a1": Stop},
			reason: "used 600 of 600",
		},
		{
			name: "finished session also listed active is counted once", budget: 50,
			active:   []*arrops.Session{run("a1", "ann", 30)},
			finished: []*arrops.Session{done("a1", "ann", now.Add(-30*time.Minute), now)},
			want:     map[string]Action{"a1": None},
		},
		{
			name: "adopted sessions share the empty requester", budget: 30,
			active: []*arrops.Session{run("x1", "", 20), run("x2", "", 10), run("a1", "ann", 25)},
			want:   map[string]Action{"x1": Stop, "x2": Stop, "a1": None},
			reason: "sessions without a requester (adopted) used 30 of 30",
		},
		{
			name: "keepAlive counts but is not stopped; Starting sessions of the requester stop", budget: 30,
			active: []*arrops.Session{
				func() *arrops.Session {
					s := run("k", "ann", 25)
					s.Tags = map[string]string{"keepAlive": "true"}
					return s
				}(),
				run("a1", "ann", 5),
				{ID: "s1", Status: arrops.SessionStarting, RequestedBy: "ann"},
			},
			want: map[string]Action{"k": None, "a1": Stop, "s1": Stop},
		},
		{
			name: "zero budget stops even Starting sessions", budget: 0,
			active: []*arrops.Session{{ID: "s1", Status: arrops.SessionStarting, RequestedBy: "ann"}},
			want:   map[string]Action{"s1": Stop},
		},
		{
			name: "estimated stop after local midnight: the budget renews, no warning", budget: 1000, warn: 120,
			active: []*arrops.Session{run("a1", "ann", 10)}, // 990 min left, 840 min to midnight
			want:   map[string]Action{"a1": None},
		},
		{
			name: "finished without stop time falls back to UpdatedAt", budget: 40,
			active: []*arrops.Session{run("a1", "ann", 10)},
			finished: []*arrops.Session{{ID: "f1", Status: arrops.SessionError, RequestedBy: "ann", ReadyAt: now.Add(-2 * time.Hour),
				UpdatedAt: now.Add(-90 * time.Minute)}},
			want: map[string]Action{"a1": Stop},
		},
		{
			name: "finished never ready bills nothing", budget: 40,
			active:   []*arrops.Session{run("a1", "ann", 10)},
			finished: []*arrops.Session{{ID: "f1", Status: arrops.SessionError, RequestedBy: "ann", StoppedAt: now}, nil},
			want:     map[string]Action{"a1": None},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Options{TimeZone: berlin, BudgetSet: true, DailyBudget: tt.budget, WarningMinutes: tt.warn}
			got := byID(Evaluate(now, cfg, tt.active, tt.finished))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d decisions, want %d", len(got), len(tt.want))
			}
			reasonSeen := tt.reason == ""
			for id, want := range tt.want {
				d := got[id]
				if d.Action != want {
					t.Errorf("%s: got %v %s %q, want %v", id, d.Action, d.Policy, d.Reason, want)
				}
				if want != None && d.Policy != PolicyDailyBudget {
					t.Errorf("%s: policy %s", id, d.Policy)
				}
				reasonSeen = reasonSeen || strings.Contains(d.Reason, tt.reason)
			}
			if !reasonSeen {
				t.Errorf("no reason contains %q: %+v", tt.reason, got)
			}
		})
	}
}

func TestDailyUsage(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	now := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC) // 10:00 JST; the day began 15:00 UTC yesterday
	cfg := Options{TimeZone: tokyo}
	active := []*arrops.Session{
		{ID: "a", Status: arrops.SessionReady, RequestedBy: "ann", ReadyAt: now.Add(-30 * time.Minute)},
		{ID: "b", Status: arrops.SessionStarting, RequestedBy: "ann"},
		{ID: "c", Status: arrops.SessionExpired, RequestedBy: "ann", ReadyAt: now.Add(-time.Hour)}, // not active: ignored here
	}
	finished := []*arrops.Session{
		{ID: "f", Status: arrops.SessionStopped, RequestedBy: "ann", ReadyAt: now.Add(-11 * time.Hour), StoppedAt: now.Add(-9 * time.Hour)},
		{ID: "g", Status: arrops.SessionStopped, RequestedBy: "", ReadyAt: now.Add(-time.Hour), StoppedAt: now.Add(-45 * time.Minute)},
		{ID: "h", Status: arrops.SessionStopped, RequestedBy: "cid", ReadyAt: now.Add(-time.Hour), StoppedAt: now.Add(time.Hour)}, // clock skew: clipped to now
	}
	u := DailyUsage(now, cfg, active, finished)
	want := map[string]Usage{"ann": {Minutes: 30 + 60, Billing: 1}, "": {Minutes: 15}, "cid": {Minutes: 60}}
	if len(u) != len(want) {
		t.Fatalf("got %+v, want %+v", u, want)
	}
	for k, w := range want {
		if g := u[k]; math.Abs(g.Minutes-w.Minutes) > 1e-9 || g.Billing != w.Billing {
			t.Errorf("%q: got %+v, want %+v", k, g, w)
		}
	}
}

func TestNextStop(t *testing.T) {
	cfg := Options{TimeZone: time.UTC, MaxReadyMinutes: 120, Quiet: window(t, "19:00-07:00"), BudgetSet: true, DailyBudget: 600}
	s := ready("a", t0, 30)
	tests := []struct {
		name   string
		s      *arrops.Session
		u      Usage
		at     time.Time
		policy string
		ok     bool
	}{
		{"max age first", s, Usage{Minutes: 30, Billing: 1}, t0.Add(90 * time.Minute), PolicyMaxReady, true},
		{"budget burns faster with more sessions", s, Usage{Minutes: 500, Billing: 4}, t0.Add(25 * time.Minute), PolicyDailyBudget, true},
		{"budget spent: due now", s, Usage{Minutes: 600, Billing: 1}, t0, PolicyDailyBudget, true},
		{"quiet hours for a Starting session", &arrops.Session{ID: "b", Status: arrops.SessionStarting}, Usage{}, time.Date(2026, 11, 24, 19, 0, 0, 0, time.UTC), PolicyQuietHours, true},
		{"extension postpones max age past tonight's quiet hours", func() *arrops.Session {
			x := ready("c", t0, 30)
			x.ExtendedUntil = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
			return x
		}(), Usage{}, time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC), PolicyMaxReady, true},
		{"terminal", &arrops.Session{ID: "d", Status: arrops.SessionStopped}, Usage{}, time.Time{}, "", false},
		{"nil", nil, Usage{}, time.Time{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, p, ok := NextStop(t0, cfg, tt.s, tt.u)
			if !at.Equal(tt.at) || p != tt.policy || ok != tt.ok {
				t.Fatalf("got %v %s %v, want %v %s %v", at, p, ok, tt.at, tt.policy, tt.ok)
			}
		})
	}
	quietOnly := Options{Quiet: cfg.Quiet}
	x := ready("c", t0, 30)
	x.ExtendedUntil = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	if at, p, _ := NextStop(t0, quietOnly, x, Usage{}); p != PolicyQuietHours || !at.Equal(time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)) {
		t.Fatalf("quiet hours after an extension: %v %s, want the next evening", at, p)
	}
	if _, _, ok := NextStop(t0, Options{}, s, Usage{}); ok {
		t.Fatal("a stop with no policy configured")
	}
}
