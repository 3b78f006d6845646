package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/arrops/arrops"
)

// Options are the shutdown policies (the app's SHUTDOWN_* settings). The
// zero value stops nothing.
type Options struct {
	MaxReadyMinutes   int // 0: off
	Quiet             QuietHours
	QuietWeekends     bool
	TimeZone          *time.Location
	DailyBudget       int // minutes; 0 with BudgetSet false: off
	BudgetSet         bool
	AbsoluteMaxMinute int // 0: off
	WarningMinutes    int
	DryRun            bool
}

// ClockTime is a time of day in minutes after midnight.
type ClockTime int

func (c ClockTime) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// QuietHours is a daily window [Start, End) in a time zone; Start > End means
// it crosses midnight. Zero value with Set false means no window.
type QuietHours struct {
	Set        bool
	Start, End ClockTime
}

// ParseQuietHours parses "HH:MM-HH:MM" (24-hour clock). Equal ends are rejected.
func ParseQuietHours(s string) (QuietHours, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return QuietHours{}, fmt.Errorf("%q is not HH:MM-HH:MM", s)
	}
	start, err := parseClock(a)
	if err != nil {
		return QuietHours{}, err
	}
	end, err := parseClock(b)
	if err != nil {
		return QuietHours{}, err
	}
	if start == end {
		return QuietHours{}, fmt.Errorf("%q is an empty window", s)
	}
	return QuietHours{Set: true, Start: start, End: end}, nil
}

func parseClock(s string) (ClockTime, error) {
	m, err := arrops.ParseTimeOfDay(s)
	return ClockTime(m), err
}

// Contains reports whether t (already in the window's zone) lies in the
// window [Start, End), handling windows that cross midnight.
func (q QuietHours) Contains(t time.Time) bool {
	if !q.Set {
		return false
	}
	m := ClockTime(t.Hour()*60 + t.Minute())
	if q.Start < q.End {
		return m >= q.Start && m < q.End
	}
	return m >= q.Start || m < q.End
}
