package report

import (
	"time"

	"github.com/arrops/arrops"
)

// Rates are the hourly prices per session size (config ARR_RATE_*).
type Rates struct {
	Standard, Premium float64
	Set               bool   // false: report minutes only
	Currency          string // label, e.g. USD
}

// PerHour returns the hourly rate of size and whether one is known.
func (r Rates) PerHour(size arrops.SessionSize) (float64, bool) {
	if !r.Set {
		return 0, false
	}
	switch size {
	case arrops.SizeStandard:
		return r.Standard, true
	case arrops.SizePremium:
		return r.Premium, true
	}
	return 0, false
}

// Notes attached to billing results.
const (
	NoteNeverReady   = "never Ready: not billed"
	NoteReadyMissing = "ready time missing: not billed"
	NoteStopMissing  = "stop time missing: billed until last update"
	NoteNoEnd        = "stop and update times missing: not billed"
	NoteUnknownSize  = "unknown size: no rate"
	NoRates          = "no rates configured"
)

// Billing is the billable part of one session inside a report window.
type Billing struct {
	Minutes float64 // inside the window
	Start   time.Time
	End     time.Time // clipped interval; both zero when nothing is billed
	// Running: the session was still active at now, so the figure grows.
	Running bool
	Note    string
}

// Bill computes the minutes of s inside [start, end) as of now. Billing runs
// from ReadyAt to StoppedAt for Stopped, Expired and Error sessions (an Error
// session bills only if it was ever Ready) and to now for active ones.
func Bill(s *arrops.Session, start, end, now time.Time) Billing {
	var b Billing
	b.Running = !s.Status.Terminal()
	if s.ReadyAt.IsZero() {
		// A Ready status (or ARR-reported elapsed minutes) without a ready
		// time is a gap in the record, not a session that never ran: say so.
		if s.Status == arrops.SessionReady || s.ElapsedMinutes > 0 {
			b.Note = NoteReadyMissing
		} else {
			b.Note = NoteNeverReady
		}
		return b
	}
	stop := now
	if s.Status.Terminal() {
		switch {
		case !s.StoppedAt.IsZero():
			stop = s.StoppedAt
		case !s.UpdatedAt.IsZero():
			stop, b.Note = s.UpdatedAt, NoteStopMissing
		default:
			b.Note = NoteNoEnd
			return b
		}
	}
	if stop.After(now) { // clock skew between watcher and reporter
		stop = now
	}
	from, to := s.ReadyAt, stop
	if from.Before(start) {
		from = start
	}
	if to.After(end) {
		to = end
	}
	if !to.After(from) {
		return b
	}
	b.Start, b.End = from.UTC(), to.UTC()
	b.Minutes = to.Sub(from).Minutes()
	return b
}

// Overlaps reports whether s belongs in a report over [start, end): it
// billed time there, or it was created there (sessions never Ready are
// listed on their creation day).
func (b Billing) Overlaps(s *arrops.Session, start, end time.Time) bool {
	if b.Minutes > 0 {
		return true
	}
	return !s.CreatedAt.Before(start) && s.CreatedAt.Before(end)
}

// splitDays calls fn for every UTC day the interval [from, to) touches with
// the day's start and the minutes in that day.
func splitDays(from, to time.Time, fn func(day time.Time, minutes float64)) {
	for from.Before(to) {
		day := from.Truncate(24 * time.Hour)
		next := day.Add(24 * time.Hour)
		if next.After(to) {
			next = to
		}
		fn(day, next.Sub(from).Minutes())
		from = next
	}
}
