package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/schedule"
)

// ReservationRecords is what starting reservations reads and writes.
type ReservationRecords interface {
	SessionRecords
	ActiveSessions(ctx context.Context, now time.Time) ([]*arrops.Session, error)
	FinishedSessionsSince(ctx context.Context, since, now time.Time) ([]*arrops.Session, error)
	ReservedSessions(ctx context.Context, now time.Time) ([]*arrops.Session, error)
}

// Reservations starts reserved sessions ahead of their StartAt by the
// observed start time of their size, so they are Ready at StartAt. The
// reserve command records the reservation (status Reserved) and schedules
// a reservation message for its start; on delivery the record is re-read and
// the start claimed by a conditional write (Reserved -> Requested: the intent, see CreateIntent) before ARR
// is asked, so a stale, repeated or cancelled reservation starts nothing.
// The watch timer starts any that are due and still reserved (a lost
// message). A nil *Reservations is off.
type Reservations struct {
	ARR       *Lazy[*arr.Client]
	Records   *Lazy[ReservationRecords]
	Bus       *Lazy[Publisher]
	Due       *Lazy[schedule.Scheduler]
	FollowUps *FollowUps
}

// Lead returns how far ahead of StartAt a session of size sz is started now.
func (r *Reservations) Lead(ctx context.Context, sz arrops.SessionSize, now time.Time) (time.Duration, error) {
	recs, err := r.Records.Get(ctx)
	if err != nil {
		return 0, fmt.Errorf("open records: %w", err)
	}
	active, err := recs.ActiveSessions(ctx, now)
	if err != nil {
		return 0, fmt.Errorf("read active sessions: %w", err)
	}
	finished, err := recs.FinishedSessionsSince(ctx, now.AddDate(0, 0, -StartObservationDays), now)
	if err != nil {
		return 0, fmt.Errorf("read finished sessions: %w", err)
	}
	return StartLead(append(active, finished...), sz), nil
}

// Schedule sends the reservation message of s for its start (CreatedAt).
func (r *Reservations) Schedule(ctx context.Context, s *arrops.Session) error {
	due, err := r.Due.Get(ctx)
	if err != nil {
		return fmt.Errorf("open due queue: %w", err)
	}
	return due.Schedule(ctx, arrops.DueMessage{Kind: arrops.DueReservation, SessionID: s.ID, At: s.CreatedAt}, s.CreatedAt)
}

// Start starts reservation id if it is still reserved (or was claimed for
// its start by a run that crashed before ARR answered). started reports
// whether ARR was asked.
func (r *Reservations) Start(ctx context.Context, id string, now time.Time, log *slog.Logger) (started bool, err error) {
	recs, err := r.Records.Get(ctx)
	if err != nil {
		return false, fmt.Errorf("open records: %w", err)
	}
	s, err := recs.GetSession(ctx, id)
	if arrops.ErrorCode(err) == arrops.ENOTFOUND {
		log.Warn("reservation message for an unknown session", "sessionId", id)
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("read reservation %s: %w", id, err)
	}
	return r.start(ctx, recs, s, now, log)
}

func (r *Reservations) start(ctx context.Context, recs ReservationRecords, s *arrops.Session, now time.Time, log *slog.Logger) (bool, error) {
	// Claim the start: Reserved -> Requested (the intent, as for a command's
	// start), conditional on the record as read. A cancel (stop) or another
	// run's claim makes this write fail or the record no longer Reserved.
	if err := modifySession(ctx, recs, s, func(x *arrops.Session) bool {
		if x.Status != arrops.SessionReserved {
			return false
		}
		x.Status = arrops.SessionRequested
		return true
	}); err != nil {
		return false, err
	}
	// Requested: ARR has not answered yet (this run, or one that failed
	// after the claim: ARR answers a repeated create with the same settings
	// with 200, so resuming makes one session).
	if s.Origin != arrops.OriginReservation || s.Status != arrops.SessionRequested {
		return false, nil
	}
	arrc, err := r.ARR.Get(ctx)
	if err != nil {
		return false, fmt.Errorf("open ARR client: %w", err)
	}
	bus, err := r.Bus.Get(ctx)
	if err != nil {
		return false, fmt.Errorf("open messaging: %w", err)
	}
	// Refusals are announced (SessionError): the reserve's reply is long gone.
	res, err := CreateIntent(ctx, arrc, recs, bus, s, true, now)
	if err != nil {
		return res.Started, fmt.Errorf("start reservation %s: %w", s.ID, err)
	}
	if res.Refused != nil || res.Abandoned {
		log.Warn("reserved start refused by ARR", "sessionId", s.ID, "err", res.Refused)
		return false, nil
	}
	log.Info("reservation started", "sessionId", s.ID, "startAt", s.StartAt, "size", s.Size)
	if err := PublishSessionClaim(ctx, recs, bus, res.Session, now, res.Won); err != nil {
		return true, err
	}
	KickFollowUps(ctx, r.FollowUps, now, log)
	return true, nil
}

// StartDue starts every reservation whose start has come and that is still
// reserved: the watch timer's safety net.
func (r *Reservations) StartDue(ctx context.Context, now time.Time, log *slog.Logger) (int, error) {
	if r == nil {
		return 0, nil
	}
	recs, err := r.Records.Get(ctx)
	if err != nil {
		return 0, fmt.Errorf("open records: %w", err)
	}
	reserved, err := recs.ReservedSessions(ctx, now)
	if err != nil {
		return 0, fmt.Errorf("read reservations: %w", err)
	}
	// Intents a run left (it failed after claiming the start): carry them on.
	active, err := recs.ActiveSessions(ctx, now)
	if err != nil {
		return 0, fmt.Errorf("read active sessions: %w", err)
	}
	for _, s := range active {
		if s.Origin == arrops.OriginReservation && s.Status == arrops.SessionRequested {
			reserved = append(reserved, s)
		}
	}
	n := 0
	var errs []error
	for _, s := range reserved {
		if s.CreatedAt.After(now) {
			continue
		}
		started, err := r.start(ctx, recs, s, now, log)
		if started {
			n++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// CancelReservation ends reservation s (still Reserved) as cancelled by a
// stop command, conditional on the record: if its start was claimed first,
// cancelled is false and the caller stops the session in ARR as usual.
func CancelReservation(ctx context.Context, recs SessionRecords, s *arrops.Session, reason string, now time.Time) (cancelled, claimed bool, err error) {
	err = modifySession(ctx, recs, s, func(x *arrops.Session) bool {
		if x.Status != arrops.SessionReserved {
			return false
		}
		x.Status, x.StoppedAt, x.StopReason = arrops.SessionStopped, now, reason
		claimed = ClaimSessionAnnouncement(x, now)
		return true
	})
	return s.Status == arrops.SessionStopped && s.StopReason == reason, claimed, err
}
