package policy

import (
	"testing"
	"time"

	"github.com/arrops/arrops"
)

// sweep plays the caller on a fake clock: every step it evaluates, records a
// warning as the shutdown function does (WarnedAt = now) and stops on Stop.
// It returns the times of the warnings and of the stop.
func sweep(t *testing.T, cfg Options, s *arrops.Session, from time.Time, step time.Duration, steps int, at func(now time.Time, s *arrops.Session)) (warned []time.Time, stopped time.Time) {
	t.Helper()
	for i := range steps {
		now := from.Add(time.Duration(i) * step)
		if at != nil {
			at(now, s)
		}
		d := only(t, Evaluate(now, cfg, []*arrops.Session{s}, nil))
		switch d.Action {
		case Warn:
			if d.StopAt.Sub(now) > time.Duration(cfg.WarningMinutes)*time.Minute || !d.StopAt.After(now) {
				t.Fatalf("%v: warning for %v is outside the warning window", now, d.StopAt)
			}
			warned = append(warned, now)
			s.WarnedAt = now
		case Stop:
			return warned, now
		}
	}
	return warned, time.Time{}
}

func TestWarnings(t *testing.T) {
	base := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	maxAge := Options{TimeZone: time.UTC, MaxReadyMinutes: 60, WarningMinutes: 10}
	tests := []struct {
		name        string
		cfg         Options
		step        time.Duration
		at          func(now time.Time, s *arrops.Session)
		wantWarned  []time.Duration // after base
		wantStopped time.Duration
	}{
		{"sent once, not repeated for the same StopAt", maxAge, 5 * time.Minute, nil, []time.Duration{50 * time.Minute}, 60 * time.Minute},
		{"every minute: still once", maxAge, time.Minute, nil, []time.Duration{50 * time.Minute}, 60 * time.Minute},
		{"coarse sweeps: warned at the first sweep in the window", maxAge, 7 * time.Minute, nil, []time.Duration{56 * time.Minute}, 63 * time.Minute},
		{"no warnings when WarningMinutes is 0", Options{TimeZone: time.UTC, MaxReadyMinutes: 60}, 5 * time.Minute, nil, nil, 60 * time.Minute},
		{
			name: "re-sent when an extend moves StopAt (WarnedAt kept)", cfg: maxAge, step: 5 * time.Minute,
			at: func(now time.Time, s *arrops.Session) {
				if now.Equal(base.Add(55 * time.Minute)) {
					s.ExtendedUntil = base.Add(90 * time.Minute)
				}
			},
			wantWarned: []time.Duration{50 * time.Minute, 80 * time.Minute}, wantStopped: 90 * time.Minute,
		},
		{
			name: "re-sent when an extend moves StopAt (WarnedAt cleared, as the extend command does)", cfg: maxAge, step: 5 * time.Minute,
			at: func(now time.Time, s *arrops.Session) {
				if now.Equal(base.Add(55 * time.Minute)) {
					s.ExtendedUntil, s.WarnedAt = base.Add(90*time.Minute), time.Time{}
				}
			},
			wantWarned: []time.Duration{50 * time.Minute, 80 * time.Minute}, wantStopped: 90 * time.Minute,
		},
		{
			name: "extend within the warning window warns again at once", cfg: maxAge, step: 5 * time.Minute,
			at: func(now time.Time, s *arrops.Session) {
				if now.Equal(base.Add(55 * time.Minute)) {
					s.ExtendedUntil = base.Add(64 * time.Minute)
				}
			},
			wantWarned: []time.Duration{50 * time.Minute, 55 * time.Minute}, wantStopped: 65 * time.Minute,
		},
		{
			name: "quiet hours warn before the window", cfg: Options{TimeZone: zone(t, "Asia/Tokyo"), Quiet: window(t, "18:00-06:00"), WarningMinutes: 15},
			step: 5 * time.Minute, wantWarned: []time.Duration{45 * time.Minute}, wantStopped: time.Hour, // 18:00 JST is 09:00 UTC
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &arrops.Session{ID: "s", Status: arrops.SessionReady, RequestedBy: "ann", ReadyAt: base}
			warned, stopped := sweep(t, tt.cfg, s, base, tt.step, 100, tt.at)
			if len(warned) != len(tt.wantWarned) {
				t.Fatalf("warned at %v, want after %v", warned, tt.wantWarned)
			}
			for i, w := range tt.wantWarned {
				if !warned[i].Equal(base.Add(w)) {
					t.Fatalf("warning %d at %v, want %v", i, warned[i], base.Add(w))
				}
			}
			if !stopped.Equal(base.Add(tt.wantStopped)) {
				t.Fatalf("stopped at %v, want %v", stopped, base.Add(tt.wantStopped))
			}
		})
	}
}

// The budget's stop time is an estimate that drifts a little between sweeps;
// the warning must not be repeated for that drift.
func TestBudgetWarningOnce(t *testing.T) {
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	cfg := Options{TimeZone: time.UTC, BudgetSet: true, DailyBudget: 120, WarningMinutes: 10}
	a := &arrops.Session{ID: "a", Status: arrops.SessionReady, RequestedBy: "ann", ReadyAt: now.Add(-50*time.Minute - 7*time.Second)}
	b := &arrops.Session{ID: "b", Status: arrops.SessionReady, RequestedBy: "ann", ReadyAt: now.Add(-50*time.Minute + 3*time.Second)}
	var warnings, stops int
	for i := range 40 {
		at := now.Add(time.Duration(i) * 61 * time.Second)
		for _, d := range Evaluate(at, cfg, []*arrops.Session{a, b}, nil) {
			switch d.Action {
			case Warn:
				warnings++
				if d.SessionID == "a" {
					a.WarnedAt = at
				} else {
					b.WarnedAt = at
				}
			case Stop:
				stops++
			}
		}
		if stops > 0 {
			break
		}
	}
	if warnings != 2 || stops != 2 {
		t.Fatalf("%d warnings and %d stops, want one warning per session before both stop", warnings, stops)
	}
}

func TestWarnedFor(t *testing.T) {
	stopAt := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	w := 10 * time.Minute
	for _, tt := range []struct {
		warnedAt time.Time
		want     bool
	}{
		{time.Time{}, false},
		{stopAt.Add(-10 * time.Minute), true},
		{stopAt.Add(-11 * time.Minute), true}, // slack
		{stopAt.Add(-11*time.Minute - time.Second), false},
		{stopAt.Add(-time.Second), true},
		{stopAt, false},
	} {
		if got := warnedFor(tt.warnedAt, stopAt, w); got != tt.want {
			t.Errorf("warnedFor(%v) = %v, want %v", tt.warnedAt, got, tt.want)
		}
	}
}
