package functions

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/schedule"
)

// ChainRecords keeps the follow-up chain's claim record (store.Store, or
// store/memstore in tests).
type ChainRecords interface {
	GetFollowUpChain(ctx context.Context) (*arrops.FollowUpChain, error)
	// SaveFollowUpChain writes c if unchanged since read (c.ETag; "" inserts)
	// and returns ErrConcurrentUpdate otherwise.
	SaveFollowUpChain(ctx context.Context, c *arrops.FollowUpChain) error
}

// FollowUpGrace is how late a link may run before a command or the watch
// timer considers the chain lost and starts a new one: host polling (2 s),
// a sweep, and one redelivery after a transient failure (host.json
// visibilityTimeout, 30 s) fit in it. A link late beyond it is stale anyway
// (its generation is superseded), so the grace costs precision, never a
// second chain.
const FollowUpGrace = 45 * time.Second

// FollowUps runs the one follow-up chain: while anything is in transition
// (a session starting or stopping, a conversion running) a delayed message
// on the due queue asks for another sweep Period later.
//
// At most one chain is live, whatever the number of commands, redeliveries,
// crashed or scaled-out handlers:
//   - every link and every start of a chain is first claimed by an
//     ETag-conditional write of the one claim record (Gen+1), and only the
//     writer that succeeded schedules the message of that generation;
//   - a delivered link whose Gen is not the record's is stale and does
//     nothing, so redeliveries and superseded links die out;
//   - a command that finds a live chain nudges the record instead (one more
//     conditional write): a link that read the record before the command's
//     transition was recorded then fails to end the chain and sweeps again.
//
// A crash between the claim and the schedule leaves no message: the next
// command or the watch timer (every minute) sees the claim past due and
// starts a new chain. A nil *FollowUps, or Period 0, is off.
type FollowUps struct {
	Records *Lazy[ChainRecords]
	Due     *Lazy[schedule.Scheduler]
	Period  time.Duration
}

// Enabled reports whether follow-ups are on.
func (f *FollowUps) Enabled() bool { return f != nil && f.Period > 0 }

// Kick makes sure a chain is live after something entered transition at now:
// it starts one, or nudges the live one. Call it after the transition is
// recorded. started reports whether this call scheduled a new chain.
func (f *FollowUps) Kick(ctx context.Context, now time.Time) (started bool, err error) {
	return f.kick(ctx, now, true)
}

// Ensure starts a chain if none is live, without nudging a live one: the
// watch timer's re-arm, after its own sweep saw something in transition.
func (f *FollowUps) Ensure(ctx context.Context, now time.Time) (started bool, err error) {
	return f.kick(ctx, now, false)
}

func (f *FollowUps) kick(ctx context.Context, now time.Time, nudge bool) (started bool, err error) {
	if !f.Enabled() {
		return false, nil
	}
	recs, due, err := f.open(ctx)
	if err != nil {
		return false, err
	}
	calls := 0
	c, err := modifyChain(ctx, recs, nil, func(c *arrops.FollowUpChain) (bool, error) {
		calls++
		started = false
		if c.Live(now, f.Period, FollowUpGrace) {
			if !nudge || calls > 1 {
				// A retry after a conflict: someone wrote the record after
				// this transition was recorded, so any link that read it
				// before will sweep again.
				return false, nil
			}
			c.Nudges++
			return true, nil
		}
		c.Gen, c.DueAt, started = c.Gen+1, now.Add(f.Period), true
		return true, nil
	})
	if err != nil {
		return false, fmt.Errorf("follow-up chain: %w", err)
	}
	if started {
		return true, scheduleLink(ctx, due, c)
	}
	return false, nil
}

// KickFollowUps kicks f after a transition was recorded. A failure costs
// precision, not correctness (the watch timer sees the transition and
// re-arms the chain), so it is logged and the caller goes on.
func KickFollowUps(ctx context.Context, f *FollowUps, now time.Time, log *slog.Logger) {
	started, err := f.Kick(ctx, now)
	if err != nil {
		log.Warn("follow-up chain not kicked; the watch timer will see the transition", "err", err)
	} else if started {
		log.Info("follow-up chain started", "period", f.Period.String())
	}
}

// modifyChain is ModifySession's read-modify-write for the chain's claim
// record.
func modifyChain(ctx context.Context, recs ChainRecords, cur *arrops.FollowUpChain, fn func(*arrops.FollowUpChain) (bool, error)) (*arrops.FollowUpChain, error) {
	get := func(ctx context.Context, _ string) (*arrops.FollowUpChain, error) { return recs.GetFollowUpChain(ctx) }
	return modify(ctx, "follow-up chain", "claim", cur, get, recs.SaveFollowUpChain, fn)
}

// scheduleLink sends the message of the link c has just claimed. A failure
// leaves the claim without a message: it goes stale and the next command or
// watch tick starts a new chain.
func scheduleLink(ctx context.Context, due schedule.Scheduler, c *arrops.FollowUpChain) error {
	if err := due.Schedule(ctx, arrops.DueMessage{Kind: arrops.DueFollowUp, Gen: c.Gen}, c.DueAt); err != nil {
		return fmt.Errorf("schedule follow-up %d: %w", c.Gen, err)
	}
	return nil
}

// LinkOutcome says what a delivered follow-up did.
type LinkOutcome string

// Link outcomes.
const (
	LinkStale     LinkOutcome = "stale"     // not the live generation: nothing done
	LinkContinued LinkOutcome = "continued" // swept; the next link is scheduled
	LinkEnded     LinkOutcome = "ended"     // swept; nothing in transition; chain over
	LinkDropped   LinkOutcome = "dropped"   // swept; another writer took the chain meanwhile
)

// Link runs the follow-up msg: if it is the live link, it calls sweep
// (which reports whether anything is still in transition) and then either
// schedules the next link or ends the chain, each by a conditional write.
// now is read after the sweep for the next due time.
func (f *FollowUps) Link(ctx context.Context, msg arrops.DueMessage, now func() time.Time, sweep func(context.Context) (inTransition bool, err error)) (LinkOutcome, error) {
	if !f.Enabled() {
		return LinkStale, nil
	}
	recs, due, err := f.open(ctx)
	if err != nil {
		return "", err
	}
	c, err := recs.GetFollowUpChain(ctx)
	if err != nil {
		return "", err
	}
	if c.Gen != msg.Gen || c.DueAt.IsZero() {
		return LinkStale, nil
	}
	busy, err := sweep(ctx)
	if err != nil {
		// The host redelivers this message; the claim stays, so the retry
		// (same Gen) is still the live link.
		return "", err
	}
	var out LinkOutcome
	calls := 0
	c, err = modifyChain(ctx, recs, c, func(c *arrops.FollowUpChain) (bool, error) {
		calls++
		if c.Gen != msg.Gen {
			out = LinkDropped // a command or the timer started a newer link
			return false, nil
		}
		if calls > 1 {
			// Nudged after this link read the record: something entered
			// transition that the sweep may not have seen. Look once more.
			busy = true
		}
		if !busy {
			c.DueAt, out = time.Time{}, LinkEnded
			return true, nil
		}
		// Keep the cadence (due + period) unless this link ran late.
		t := now()
		at := c.DueAt.Add(f.Period)
		if at.Before(t.Add(f.Period / 2)) {
			at = t.Add(f.Period)
		}
		c.Gen, c.DueAt, out = c.Gen+1, at, LinkContinued
		return true, nil
	})
	if err != nil {
		return "", fmt.Errorf("follow-up %d: %w", msg.Gen, err)
	}
	if out == LinkContinued {
		if err := scheduleLink(ctx, due, c); err != nil {
			return "", err
		}
	}
	return out, nil
}

func (f *FollowUps) open(ctx context.Context) (ChainRecords, schedule.Scheduler, error) {
	recs, err := f.Records.Get(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("open chain records: %w", err)
	}
	due, err := f.Due.Get(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("open due queue: %w", err)
	}
	return recs, due, nil
}
