package policy

import (
	"testing"
	"time"

	"github.com/arrops/arrops"
)

func TestNextInstant(t *testing.T) {
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	maxAge := Options{MaxReadyMinutes: 60, WarningMinutes: 10, TimeZone: time.UTC}
	ready := func(ago time.Duration) *arrops.Session {
		return &arrops.Session{ID: "s", Status: arrops.SessionReady, ReadyAt: now.Add(-ago), RequestedBy: "r"}
	}
	tests := []struct {
		name   string
		cfg    Options
		s      *arrops.Session
		u      Usage
		want   time.Time
		wantOK bool
	}{
		{"no policy", Options{WarningMinutes: 10}, ready(time.Hour), Usage{}, time.Time{}, false},
		{"warning first", maxAge, ready(20 * time.Minute), Usage{}, now.Add(30 * time.Minute), true},
		{"warned: the stop", maxAge, func() *arrops.Session { s := ready(55 * time.Minute); s.WarnedAt = now.Add(-5 * time.Minute); return s }(), Usage{}, now.Add(5 * time.Minute), true},
		{"warning due now", maxAge, ready(55 * time.Minute), Usage{}, now, true},
		{"stop due now", maxAge, ready(61 * time.Minute), Usage{}, now, true},
		{"no warnings", Options{MaxReadyMinutes: 60, TimeZone: time.UTC}, ready(20 * time.Minute), Usage{}, now.Add(40 * time.Minute), true},
		{"rounded up to the second", Options{MaxReadyMinutes: 60, TimeZone: time.UTC}, ready(20*time.Minute + 300*time.Millisecond), Usage{}, now.Add(40 * time.Minute), true},
		{"extended", maxAge, func() *arrops.Session {
			s := ready(50 * time.Minute)
			s.ExtendedUntil = now.Add(2 * time.Hour)
			return s
		}(), Usage{}, now.Add(110 * time.Minute), true},
		{"keepAlive", maxAge, func() *arrops.Session {
			s := ready(50 * time.Minute)
			s.Tags = map[string]string{"keepAlive": "true"}
			return s
		}(), Usage{}, time.Time{}, false},
		{"budget projection", Options{DailyBudget: 100, BudgetSet: true, TimeZone: time.UTC}, ready(10 * time.Minute), Usage{Minutes: 40, Billing: 2}, now.Add(30 * time.Minute), true},
		{"quiet hours start", Options{Quiet: QuietHours{Set: true, Start: 19 * 60, End: 7 * 60}, TimeZone: time.UTC}, ready(time.Minute), Usage{}, time.Date(2026, 12, 4, 19, 0, 0, 0, time.UTC), true},
		{"absolute cap over keepAlive", Options{AbsoluteMaxMinute: 120, TimeZone: time.UTC}, func() *arrops.Session {
			s := ready(time.Hour)
			s.Tags = map[string]string{"keepAlive": "true"}
			return s
		}(), Usage{}, now.Add(time.Hour), true},
		{"ended", maxAge, &arrops.Session{ID: "s", Status: arrops.SessionStopped, ReadyAt: now.Add(-time.Hour)}, Usage{}, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NextInstant(now, tt.cfg, tt.s, tt.u)
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("NextInstant = %v %v, want %v %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
