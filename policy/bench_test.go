package policy

import (
	"cmp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

func benchSessions(now time.Time, n int) (active, finished []*arrops.Session) {
	for i := range n {
		s := &arrops.Session{ID: "session-" + strconv.Itoa((i*7919)%n), Status: arrops.SessionReady,
			RequestedBy: "app-" + strconv.Itoa(i%50), ReadyAt: now.Add(-time.Duration(i%200) * time.Minute)}
		switch i % 10 {
		case 0:
			s.Status, s.ReadyAt = arrops.SessionStarting, time.Time{}
		case 1:
			s.Tags = map[string]string{"keepAlive": "true"}
		case 2:
			s.ExtendedUntil = now.Add(time.Hour)
		}
		active = append(active, s)
		finished = append(finished, &arrops.Session{ID: "done-" + strconv.Itoa(i), Status: arrops.SessionStopped,
			RequestedBy: s.RequestedBy, ReadyAt: now.Add(-5 * time.Hour), StoppedAt: now.Add(-4 * time.Hour)})
	}
	return active, finished
}

// BenchmarkEvaluate measures a sweep over 1,000 active sessions. The
// sort-only baseline (clone and sort the pointers, which Evaluate must do
// for its ordering anyway) is the yardstick for the ratio.
func BenchmarkEvaluate(b *testing.B) {
	now := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	berlin := zone(b, "Europe/Berlin")
	active, finished := benchSessions(now, 1000)
	all := Options{TimeZone: berlin, MaxReadyMinutes: 240, Quiet: window(b, "19:00-07:00"), QuietWeekends: true,
		BudgetSet: true, DailyBudget: 100000, AbsoluteMaxMinute: 1440, WarningMinutes: 10}
	b.Run("baseline-sort-1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ss := slices.Clone(active)
			slices.SortStableFunc(ss, func(x, y *arrops.Session) int { return cmp.Compare(x.ID, y.ID) })
		}
	})
	b.Run("max-age-only-1000", func(b *testing.B) {
		cfg := Options{TimeZone: berlin, MaxReadyMinutes: 240}
		b.ReportAllocs()
		for b.Loop() {
			Evaluate(now, cfg, active, nil)
		}
	})
	b.Run("all-policies-1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Evaluate(now, all, active, finished)
		}
	})
	// In quiet hours 800 of the sessions stop, each with its reason string.
	b.Run("all-policies-quiet-stops-1000", func(b *testing.B) {
		night := time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC)
		active, finished := benchSessions(night, 1000)
		b.ReportAllocs()
		for b.Loop() {
			Evaluate(night, all, active, finished)
		}
	})
}
