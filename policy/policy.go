package policy

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/arrops/arrops"
)

// Action is what the caller should do with a session.
type Action int

// Actions.
const (
	None Action = iota // leave it running
	Warn               // announce the coming stop (Decision.StopAt)
	Stop               // stop it now (or record "would stop" in dry run)
)

func (a Action) String() string {
	switch a {
	case None:
		return "none"
	case Warn:
		return "warn"
	case Stop:
		return "stop"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Policy names, as recorded in stopReason and event reasons.
const (
	PolicyAbsoluteMax  = "absoluteMax"
	PolicyMaxReady     = "maxReadyMinutes"
	PolicyDailyBudget  = "dailyBudget"
	PolicyQuietWeekend = "quietWeekend"
	PolicyQuietHours   = "quietHours"
)

// warnSlack widens the "already warned" window; see the package doc.
const warnSlack = time.Minute

// Decision is the verdict for one active session.
type Decision struct {
	SessionID string
	Action    Action
	// Policy names the policy that stops (Stop) or will stop (Warn; for None
	// the next scheduled stop, if any) the session.
	Policy string
	// Reason is human readable, with the values that triggered the policy.
	// Empty for None.
	Reason string
	// StopAt is when the policy stops the session: now for Stop, the coming
	// stop for Warn (and None, when a stop is scheduled); zero if none is.
	StopAt time.Time
	DryRun bool
}

// Usage is one requester's consumption on the budget day.
type Usage struct {
	Minutes float64 // billed minutes today: finished and running, clipped to the day
	Billing int     // active sessions of the requester that bill now (Ready)
}

// Evaluate decides for each active (Starting or Ready) session in active
// whether to stop it, warn about a coming stop, or do nothing. Terminal and
// nil entries are ignored; a session id listed twice is decided once (first
// occurrence). finishedToday feeds the daily budget and may hold more than
// today (it is clipped) and sessions that are also in active (those count as
// running). The result is ordered by session id.
func Evaluate(now time.Time, cfg Options, active []*arrops.Session, finishedToday []*arrops.Session) []Decision {
	ss := make([]*arrops.Session, 0, len(active))
	for _, s := range active {
		if s != nil && !s.Status.Terminal() {
			ss = append(ss, s)
		}
	}
	slices.SortStableFunc(ss, func(a, b *arrops.Session) int { return cmp.Compare(a.ID, b.ID) })
	ss = slices.CompactFunc(ss, func(a, b *arrops.Session) bool { return a.ID == b.ID })

	var usage map[string]Usage
	if cfg.BudgetSet {
		usage = dailyUsage(now, loc(cfg), ss, finishedToday)
	}
	e := newEngine(now, cfg)
	out := make([]Decision, len(ss))
	for i, s := range ss {
		out[i] = e.decide(s, usage[s.RequestedBy])
	}
	return out
}

// DailyUsage returns each requester's usage on the budget day containing now
// (the calendar day in cfg.TimeZone), keyed by Session.RequestedBy ("" for
// sessions without a requester). Sessions in both lists count as running.
func DailyUsage(now time.Time, cfg Options, active, finishedToday []*arrops.Session) map[string]Usage {
	ss := make([]*arrops.Session, 0, len(active))
	for _, s := range active {
		if s != nil && !s.Status.Terminal() {
			ss = append(ss, s)
		}
	}
	slices.SortStableFunc(ss, func(a, b *arrops.Session) int { return cmp.Compare(a.ID, b.ID) })
	ss = slices.CompactFunc(ss, func(a, b *arrops.Session) bool { return a.ID == b.ID })
	return dailyUsage(now, loc(cfg), ss, finishedToday)
}

// NextStop returns the stop session s faces under cfg, given its requester's
// usage u (see DailyUsage): the policy due now (at <= now), or else the
// earliest scheduled one. ok is false when no policy will stop s.
func NextStop(now time.Time, cfg Options, s *arrops.Session, u Usage) (at time.Time, policy string, ok bool) {
	if s == nil || s.Status.Terminal() {
		return time.Time{}, "", false
	}
	e := newEngine(now, cfg)
	due, next := e.check(s, u)
	if due.ok {
		return due.at, due.policy, true
	}
	return next.at, next.policy, next.ok
}

func loc(cfg Options) *time.Location {
	if cfg.TimeZone == nil {
		return time.UTC
	}
	return cfg.TimeZone
}

// dailyUsage sums usage per requester; ss is sorted by id and deduplicated.
func dailyUsage(now time.Time, loc *time.Location, ss []*arrops.Session, finished []*arrops.Session) map[string]Usage {
	dayStart := localMidnight(now, loc, 0)
	usage := make(map[string]Usage)
	for _, s := range ss {
		u := usage[s.RequestedBy]
		u.Minutes += clipped(s.PolicyStart(), now, dayStart, now)
		if !s.ReadyAt.IsZero() {
			u.Billing++
		}
		usage[s.RequestedBy] = u
	}
	for _, s := range finished {
		if s == nil || s.ReadyAt.IsZero() {
			continue
		}
		if _, running := slices.BinarySearchFunc(ss, s.ID, func(a *arrops.Session, id string) int { return cmp.Compare(a.ID, id) }); running {
			continue
		}
		end := s.StoppedAt
		if end.IsZero() {
			// Finished without a recorded stop time: the last write is the
			// best bound we have; counting to now would grow forever.
			end = s.UpdatedAt
		}
		if end.IsZero() {
			continue
		}
		u := usage[s.RequestedBy]
		u.Minutes += clipped(s.PolicyStart(), end, dayStart, now)
		usage[s.RequestedBy] = u
	}
	return usage
}

// clipped returns the minutes of [from, to) that fall in [lo, hi).
func clipped(from, to, lo, hi time.Time) float64 {
	if from.IsZero() {
		return 0
	}
	if from.Before(lo) {
		from = lo
	}
	if to.After(hi) {
		to = hi
	}
	if !to.After(from) {
		return 0
	}
	return to.Sub(from).Minutes()
}

// localMidnight is the start of the calendar day in loc containing t, plus
// days days. time.Date normalises a midnight that a DST change skips.
func localMidnight(t time.Time, loc *time.Location, days int) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+days, 0, 0, 0, 0, loc)
}

type engine struct {
	now      time.Time
	cfg      Options
	loc      *time.Location
	quiet    quiet
	dayEnd   time.Time
	warn     time.Duration
	quietNow string // policy if now is quiet
	buf      []byte // reused by reason
}

func newEngine(now time.Time, cfg Options) *engine {
	l := loc(cfg)
	e := &engine{
		now:    now,
		cfg:    cfg,
		loc:    l,
		quiet:  quiet{hours: cfg.Quiet, weekends: cfg.QuietWeekends, loc: l},
		dayEnd: localMidnight(now, l, 1),
		warn:   time.Duration(max(cfg.WarningMinutes, 0)) * time.Minute,
	}
	e.quietNow, _ = e.quiet.at(now)
	return e
}

// hit is one policy's stop time for a session.
type hit struct {
	policy string
	at     time.Time
	ok     bool
}

// check returns the policy due now (by precedence) and the earliest future
// stop.
func (e *engine) check(s *arrops.Session, u Usage) (due, next hit) {
	consider := func(h hit) {
		if !h.ok {
			return
		}
		if !h.at.After(e.now) {
			if !due.ok { // precedence: the first due policy wins
				due = h
			}
			return
		}
		if !next.ok || h.at.Before(next.at) {
			next = h
		}
	}
	if s.PoolFree() {
		// Waiting in the warm pool: the pool window rules it. A claim starts
		// every policy's clock (PolicyStart).
		return due, next
	}
	start := s.PolicyStart()
	ready := !s.ReadyAt.IsZero()
	if ready && e.cfg.AbsoluteMaxMinute > 0 {
		consider(hit{PolicyAbsoluteMax, start.Add(time.Duration(e.cfg.AbsoluteMaxMinute) * time.Minute), true})
	}
	if s.KeepAlive() {
		return due, next
	}
	if ready && e.cfg.MaxReadyMinutes > 0 {
		at := start.Add(time.Duration(e.cfg.MaxReadyMinutes) * time.Minute)
		if s.ExtendedUntil.After(at) {
			at = s.ExtendedUntil
		}
		consider(hit{PolicyMaxReady, at, true})
	}
	if e.cfg.BudgetSet {
		left := float64(e.cfg.DailyBudget) - u.Minutes
		switch {
		case left <= 0:
			consider(hit{PolicyDailyBudget, e.now, true})
		case u.Billing > 0:
			// At the current burn rate; past midnight the budget renews.
			at := e.now.Add(time.Duration(left / float64(u.Billing) * float64(time.Minute)))
			if at.Before(e.dayEnd) {
				consider(hit{PolicyDailyBudget, at, true})
			}
		}
	}
	if e.quiet.enabled() {
		if e.quietNow != "" && !s.ExtendedUntil.After(e.now) {
			consider(hit{e.quietNow, e.now, true})
		} else if !due.ok {
			// Only the next stop is wanted here: skip the search when
			// something already stops the session.
			from := e.now
			if s.ExtendedUntil.After(from) {
				from = s.ExtendedUntil
			}
			if at, p, ok := e.quiet.next(from); ok {
				consider(hit{p, at, true})
			}
		}
	}
	return due, next
}

func (e *engine) decide(s *arrops.Session, u Usage) Decision {
	d := Decision{SessionID: s.ID, DryRun: e.cfg.DryRun}
	due, next := e.check(s, u)
	switch {
	case due.ok:
		d.Action, d.Policy, d.StopAt = Stop, due.policy, e.now
		d.Reason = e.reason(s, u, due, true)
	case next.ok:
		d.Policy, d.StopAt = next.policy, next.at
		if e.warn > 0 && next.at.Sub(e.now) <= e.warn && !warnedFor(s.WarnedAt, next.at, e.warn) {
			d.Action = Warn
			d.Reason = e.reason(s, u, next, false)
		}
	}
	return d
}

// warnedFor reports whether a warning sent at warnedAt covers a stop at
// stopAt.
func warnedFor(warnedAt, stopAt time.Time, warn time.Duration) bool {
	return !warnedAt.IsZero() && warnedAt.Before(stopAt) && !warnedAt.Before(stopAt.Add(-warn-warnSlack))
}

// reason formats why h stops s. It appends to a buffer the engine reuses,
// so a reason costs one allocation: its string.
func (e *engine) reason(s *arrops.Session, u Usage, h hit, stop bool) string {
	b := e.buf[:0]
	if !stop {
		b = append(b, "stops at "...)
		b = h.at.UTC().AppendFormat(b, time.RFC3339)
		b = append(b, " (in "...)
		b = strconv.AppendInt(b, int64(minutes(h.at.Sub(e.now)+time.Minute-1)), 10)
		b = append(b, " min): "...)
	}
	switch h.policy {
	case PolicyAbsoluteMax:
		b = append(b, "ready for "...)
		b = strconv.AppendInt(b, int64(minutes(e.now.Sub(s.PolicyStart()))), 10)
		b = append(b, " min, SHUTDOWN_ABSOLUTE_MAX_MINUTES="...)
		b = strconv.AppendInt(b, int64(e.cfg.AbsoluteMaxMinute), 10)
		b = append(b, " (applies to keepAlive sessions too)"...)
	case PolicyMaxReady:
		b = append(b, "ready for "...)
		b = strconv.AppendInt(b, int64(minutes(e.now.Sub(s.PolicyStart()))), 10)
		b = append(b, " min, SHUTDOWN_MAX_READY_MINUTES="...)
		b = strconv.AppendInt(b, int64(e.cfg.MaxReadyMinutes), 10)
		if !s.ExtendedUntil.IsZero() {
			b = append(b, ", extended until "...)
			b = s.ExtendedUntil.UTC().AppendFormat(b, time.RFC3339)
		}
	case PolicyDailyBudget:
		if s.RequestedBy == "" {
			b = append(b, "sessions without a requester (adopted)"...)
		} else {
			b = append(b, "requester "...)
			b = strconv.AppendQuote(b, s.RequestedBy)
		}
		b = append(b, " used "...)
		b = strconv.AppendInt(b, int64(math.Floor(u.Minutes)), 10)
		b = append(b, " of "...)
		b = strconv.AppendInt(b, int64(e.cfg.DailyBudget), 10)
		b = append(b, " min on "...)
		b = e.now.In(e.loc).AppendFormat(b, "2006-01-02")
		b = append(b, " ("...)
		b = append(b, e.loc.String()...)
		b = append(b, "), SHUTDOWN_DAILY_BUDGET_MINUTES="...)
		b = strconv.AppendInt(b, int64(e.cfg.DailyBudget), 10)
		b = append(b, ", "...)
		b = strconv.AppendInt(b, int64(u.Billing), 10)
		b = append(b, " billing"...)
	case PolicyQuietWeekend:
		b = h.at.In(e.loc).AppendFormat(b, "Mon 2006-01-02 15:04")
		b = append(b, " is a weekend in "...)
		b = append(b, e.loc.String()...)
		b = append(b, ", SHUTDOWN_QUIET_WEEKENDS=true"...)
	case PolicyQuietHours:
		b = h.at.In(e.loc).AppendFormat(b, "Mon 2006-01-02 15:04 MST")
		b = append(b, " in "...)
		b = append(b, e.loc.String()...)
		b = append(b, " is within SHUTDOWN_QUIET_HOURS="...)
		b = appendClock(b, e.cfg.Quiet.Start)
		b = append(b, '-')
		b = appendClock(b, e.cfg.Quiet.End)
	}
	e.buf = b
	return string(b)
}

func appendClock(b []byte, c ClockTime) []byte {
	h, m := int(c)/60, int(c)%60
	return append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10))
}

// minutes truncates to whole minutes, as people read elapsed time.
func minutes(d time.Duration) int { return int(d / time.Minute) }
