package policy

import (
	"time"

	"github.com/arrops/arrops"
)

// NextInstant returns the next moment the policies have something to do
// for s, given its requester's usage u (see DailyUsage): its stop warning
// (WarningMinutes before the stop, unless already warned for that stop) or
// the stop itself. An instant that is due returns now. Future instants are
// rounded up to whole seconds, so a deadline is never early and a projection
// that moves by nanoseconds (the budget's, at a steady burn rate) does not
// re-arm. ok is false when no policy will stop s.
func NextInstant(now time.Time, cfg Options, s *arrops.Session, u Usage) (at time.Time, ok bool) {
	stopAt, _, ok := NextStop(now, cfg, s, u)
	if !ok {
		return time.Time{}, false
	}
	if !stopAt.After(now) {
		return now, true
	}
	at = stopAt
	if warn := time.Duration(max(cfg.WarningMinutes, 0)) * time.Minute; warn > 0 && !warnedFor(s.WarnedAt, stopAt, warn) {
		if w := stopAt.Add(-warn); w.After(now) {
			at = w
		} else {
			return now, true
		}
	}
	if r := at.Truncate(time.Second); !r.Equal(at) {
		at = r.Add(time.Second)
	}
	return at, true
}
