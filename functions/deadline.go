package functions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/policy"
	"github.com/arrops/arrops/schedule"
)

// DeadlineRecords is what arming deadlines reads and writes: the session
// records, and for the daily budget the requester's other sessions.
type DeadlineRecords interface {
	SessionRecords
	ActiveSessions(ctx context.Context, now time.Time) ([]*arrops.Session, error)
	FinishedSessionsSince(ctx context.Context, since, now time.Time) ([]*arrops.Session, error)
}

// Deadlines schedules each active session's next policy instant (its stop
// warning, its max-age stop, the start of quiet hours, its budget's projected
// exhaustion, the absolute cap) as a delayed message, so the policy acts on
// that instant rather than at the next shutdown sweep. The instant is first
// recorded on the session (Session.DeadlineAt, ETag-conditional): a writer
// that finds it already recorded sends nothing, so racing sweeps, commands
// and deliveries arm each instant once. A nil *Deadlines is off.
//
// The shutdown sweep stays the safety net: it evaluates every session
// anyway, so a lost deadline message delays a stop by at most one sweep.
type Deadlines struct {
	Policy  policy.Options
	Records *Lazy[DeadlineRecords]
	Due     *Lazy[schedule.Scheduler]
}

// BudgetDayStart is where the daily budget's finished sessions are read from:
// the calendar day in the policy's zone, and a little more (a session that
// ended today may have started yesterday).
func BudgetDayStart(now time.Time, cfg policy.Options) time.Time {
	loc := cfg.TimeZone
	if loc == nil {
		loc = time.UTC
	}
	l := now.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc).Add(-26 * time.Hour)
}

// Arm arms the next instant of each of ss (records as read, updated in
// place). With the daily budget set it reads the requesters' usage first.
func (d *Deadlines) Arm(ctx context.Context, ss []*arrops.Session, now time.Time) (armed int, err error) {
	if d == nil || len(ss) == 0 {
		return 0, nil
	}
	recs, err := d.Records.Get(ctx)
	if err != nil {
		return 0, fmt.Errorf("open records: %w", err)
	}
	var usage map[string]policy.Usage
	if d.Policy.BudgetSet {
		active, err := recs.ActiveSessions(ctx, now)
		if err != nil {
			return 0, fmt.Errorf("read active sessions: %w", err)
		}
		finished, err := recs.FinishedSessionsSince(ctx, BudgetDayStart(now, d.Policy), now)
		if err != nil {
			return 0, fmt.Errorf("read finished sessions: %w", err)
		}
		usage = policy.DailyUsage(now, d.Policy, active, finished)
	}
	return d.ArmWithUsage(ctx, ss, usage, now)
}

// ArmWithUsage is Arm with the usage already at hand (the shutdown sweep).
func (d *Deadlines) ArmWithUsage(ctx context.Context, ss []*arrops.Session, usage map[string]policy.Usage, now time.Time) (armed int, err error) {
	if d == nil || len(ss) == 0 {
		return 0, nil
	}
	recs, err := d.Records.Get(ctx)
	if err != nil {
		return 0, fmt.Errorf("open records: %w", err)
	}
	var errs []error
	for _, s := range ss {
		ok, err := d.arm(ctx, recs, s, usage[s.RequestedBy], now)
		if ok {
			armed++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return armed, errors.Join(errs...)
}

// arm records and schedules s's next instant unless it is armed already.
// A due instant is armed once (to act within seconds when the caller does
// not act itself), never again while it stays due: a dry run that records
// "would stop" leaves its stop due, and re-arming it would loop.
func (d *Deadlines) arm(ctx context.Context, recs SessionRecords, s *arrops.Session, u policy.Usage, now time.Time) (bool, error) {
	var at time.Time
	_, err := ModifySession(ctx, recs, s.ID, s, func(s *arrops.Session) (bool, error) {
		at = time.Time{}
		if s.Status.Terminal() {
			return false, nil
		}
		next, ok := policy.NextInstant(now, d.Policy, s, u)
		if !ok || next.Equal(s.DeadlineAt) || (!next.After(now) && !s.DeadlineAt.IsZero() && !s.DeadlineAt.After(now)) {
			return false, nil
		}
		s.DeadlineAt, at = next, next
		return true, nil
	})
	if err != nil {
		return false, fmt.Errorf("record deadline: %w", err)
	}
	if at.IsZero() {
		return false, nil
	}
	due, err := d.Due.Get(ctx)
	if err != nil {
		return false, fmt.Errorf("open due queue: %w", err)
	}
	if err := due.Schedule(ctx, arrops.DueMessage{Kind: arrops.DueDeadline, SessionID: s.ID}, at); err != nil {
		// Recorded, not sent: the shutdown sweep acts in its place.
		return false, fmt.Errorf("schedule deadline of %s: %w", s.ID, err)
	}
	return true, nil
}
