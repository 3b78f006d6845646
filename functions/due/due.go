// Package due is the `due` function (storage queue arr-due): the delayed
// messages arrops sends itself, delivered when they fall due. One queue and
// one function serve every kind of due work; a message says only what to
// look at, and the function re-reads the records and decides afresh, so a
// stale, repeated or early message is a no-op.
//
//   - followup: one link of the follow-up chain (functions.FollowUps): if it
//     is the live link, run a watch sweep (one ARR List for every session, a
//     GET only for what the List no longer shows and per running
//     conversion) and schedule the next link while anything is in
//     transition; a sweep that finds nothing ends the chain.
//   - pool: look at the warm pool (a window edge or its lead, a lease
//     renewal, a replacement after a claim): functions.Pool.Maintain.
//   - reservation: start reservation sessionId if it is still reserved
//     (functions.Reservations.Start).
//   - deadline: one session's next policy instant (a warning or a stop):
//     evaluate its policies now, act if something is due, and arm the next
//     instant (functions.Deadlines).
//
// A message that arrives well before its instant (the queue delays at most
// 7 days) is scheduled again for the rest of the way.
package due

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/schedule"
	"github.com/arrops/arrops/trigger"
)

// Binding is the queue trigger binding name in function.json.
const Binding = "msg"

// early is how far ahead of its instant a delivered message counts as early
// (re-armed) rather than due: more than clock skew and rounding.
const early = 2 * time.Second

// Deps are the function's collaborators.
type Deps struct {
	FollowUps *functions.FollowUps
	// Sweep is the sweep a live follow-up runs (the watch function's) and
	// reports whether anything is still in transition; it logs its figures.
	Sweep func(ctx context.Context, log *slog.Logger) (inTransition bool, err error)
	// Deadline evaluates the policies of msg.SessionID at msg.At (nil:
	// deadlines off).
	Deadline func(ctx context.Context, msg arrops.DueMessage, log *slog.Logger) error
	Due      *functions.Lazy[schedule.Scheduler]
	Now      func() time.Time
	// Pool is maintained on pool messages (nil: they are no-ops).
	Pool *functions.Pool
	// Reservations starts reservations on their messages.
	Reservations *functions.Reservations
}

// New returns the function.
func New(d Deps) functions.Func {
	return func(ctx context.Context, inv *trigger.Invocation, _ *trigger.Response, log *slog.Logger) error {
		qm, err := inv.QueueMessage(Binding)
		var msg arrops.DueMessage
		if err == nil {
			msg, err = arrops.ParseDueMessage(qm.Body)
		}
		if err != nil {
			// arrops writes every message on this queue itself: one that does
			// not decode can never succeed. Logged with its text (due
			// messages hold ids and times only), then settled.
			log.Warn("undecodable due message dropped", "err", err, "text", string(qm.Body), "messageId", qm.ID)
			return nil
		}
		log = log.With("kind", msg.Kind, "at", msg.At, "dequeueCount", qm.DequeueCount)
		now := d.Now().UTC()
		if msg.At.After(now.Add(early)) {
			// Beyond the queue's 7-day delay: the rest of the way.
			due, err := d.Due.Get(ctx)
			if err != nil {
				return fmt.Errorf("open due queue: %w", err)
			}
			log.Info("due message early; scheduled again", "left", msg.At.Sub(now).Round(time.Second).String())
			return due.Schedule(ctx, msg, msg.At)
		}
		switch msg.Kind {
		case arrops.DueFollowUp:
			return followUp(ctx, d, msg, log)
		case arrops.DuePool:
			st, err := d.Pool.Maintain(ctx, now, log)
			log.Info("pool", "free", st.Free, "started", st.Started, "renewed", st.Renewed, "stopped", st.Stopped, "nextEdge", st.NextEdge)
			return err
		case arrops.DueReservation:
			if d.Reservations == nil {
				log.Warn("reservation message ignored: reservations are off", "sessionId", msg.SessionID)
				return nil
			}
			started, err := d.Reservations.Start(ctx, msg.SessionID, now, log)
			log.Info("reservation", "sessionId", msg.SessionID, "started", started)
			return err
		case arrops.DueDeadline:
			if d.Deadline == nil {
				log.Info("deadline ignored: deadlines are off")
				return nil
			}
			return d.Deadline(ctx, msg, log.With("sessionId", msg.SessionID))
		}
		return nil
	}
}

func followUp(ctx context.Context, d Deps, msg arrops.DueMessage, log *slog.Logger) error {
	out, err := d.FollowUps.Link(ctx, msg, func() time.Time { return d.Now().UTC() }, func(ctx context.Context) (bool, error) {
		return d.Sweep(ctx, log)
	})
	if err != nil {
		return err
	}
	log.Info("follow-up", "gen", msg.Gen, "outcome", out, "late", d.Now().Sub(msg.At).Round(time.Millisecond).String())
	return nil
}
