// Package pool holds the pure computations of the warm pool: when its window
// is open (POOL_HOURS on POOL_DAYS in POOL_TIME_ZONE, which may cross
// midnight and daylight-saving changes), whether it overlaps other daily
// windows (the quiet hours), and the deterministic ids of its sessions. It
// depends on the domain only, so config validates with it and the functions
// act on it without either knowing the other.
package pool

import (
	"fmt"
	"strings"
	"time"

	"github.com/arrops/arrops"
)

// Clock is a time of day in minutes after midnight (0..1439).
type Clock int

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// Days is a set of weekdays (bit i: time.Weekday(i)).
type Days uint8

// EveryDay is the default of POOL_DAYS.
const EveryDay Days = 1<<7 - 1

// Has reports whether d holds weekday w.
func (d Days) Has(w time.Weekday) bool { return d&(1<<uint(w)) != 0 }

var dayNames = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

func (d Days) String() string {
	if d == EveryDay {
		return "every day"
	}
	var parts []string
	for w := time.Monday; ; w = (w + 1) % 7 {
		if d.Has(w) {
			parts = append(parts, dayNames[w])
		}
		if w == time.Sunday {
			break
		}
	}
	return strings.Join(parts, ",")
}

// ParseDays parses "Mon-Fri", "Sat,Sun", "Fri-Mon" (ranges wrap over the
// week), "Mon-Wed,Fri"; day names in any casing, three letters or in full.
// An empty string is every day.
func ParseDays(s string) (Days, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return EveryDay, nil
	}
	var d Days
	for part := range strings.SplitSeq(s, ",") {
		a, b, isRange := strings.Cut(part, "-")
		from, err := parseDay(a)
		if err != nil {
			return 0, err
		}
		to := from
		if isRange {
			if to, err = parseDay(b); err != nil {
				return 0, err
			}
		}
		for w := from; ; w = (w + 1) % 7 {
			d |= 1 << uint(w)
			if w == to {
				break
			}
		}
	}
	return d, nil
}

func parseDay(s string) (time.Weekday, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for i, n := range dayNames {
		full := strings.ToLower(time.Weekday(i).String())
		if t == strings.ToLower(n) || t == full {
			return time.Weekday(i), nil
		}
	}
	return 0, fmt.Errorf("%q is not a day of the week (Mon, Tue, ... or Monday, ...)", strings.TrimSpace(s))
}

// ParseClock parses HH:MM on a 24-hour clock.
func ParseClock(s string) (Clock, error) {
	m, err := arrops.ParseTimeOfDay(s)
	return Clock(m), err
}

// Window is a daily window [Start, End) on the wall clock of Loc, opening on
// Days. Start > End crosses midnight: the window opens on a listed day and
// closes the next morning (Fri 22:00-06:00 with Days Mon-Fri runs into
// Saturday). Start == End is a whole day, from Start to Start the next day.
type Window struct {
	Start, End Clock
	Days       Days
	Loc        *time.Location
}

// ParseWindow parses hours "HH:MM-HH:MM" and days (see ParseDays) in loc.
func ParseWindow(hours, days string, loc *time.Location) (Window, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(hours), "-")
	if !ok {
		return Window{}, fmt.Errorf("%q is not HH:MM-HH:MM", hours)
	}
	w := Window{Loc: loc}
	var err error
	if w.Start, err = ParseClock(a); err != nil {
		return Window{}, err
	}
	if w.End, err = ParseClock(b); err != nil {
		return Window{}, err
	}
	if w.Days, err = ParseDays(days); err != nil {
		return Window{}, err
	}
	if w.Days == 0 {
		return Window{}, fmt.Errorf("%q names no day", days)
	}
	return w, nil
}

func (w Window) String() string {
	return fmt.Sprintf("%s-%s %s (%s)", w.Start, w.End, w.Days, w.Loc)
}

// Interval is one opening of a window: [Open, Close).
type Interval struct {
	Open, Close time.Time
	// Date is the local date the window opened on (YYYYMMDD): it names the
	// opening in pool session ids.
	Date string
}

// Contains reports whether t lies in [Open, Close).
func (i Interval) Contains(t time.Time) bool { return !t.Before(i.Open) && t.Before(i.Close) }

// on returns the opening on the local date y-m-d, whether or not d is one of
// w.Days. Wall-clock times that do not exist (the hour skipped when clocks go
// forward) resolve as time.Date does, to an instant next to the gap; a
// window never has negative length.
func (w Window) on(y int, m time.Month, d int) Interval {
	open := time.Date(y, m, d, int(w.Start)/60, int(w.Start)%60, 0, 0, w.Loc)
	cd := d
	if w.End <= w.Start {
		cd++
	}
	closeAt := time.Date(y, m, cd, int(w.End)/60, int(w.End)%60, 0, 0, w.Loc)
	if !closeAt.After(open) { // only around a zone change
		closeAt = open
	}
	return Interval{Open: open, Close: closeAt, Date: fmt.Sprintf("%04d%02d%02d", y, m, d)}
}

// Next returns the first opening that has not closed at t: the one t lies in,
// or else the next one to open. ok is false only for a window without days.
func (w Window) Next(t time.Time) (Interval, bool) {
	if w.Days == 0 || w.Loc == nil {
		return Interval{}, false
	}
	l := t.In(w.Loc)
	y, m, d := l.Date()
	// Start a day early: yesterday's opening may still be open after midnight.
	for i := -1; i <= 8; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, w.Loc)
		if !w.Days.Has(day.Weekday()) {
			continue
		}
		iv := w.on(day.Year(), day.Month(), day.Day())
		if iv.Close.After(t) && iv.Close.After(iv.Open) {
			return iv, true
		}
	}
	return Interval{}, false
}

// At returns the opening t lies in, if any.
func (w Window) At(t time.Time) (Interval, bool) {
	iv, ok := w.Next(t)
	if !ok || !iv.Contains(t) {
		return Interval{}, false
	}
	return iv, true
}

// Openings returns the openings that overlap [from, to), in order.
func (w Window) Openings(from, to time.Time) []Interval {
	var out []Interval
	for t := from; t.Before(to); {
		iv, ok := w.Next(t)
		if !ok || !iv.Open.Before(to) {
			break
		}
		out = append(out, iv)
		t = iv.Close
	}
	return out
}

// Overlap returns the first instant in [from, to) at which both a and b are
// open, if any. Both windows are walked opening by opening, so windows in
// different zones are compared on real instants, DST changes included.
func Overlap(a, b Window, from, to time.Time) (time.Time, bool) {
	as, bs := a.Openings(from, to), b.Openings(from, to)
	i, j := 0, 0
	for i < len(as) && j < len(bs) {
		x, y := as[i], bs[j]
		if x.Open.Before(y.Close) && y.Open.Before(x.Close) {
			at := x.Open
			if y.Open.After(at) {
				at = y.Open
			}
			if at.Before(from) {
				at = from
			}
			return at, true
		}
		if x.Close.Before(y.Close) {
			i++
		} else {
			j++
		}
	}
	return time.Time{}, false
}
