// Package watch is the `watch` function (timer, %WATCH_SCHEDULE%): it keeps
// the session and conversion records in step with ARR and announces every
// transition.
//
// One sweep makes one List call (following @nextLink pages), then one GET for
// each recorded active session that left the list (it ended: the GET gives its
// final state) and one GET per running conversion, with bounded concurrency.
// Sessions in the list without a record are adopted (origin external). Writes
// are ETag-conditional and only happen when something changed.
package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/trigger"
)

// Binding is the timer binding name in function.json.
const Binding = "timer"

// Records is the part of the store the function uses.
type Records interface {
	functions.SessionRecords
	functions.ConversionRecords
	ActiveSessions(ctx context.Context, now time.Time) ([]*arrops.Session, error)
	ActiveConversions(ctx context.Context, now time.Time) ([]*arrops.Conversion, error)
}

// Deps are the function's collaborators.
type Deps struct {
	Config  *config.Config
	ARR     *functions.Lazy[*arr.Client]
	Records *functions.Lazy[Records]
	Bus     *functions.Lazy[functions.Publisher]
	// Blobs reads the result.json and info.json of ended conversions; nil
	// records ends without them.
	Blobs *functions.Lazy[functions.BlobReader]
	Now   func() time.Time
	// FollowUps, when on, is re-armed by the timer if its sweep saw
	// something in transition and the chain is gone (a lost message, a
	// crash between claim and schedule).
	FollowUps *functions.FollowUps
	// Deadlines, when on, arms the first policy instant of each session
	// this sweep saw become Ready.
	Deadlines *functions.Deadlines
	// Pool, when configured, is maintained by every timer run: the safety
	// net of its due messages (window edges, replacements).
	Pool *functions.Pool
	// Reservations, when set, has every timer run start the reservations
	// whose start has come (the safety net of their due messages).
	Reservations *functions.Reservations
	// Fallback, when set, replaces a session that failed before Ready.
	Fallback *functions.Fallback
}

// Stats describes one sweep (logged, and used by tests and benchmarks).
type Stats struct {
	Listed, Adopted, Gets, Writes, ConversionGets, ConversionWrites int
	// Abandoned counts Requested records ended (ARR never got them within
	// functions.RequestedGrace); StoppedAbandoned sessions ARR started after
	// their start had been abandoned.
	Abandoned, StoppedAbandoned int
	// InTransition counts what ARR reports as still moving (a session
	// neither Ready nor ended, a conversion not finished): while it is not
	// zero, follow-ups continue.
	InTransition int
}

// abandonReason is the ErrorMessage of an intent the sweep gives up on.
var abandonReason = fmt.Sprintf("the start did not reach ARR within %v (its message failed or was dead-lettered; see the ArrCommands audit rows); nothing was started", functions.RequestedGrace)

// New returns the function.
func New(d Deps) functions.Func {
	return func(ctx context.Context, inv *trigger.Invocation, _ *trigger.Response, log *slog.Logger) error {
		if t, err := inv.Timer(Binding); err == nil && t.IsPastDue {
			log.Info("timer is past due; sweeping now")
		}
		st, err := Sweep(ctx, d)
		// A sweep that changed nothing is routine: debug, so the log shows
		// what happened rather than a line every few seconds.
		level := slog.LevelInfo
		if err == nil && st.Adopted == 0 && st.Writes == 0 && st.ConversionWrites == 0 && st.Abandoned == 0 && st.StoppedAbandoned == 0 {
			level = slog.LevelDebug
		}
		log.Log(ctx, level, "watch sweep", "listed", st.Listed, "adopted", st.Adopted, "gets", st.Gets, "writes", st.Writes,
			"conversionGets", st.ConversionGets, "conversionWrites", st.ConversionWrites, "abandoned", st.Abandoned, "stoppedAbandoned", st.StoppedAbandoned,
			"inTransition", st.InTransition)
		if st.InTransition > 0 {
			// The safety net of the follow-ups: a failure here costs
			// precision only, so it is logged, not retried.
			if started, ferr := d.FollowUps.Ensure(ctx, d.Now().UTC()); ferr != nil {
				log.Warn("follow-up chain not re-armed", "err", ferr)
			} else if started {
				log.Info("follow-up chain re-armed by the timer")
			}
		}
		if d.Pool != nil {
			pst, perr := d.Pool.Maintain(ctx, d.Now().UTC(), log)
			log.Info("pool", "free", pst.Free, "started", pst.Started, "renewed", pst.Renewed, "stopped", pst.Stopped, "nextEdge", pst.NextEdge)
			err = errors.Join(err, perr)
		}
		if d.Reservations != nil {
			n, rerr := d.Reservations.StartDue(ctx, d.Now().UTC(), log)
			if n > 0 {
				log.Info("reservations started by the timer", "started", n)
			}
			err = errors.Join(err, rerr)
		}
		return err
	}
}

// Sweep runs one watch pass.
func Sweep(ctx context.Context, d Deps) (Stats, error) {
	var st Stats
	now := d.Now().UTC()
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
	listed, err := functions.ListSessions(ctx, arrc)
	if err != nil {
		return st, err
	}
	st.Listed = len(listed)
	active, err := recs.ActiveSessions(ctx, now)
	if err != nil {
		return st, fmt.Errorf("read active sessions: %w", err)
	}
	byID := make(map[string]*arrops.Session, len(active))
	for _, s := range active {
		byID[s.ID] = s
	}
	var (
		mu     sync.Mutex
		errs   []error
		synced []*arrops.Session // listed sessions, as recorded after this sweep
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	count := func(p *int, n int) {
		mu.Lock()
		*p += n
		mu.Unlock()
	}
	// Every record is synced whatever happens to the others: workers
	// collect their errors (fail) instead of cancelling the group.
	var g errgroup.Group
	g.SetLimit(max(1, d.Config.WatchConcurrency))
	goBounded := func(f func()) { g.Go(func() error { f(); return nil }) }
	// Split the records before any worker starts: SyncSession updates a
	// record in place, so reading rec.ID here while workers run would race.
	seen := make(map[string]bool, len(listed))
	for i := range listed {
		seen[listed[i].ID] = true
	}
	var unseen []*arrops.Session
	for _, rec := range active {
		if !seen[rec.ID] {
			unseen = append(unseen, rec)
		}
	}
	for i := range listed {
		a := &listed[i]
		rec := byID[a.ID]
		if moving(a.Status) {
			count(&st.InTransition, 1)
		}
		goBounded(func() {
			if rec == nil {
				// Not active in our records: adopt, or (rarely) a record that is
				// terminal or older than the active window; CreateSession returns it.
				s, created, err := recs.CreateSession(ctx, functions.Adopt(a, now))
				if err != nil {
					fail(fmt.Errorf("adopt session %s: %w", a.ID, err))
					return
				}
				if created {
					count(&st.Adopted, 1)
					count(&st.Writes, 1)
				}
				if !created && functions.Abandoned(s) {
					// arrops gave up on this start and said so, but ARR
					// started it after all (an answer lost on the way):
					// nobody wants it.
					if _, err := arrc.StopSession(ctx, a.ID, nil); err != nil && arrops.ErrorCode(err) != arrops.ENOTFOUND {
						fail(fmt.Errorf("stop session %s of an abandoned start: %w", a.ID, err))
						return
					}
					functions.Logger(ctx).Warn("stopped a session whose start had been abandoned", "sessionId", a.ID)
					count(&st.StoppedAbandoned, 1)
					return
				}
				rec = s
			}
			n, err := functions.SyncSession(ctx, recs, bus, rec, a, now)
			count(&st.Writes, n)
			if err != nil {
				fail(err)
				return
			}
			mu.Lock()
			synced = append(synced, rec)
			mu.Unlock()
		})
	}
	for _, rec := range unseen {
		goBounded(func() {
			count(&st.Gets, 1)
			resp, err := arrc.GetSession(ctx, rec.ID, nil)
			var a *arr.Session
			switch {
			case err == nil:
				a = &resp.Session
			case arrops.ErrorCode(err) == arrops.ENOTFOUND && rec.Status == arrops.SessionRequested:
				// A recorded start ARR has not seen (yet): its command is
				// retried for a while; after that nobody will create it.
				if now.Sub(rec.CreatedAt) < functions.RequestedGrace {
					count(&st.InTransition, 1) // still on its way to ARR
					return
				}
				_, abandoned, err := functions.AbandonSession(ctx, recs, bus, rec.ID, "", abandonReason, true, now)
				if abandoned {
					count(&st.Abandoned, 1)
					count(&st.Writes, 1)
				}
				if err != nil {
					fail(fmt.Errorf("abandon the start of session %s: %w", rec.ID, err))
				}
				return
			case arrops.ErrorCode(err) == arrops.ENOTFOUND:
				// ARR has no such session (purged after 30 days): end the
				// record with a clear reason.
				a = &arr.Session{ID: rec.ID, Status: arr.SessionStatus(arrops.SessionError),
					Error: &arr.ErrorDetails{Code: "NotFound", Message: "ARR has no session with this id"}}
			default:
				fail(fmt.Errorf("get session %s: %w", rec.ID, err))
				return
			}
			if moving(a.Status) {
				count(&st.InTransition, 1)
			}
			if d.Fallback.Due(rec, a) {
				// Before the Error is recorded: a crash in between brings the
				// next sweep back here, to the same replacement.
				if err := d.Fallback.Start(ctx, arrc, recs, bus, rec, a, now, functions.Logger(ctx)); err != nil {
					fail(err)
					return
				}
			}
			n, err := functions.SyncSession(ctx, recs, bus, rec, a, now)
			count(&st.Writes, n)
			if err != nil {
				fail(err)
			}
		})
	}
	convs, err := recs.ActiveConversions(ctx, now)
	if err != nil {
		fail(fmt.Errorf("read active conversions: %w", err))
	}
	var out functions.BlobReader
	if d.Blobs != nil && len(convs) > 0 {
		if out, err = d.Blobs.Get(ctx); err != nil {
			fail(fmt.Errorf("open blob reader: %w", err))
			convs = nil
		}
	}
	for _, c := range convs {
		goBounded(func() {
			count(&st.ConversionGets, 1)
			resp, err := arrc.GetConversion(ctx, c.ID, nil)
			if arrops.ErrorCode(err) == arrops.ENOTFOUND && c.Status == arrops.ConversionRequested {
				if now.Sub(c.CreatedAt) < functions.RequestedGrace {
					count(&st.InTransition, 1)
					return // its blob event is retried for a while
				}
				abandoned, err := functions.AbandonConversion(ctx, recs, bus, c.ID, abandonReason, now)
				if abandoned {
					count(&st.Abandoned, 1)
					count(&st.ConversionWrites, 1)
				}
				if err != nil {
					fail(fmt.Errorf("abandon conversion %s: %w", c.ID, err))
				}
				return
			}
			if err != nil {
				fail(fmt.Errorf("get conversion %s: %w", c.ID, err))
				return
			}
			if !arrops.ConversionStatus(resp.Conversion.Status).Terminal() {
				count(&st.InTransition, 1)
			}
			wrote, err := functions.SyncConversion(ctx, recs, bus, out, c, &resp.Conversion, now)
			if wrote {
				count(&st.ConversionWrites, 1)
			}
			if err != nil {
				fail(err)
			}
		})
	}
	g.Wait()
	if d.Deadlines != nil {
		var readyNow []*arrops.Session
		billing := map[string]bool{} // requesters with a session billing since this sweep
		for _, rec := range synced {
			if rec.ReadyAt.Equal(now) && rec.DeadlineAt.IsZero() && !rec.Status.Terminal() {
				readyNow = append(readyNow, rec)
				billing[rec.RequestedBy] = true
			}
		}
		if d.Deadlines.Policy.BudgetSet && len(billing) > 0 {
			// One more session billing brings the budget's projected
			// exhaustion of the requester's other sessions forward: re-arm
			// them (a write only where the instant moved). A session that
			// ends moves it back; that deadline then arrives early and
			// re-arms itself.
			for _, rec := range synced {
				if billing[rec.RequestedBy] && !rec.ReadyAt.Equal(now) && !rec.Status.Terminal() {
					readyNow = append(readyNow, rec)
				}
			}
		}
		if _, err := d.Deadlines.Arm(ctx, readyNow, now); err != nil {
			// Precision only: the shutdown sweep evaluates and arms them too.
			functions.Logger(ctx).Warn("deadlines not armed", "err", err)
		}
	}
	return st, errors.Join(errs...)
}

// moving reports whether ARR's session status is a transition still under
// way (Starting, or a status this version does not know) rather than Ready or
// an end.
func moving(st arr.SessionStatus) bool {
	s := arrops.SessionStatus(st)
	return s != arrops.SessionReady && !s.Terminal()
}
