// Package shutdown is the `shutdown` function (timer, %SHUTDOWN_SCHEDULE%): it
// stops sessions that policy says must stop (maximum age after Ready, quiet
// hours, daily budget per requester, absolute cap) and warns requesters ahead
// of a policy stop so they can extend in time.
//
// One sweep makes at most one List call (all pages), adopts sessions that
// arrops did not start, evaluates the policies (package policy) and issues the
// stops concurrently with a bound. Each stop records the policy and the values
// that triggered it as stopReason; a session that someone else stopped first
// is not an error. In dry-run mode nothing is stopped: the record and an event
// say what would have been stopped and why.
package shutdown

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/policy"
	"github.com/arrops/arrops/trigger"
)

// Binding is the timer binding name in function.json.
const Binding = "timer"

// Records is the part of the store the function uses.
type Records interface {
	functions.SessionRecords
	ActiveSessions(ctx context.Context, now time.Time) ([]*arrops.Session, error)
	FinishedSessionsSince(ctx context.Context, since, now time.Time) ([]*arrops.Session, error)
}

// Deps are the function's collaborators.
type Deps struct {
	Config  *config.Config
	ARR     *functions.Lazy[*arr.Client]
	Records *functions.Lazy[Records]
	Bus     *functions.Lazy[functions.Publisher]
	Now     func() time.Time
	// Deadlines arms each session's next policy instant (nil: off).
	Deadlines *functions.Deadlines
}

// Stats describes one sweep.
type Stats struct {
	Listed, Adopted, Stopped, WouldStop, Warned, AlreadyStopped int
	ListCalls, StopCalls                                        int
	// Armed counts deadlines scheduled (new or moved instants).
	Armed int
}

// New returns the function.
func New(d Deps) functions.Func {
	return func(ctx context.Context, inv *trigger.Invocation, _ *trigger.Response, log *slog.Logger) error {
		st, err := Sweep(ctx, d, log)
		// A sweep that changed nothing is routine: debug (see watch).
		level := slog.LevelInfo
		if err == nil && st.Adopted == 0 && st.Stopped == 0 && st.WouldStop == 0 && st.Warned == 0 && st.AlreadyStopped == 0 && st.Armed == 0 {
			level = slog.LevelDebug
		}
		log.Log(ctx, level, "shutdown sweep", "listed", st.Listed, "adopted", st.Adopted, "stopped", st.Stopped,
			"wouldStop", st.WouldStop, "warned", st.Warned, "alreadyStopped", st.AlreadyStopped, "armed", st.Armed, "dryRun", d.Config.Shutdown.DryRun)
		return err
	}
}

// Sweep runs one shutdown pass.
func Sweep(ctx context.Context, d Deps, log *slog.Logger) (Stats, error) {
	var st Stats
	now := d.Now().UTC()
	cfg := d.Config.Shutdown
	recs, err := d.Records.Get(ctx)
	if err != nil {
		return st, fmt.Errorf("open records: %w", err)
	}
	bus, err := d.Bus.Get(ctx)
	if err != nil {
		return st, fmt.Errorf("open messaging: %w", err)
	}
	arrc, err := d.ARR.Get(ctx)
	if err != nil {
		return st, fmt.Errorf("open ARR client: %w", err)
	}
	st.ListCalls = 1
	listed, err := functions.ListSessions(ctx, arrc)
	if err != nil {
		return st, err
	}
	st.Listed = len(listed)
	known, err := recs.ActiveSessions(ctx, now)
	if err != nil {
		return st, fmt.Errorf("read active sessions: %w", err)
	}
	byID := make(map[string]*arrops.Session, len(known))
	for _, s := range known {
		byID[s.ID] = s
	}
	// Only sessions ARR lists are running: bring their records up to date
	// (adopting unknown ones) so the policies see ReadyAt and the tags.
	active := make([]*arrops.Session, 0, len(listed))
	for i := range listed {
		a := &listed[i]
		rec := byID[a.ID]
		if rec == nil {
			s, created, err := recs.CreateSession(ctx, functions.Adopt(a, now))
			if err != nil {
				return st, fmt.Errorf("adopt session %s: %w", a.ID, err)
			}
			if created {
				st.Adopted++
			}
			rec = s
		}
		if _, err := functions.SyncSession(ctx, recs, bus, rec, a, now); err != nil {
			return st, err
		}
		if !rec.Status.Terminal() {
			active = append(active, rec)
		}
	}
	var finished []*arrops.Session
	if cfg.BudgetSet {
		if finished, err = recs.FinishedSessionsSince(ctx, functions.BudgetDayStart(now, cfg.Options), now); err != nil {
			return st, fmt.Errorf("read finished sessions: %w", err)
		}
	}
	decisions := policy.Evaluate(now, cfg.Options, active, finished)
	recByID := make(map[string]*arrops.Session, len(active))
	for _, s := range active {
		recByID[s.ID] = s
	}
	var usage map[string]policy.Usage
	if cfg.BudgetSet {
		usage = policy.DailyUsage(now, cfg.Options, active, finished)
	}

	var (
		mu   sync.Mutex
		errs []error
	)
	note := func(f func()) { mu.Lock(); f(); mu.Unlock() }
	// Every decision is carried out whatever happens to the others: errors
	// are collected, not used to cancel the group.
	var g errgroup.Group
	g.SetLimit(max(1, cfg.Concurrency))
	for _, dec := range decisions {
		s := recByID[dec.SessionID]
		if s == nil {
			continue
		}
		g.Go(func() error {
			err := act(ctx, d, arrc, recs, bus, s, dec, usage, now, &st, note, log)
			if err != nil {
				note(func() { errs = append(errs, err) })
			}
			return nil
		})
	}
	g.Wait()
	return st, errors.Join(errs...)
}

// act carries out one decision as a sweep or a deadline does: warn, record
// a dry-run "would stop", or stop; then, for a session that keeps running,
// arm its next policy instant.
func act(ctx context.Context, d Deps, arrc *arr.Client, recs Records, bus functions.Publisher, s *arrops.Session, dec policy.Decision,
	usage map[string]policy.Usage, now time.Time, st *Stats, note func(func()), log *slog.Logger) error {
	cfg := d.Config.Shutdown
	var err error
	switch {
	case dec.Action == policy.None:
	case dec.Action == policy.Warn:
		err = warn(ctx, recs, bus, s, dec, now)
		if err == nil {
			note(func() { st.Warned++ })
		}
	case dec.DryRun || cfg.DryRun:
		var sent bool
		sent, err = wouldStop(ctx, recs, bus, s, dec, now)
		if sent {
			note(func() { st.WouldStop++ })
		}
	default:
		note(func() { st.StopCalls++ })
		var already bool
		already, err = stop(ctx, arrc, recs, bus, s, dec, now)
		note(func() {
			if already {
				st.AlreadyStopped++
			} else if err == nil {
				st.Stopped++
			}
		})
		if err == nil {
			log.Info("policy stop", "sessionId", s.ID, "policy", dec.Policy, "reason", dec.Reason, "alreadyStopped", already)
		}
		return err
	}
	if err != nil {
		return err
	}
	armed, err := d.Deadlines.ArmWithUsage(ctx, []*arrops.Session{s}, usage, now)
	note(func() { st.Armed += armed })
	if err != nil {
		// Precision only: the next sweep evaluates this session anyway.
		log.Warn("deadline not armed", "sessionId", s.ID, "err", err)
	}
	return nil
}

// Deadline is a due deadline of one session: its policies are evaluated
// afresh at the instant (a stale deadline, for a session extended, stopped
// or under changed settings, does nothing), acted on as the sweep would, and
// the next instant is armed. at is the instant the message was due: the
// queue's clock, which may run a little ahead of this host's.
func Deadline(ctx context.Context, d Deps, id string, at time.Time, log *slog.Logger) (Stats, error) {
	var st Stats
	now := d.Now().UTC()
	if at.After(now) {
		now = at
	}
	cfg := d.Config.Shutdown
	recs, err := d.Records.Get(ctx)
	if err != nil {
		return st, fmt.Errorf("open records: %w", err)
	}
	s, err := recs.GetSession(ctx, id)
	if arrops.ErrorCode(err) == arrops.ENOTFOUND {
		log.Info("deadline of an unknown session: nothing to do")
		return st, nil
	} else if err != nil {
		return st, fmt.Errorf("read session %s: %w", id, err)
	}
	if s.Status.Terminal() {
		log.Info("deadline of an ended session: nothing to do", "status", s.Status)
		return st, nil
	}
	active := []*arrops.Session{s}
	var finished []*arrops.Session
	var usage map[string]policy.Usage
	if cfg.BudgetSet {
		all, err := recs.ActiveSessions(ctx, now)
		if err != nil {
			return st, fmt.Errorf("read active sessions: %w", err)
		}
		for _, o := range all {
			if o.ID != id {
				active = append(active, o)
			}
		}
		if finished, err = recs.FinishedSessionsSince(ctx, functions.BudgetDayStart(now, cfg.Options), now); err != nil {
			return st, fmt.Errorf("read finished sessions: %w", err)
		}
		usage = policy.DailyUsage(now, cfg.Options, active, finished)
	}
	var dec policy.Decision
	for _, x := range policy.Evaluate(now, cfg.Options, active, finished) {
		if x.SessionID == id {
			dec = x
		}
	}
	if dec.Action == policy.None {
		log.Info("deadline: nothing due (stale or early)", "nextStop", dec.StopAt, "policy", dec.Policy)
	}
	var needARR = dec.Action == policy.Stop && !(dec.DryRun || cfg.DryRun)
	var arrc *arr.Client
	if needARR {
		if arrc, err = d.ARR.Get(ctx); err != nil {
			return st, fmt.Errorf("open ARR client: %w", err)
		}
	}
	var bus functions.Publisher
	if dec.Action != policy.None {
		if bus, err = d.Bus.Get(ctx); err != nil {
			return st, fmt.Errorf("open messaging: %w", err)
		}
	}
	err = act(ctx, d, arrc, recs, bus, s, dec, usage, now, &st, func(f func()) { f() }, log)
	return st, err
}

// StopReason formats a policy decision for the record.
func StopReason(dec policy.Decision) string {
	return "policy " + dec.Policy + ": " + dec.Reason
}

func stop(ctx context.Context, arrc *arr.Client, recs Records, bus functions.Publisher, s *arrops.Session, dec policy.Decision, now time.Time) (already bool, err error) {
	_, err = arrc.StopSession(ctx, s.ID, nil)
	switch arrops.ErrorCode(err) {
	case "":
	case arrops.ENOTFOUND, arrops.ECONFLICT:
		already = true // someone else stopped it first (or ARR forgot it)
	default:
		// Transient, or EUNAUTHORIZED (logged at error level by
		// functions.Handle): the session keeps running and the next sweep
		// stops it; nothing is recorded as stopped that is not.
		return false, fmt.Errorf("stop session %s (%s): %w", s.ID, dec.Policy, err)
	}
	// The record was synced from this sweep's List; a final GET is needed
	// only when someone else stopped the session first (its final state is
	// theirs). One sweep thus makes 1 List + the stops.
	get := arrc
	if !already {
		get = nil
	}
	rec, claimed, err := functions.Finalize(ctx, get, recs, s, s.ID, StopReason(dec), now)
	if err != nil {
		return already, err
	}
	return already, functions.PublishSessionClaim(ctx, recs, bus, rec, now, claimed)
}

// wouldStop records and announces a dry-run decision once per session and
// policy. The reason quotes running values ("ready for 31 min"), so it is
// compared by its policy prefix: comparing the whole text re-announced and
// rewrote the record on every sweep.
func wouldStop(ctx context.Context, recs Records, bus functions.Publisher, s *arrops.Session, dec policy.Decision, now time.Time) (bool, error) {
	prefix := "would stop (dry run): policy " + dec.Policy + ":"
	reason := "would stop (dry run): " + StopReason(dec)
	if strings.HasPrefix(s.StopReason, prefix) {
		return false, nil
	}
	ev := arrops.SessionEvent(s, now)
	ev.Type, ev.Reason = arrops.EventSessionWouldStop, reason
	if err := functions.Announce(ctx, bus, ev, s.ReplyTo, s.CorrelationID, dec.Policy); err != nil {
		return false, err
	}
	_, err := functions.ModifySession(ctx, recs, s.ID, s, func(s *arrops.Session) (bool, error) {
		if strings.HasPrefix(s.StopReason, prefix) || s.Status.Terminal() {
			return false, nil // a racing sweep recorded it, or the session is over
		}
		s.StopReason = reason
		return true, nil
	})
	if err != nil {
		return true, fmt.Errorf("record dry-run decision for %s: %w", s.ID, err)
	}
	return true, nil
}

// warn announces an upcoming policy stop once per stop time.
func warn(ctx context.Context, recs Records, bus functions.Publisher, s *arrops.Session, dec policy.Decision, now time.Time) error {
	ev := arrops.SessionEvent(s, now)
	ev.Type, ev.Reason = arrops.EventSessionStopWarning, StopReason(dec)
	stopAt := dec.StopAt.UTC()
	ev.StopAt = &stopAt
	if err := functions.Announce(ctx, bus, ev, s.ReplyTo, s.CorrelationID, stopAt.Format("20060102T150405Z")); err != nil {
		return err
	}
	// Record the warning even if someone else wrote the record meanwhile:
	// without WarnedAt the next sweep would warn again (a duplicate that only
	// Service Bus duplicate detection would absorb). Not if the fresh record
	// was warned by a racing sweep, is over, or was extended meanwhile (this
	// warning's stop time no longer holds: the next sweep warns for the new one).
	warnedAt, extendedUntil := s.WarnedAt, s.ExtendedUntil
	_, err := functions.ModifySession(ctx, recs, s.ID, s, func(s *arrops.Session) (bool, error) {
		if !s.WarnedAt.Equal(warnedAt) || s.Status.Terminal() || !s.ExtendedUntil.Equal(extendedUntil) {
			return false, nil
		}
		s.WarnedAt = now
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("record warning for %s: %w", s.ID, err)
	}
	return nil
}
