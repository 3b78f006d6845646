package devhost

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is a parsed timerTrigger schedule.
type Schedule struct {
	cron.Schedule
	Expr string
}

// ncrontab is the six-field NCRONTAB grammar of Azure Functions: second minute
// hour day month day-of-week. Unlike robfig's default it has no optional seconds
// and no @descriptors, so a five-field Unix cron line is refused rather than
// silently read as something else.
var ncrontab = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// ParseSchedule parses a six-field NCRONTAB expression, or a TimeSpan ("00:05:00",
// an interval the host accepts on dedicated plans).
func ParseSchedule(expr string) (Schedule, error) {
	expr = strings.TrimSpace(expr)
	if strings.Count(expr, ":") == 2 && !strings.ContainsAny(expr, " *") {
		d, err := ParseTimeSpan(expr)
		if err != nil {
			return Schedule{}, fmt.Errorf("schedule %q: %w", expr, err)
		}
		if d <= 0 {
			return Schedule{}, fmt.Errorf("schedule %q: interval must be positive", expr)
		}
		return Schedule{Schedule: cron.ConstantDelaySchedule{Delay: d}, Expr: expr}, nil
	}
	// robfig accepts a TZ= prefix (and loads zone files for it); NCRONTAB has none:
	// the host's zone comes from WEBSITE_TIME_ZONE.
	if strings.Contains(expr, "TZ=") {
		return Schedule{}, fmt.Errorf("schedule %q: NCRONTAB takes no TZ= prefix (set WEBSITE_TIME_ZONE)", expr)
	}
	if n := len(strings.Fields(expr)); n != 6 {
		return Schedule{}, fmt.Errorf("schedule %q: NCRONTAB needs six fields (second minute hour day month day-of-week), got %d", expr, n)
	}
	s, err := ncrontab.Parse(expr)
	if err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: %w", expr, err)
	}
	return Schedule{Schedule: s, Expr: expr}, nil
}

// SubMinute reports whether the schedule can fire more than once a minute; the
// host then keeps no schedule status (useMonitor defaults to false) and sends
// "ScheduleStatus": null.
func (s Schedule) SubMinute() bool {
	t := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	prev := s.Next(t)
	for range 8 {
		next := s.Next(prev)
		if next.Sub(prev) < time.Minute {
			return true
		}
		prev = next
	}
	return false
}
