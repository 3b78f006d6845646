package policy

import (
	"time"
)

// quiet answers "is this instant quiet?" and "when is the next quiet
// instant?" on the wall clock of a zone.
type quiet struct {
	hours    QuietHours
	weekends bool
	loc      *time.Location
}

func (q quiet) enabled() bool { return q.hours.Set || q.weekends }

// at reports whether t is quiet and under which policy (weekend first: it is
// the wider rule).
func (q quiet) at(t time.Time) (string, bool) {
	if !q.enabled() {
		return "", false
	}
	l := t.In(q.loc)
	if q.weekends {
		if wd := l.Weekday(); wd == time.Saturday || wd == time.Sunday {
			return PolicyQuietWeekend, true
		}
	}
	if q.hours.Contains(l) {
		return PolicyQuietHours, true
	}
	return "", false
}

// maxQuietSteps bounds the search in next. Each step ends at a window start,
// a local midnight or a zone transition, so a week holds well under 64 steps.
const maxQuietSteps = 64

// next returns the first instant at or after from that is quiet. Between two
// zone transitions wall time and instants advance together, so the distance
// to the next wall-clock boundary is exact up to the end of the current zone
// period (t.ZoneBounds); stepping boundary by boundary keeps the search exact
// across DST changes without scanning minute by minute.
func (q quiet) next(from time.Time) (time.Time, string, bool) {
	if !q.enabled() {
		return time.Time{}, "", false
	}
	t := from
	for range maxQuietSteps {
		if p, ok := q.at(t); ok {
			return t, p, true
		}
		l := t.In(q.loc)
		sinceMidnight := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute +
			time.Duration(l.Second())*time.Second + time.Duration(l.Nanosecond())
		step := 24*time.Hour - sinceMidnight // the next local midnight: weekends start there
		if q.hours.Set {
			d := time.Duration(q.hours.Start)*time.Minute - sinceMidnight
			if d <= 0 {
				d += 24 * time.Hour
			}
			step = min(step, d)
		}
		if _, end := l.ZoneBounds(); !end.IsZero() && end.After(t) && end.Sub(t) < step {
			step = end.Sub(t)
		}
		t = t.Add(step)
	}
	return time.Time{}, "", false
}
