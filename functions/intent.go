package functions

import (
	"context"
	"fmt"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
)

// Intent first: a start (or conversion) is recorded as Requested with a
// conditional insert before ARR is called, then ARR is called, then ARR's
// answer is recorded. A crash or failure between the steps leaves a Requested
// record, never an ARR session without one. The record is settled by the
// next delivery of the same message (it finds its own Requested record and
// carries on) or, when none comes (the message was dead-lettered or given
// up), by the watch sweep: ARR has the session or conversion: its view is
// recorded as usual; ARR has nothing after RequestedGrace: the intent is
// abandoned (below) and announced.

// RequestedGrace is how long a Requested record may wait for ARR before the
// watch sweep abandons it. It covers the host's redeliveries (lock duration 1
// minute, 10 deliveries for commands, 5 dequeues for blob events, each
// failing fast), so a start still being retried is not abandoned under it.
const RequestedGrace = 10 * time.Minute

// ErrorStartAbandoned is the ErrorCode of a session or conversion whose
// intent was recorded but which ARR never got (or answered) in time: nothing
// was started. If ARR started it nevertheless (an answer lost on the way), the
// watch sweep stops it: the requester was told it failed.
const ErrorStartAbandoned = "StartAbandoned"

// Abandoned reports whether s is an intent arrops gave up on.
func Abandoned(s *arrops.Session) bool {
	return s.Status == arrops.SessionError && s.ErrorCode == ErrorStartAbandoned
}

// AbandonSession ends a Requested session record: Error with
// ErrorStartAbandoned and reason. Only a record still Requested changes
// (correlationID, when not empty, must also match: the intent of that
// command message), so a start that has meanwhile reached ARR and been
// recorded is left alone. With announce, SessionError is claimed and
// published (to the topic and the requester's ReplyTo): for an intent whose
// command was never answered, the event is the answer. It returns the record
// and whether this call abandoned it.
func AbandonSession(ctx context.Context, recs SessionRecords, bus Publisher, id, correlationID, reason string, announce bool, now time.Time) (*arrops.Session, bool, error) {
	var abandoned, claimed bool
	s, err := ModifySession(ctx, recs, id, nil, func(s *arrops.Session) (bool, error) {
		abandoned, claimed = false, false
		if s.Status != arrops.SessionRequested || (correlationID != "" && s.CorrelationID != correlationID) {
			return false, nil
		}
		s.Status, s.ErrorCode, s.ErrorMessage = arrops.SessionError, ErrorStartAbandoned, arrops.Clip(reason, arrops.MaxTextBytes)
		s.StoppedAt = now
		if announce {
			claimed = ClaimSessionAnnouncement(s, now)
		} else {
			s.Announced = s.Status // the caller's reply is the answer
		}
		abandoned = true
		return true, nil
	})
	if err != nil {
		return nil, false, err
	}
	if claimed {
		if err := PublishSessionClaim(ctx, recs, bus, s, now, true); err != nil {
			return s, abandoned, err
		}
	}
	return s, abandoned, nil
}

// AbandonConversion is AbandonSession for a Requested conversion record:
// Failed with ErrorStartAbandoned, announced as ConversionFailed. A record no
// longer Requested (ARR answered meanwhile) is left alone.
func AbandonConversion(ctx context.Context, recs ConversionRecords, bus Publisher, id, reason string, now time.Time) (bool, error) {
	abandoned := false
	c, err := ModifyConversion(ctx, recs, id, nil, func(c *arrops.Conversion) (bool, error) {
		abandoned = c.Status == arrops.ConversionRequested
		if abandoned {
			c.Status, c.ErrorCode, c.ErrorMessage = arrops.ConversionFailed, ErrorStartAbandoned, arrops.Clip(reason, arrops.MaxTextBytes)
			c.CompletedAt = now
		}
		return abandoned, nil
	})
	if err != nil || !abandoned {
		return false, err
	}
	// Claim and publish ConversionFailed as for any terminal status.
	_, err = SyncConversion(ctx, recs, bus, nil, c, &arr.Conversion{ID: id, Status: arr.ConversionStatus(c.Status)}, now) // never reached ARR: no output files
	return true, err
}

// RecordIntent inserts s as a Requested record (a conditional insert): the
// first step of every start arrops asks of ARR (commands, the warm pool,
// reservations, size fallback). resume reports whether the caller goes on
// to CreateIntent: the record is new, or it is the same intent (same origin,
// correlation id, replaced session, size and lease) left Requested by an
// earlier attempt that failed after the insert. Otherwise rec is another
// record under the id, which the caller deals with.
func RecordIntent(ctx context.Context, recs SessionRecords, s *arrops.Session) (rec *arrops.Session, resume bool, err error) {
	s.Status = arrops.SessionRequested
	rec, created, err := recs.CreateSession(ctx, s)
	if err != nil {
		return nil, false, fmt.Errorf("record the start of session %s: %w", s.ID, err)
	}
	same := rec.Origin == s.Origin && rec.CorrelationID == s.CorrelationID && rec.FallbackOf == s.FallbackOf &&
		rec.Size == s.Size && rec.MaxLeaseMinutes == s.MaxLeaseMinutes
	return rec, created || (rec.Status == arrops.SessionRequested && same), nil
}

// IntentStart is what CreateIntent did.
type IntentStart struct {
	// Session is the record as stored after the call.
	Session *arrops.Session
	// Started: ARR accepted the create (a record error may follow).
	Started bool
	// Won: this call recorded ARR's answer and claimed its announcement;
	// pass it to PublishSessionClaim.
	Won bool
	// Refused is ARR's permanent refusal of the create. ECONFLICT: ARR has
	// a session under the id with other settings, which the record now
	// adopts (origin external); any other: the intent is abandoned.
	Refused error
	// Abandoned: the watch sweep had given up on the intent (and told the
	// requester); the session ARR started late was stopped again.
	Abandoned bool
}

// CreateIntent asks ARR for the session of rec, a Requested record (the
// intent, see RecordIntent), and records ARR's answer (Starting, with its
// announcement claimed). A transient ARR failure is returned, leaving the
// intent for the next attempt or the watch sweep; a permanent one is in
// Refused, the record settled (announced as SessionError when announce:
// nobody else tells the requester). ARR answers a repeated create with the
// same settings with 200, so resuming an intent makes one session.
func CreateIntent(ctx context.Context, arrc *arr.Client, recs SessionRecords, bus Publisher, rec *arrops.Session, announce bool, now time.Time) (IntentStart, error) {
	id := rec.ID
	resp, err := arrc.CreateSession(ctx, id, arr.SessionSettings{MaxLeaseTimeMinutes: int32(rec.MaxLeaseMinutes), Size: arr.SessionSize(rec.Size)}, nil)
	switch arrops.ErrorCode(err) {
	case "":
	case arrops.ECONFLICT:
		s, cerr := adoptConflict(ctx, arrc, recs, rec, now)
		return IntentStart{Session: s, Refused: err}, cerr
	case arrops.EINVALID, arrops.ENOTFOUND, arrops.EUNAUTHORIZED:
		// Nothing was started: end the intent.
		s, _, aerr := AbandonSession(ctx, recs, bus, id, rec.CorrelationID, "ARR refused the start: "+arrops.ErrorMessage(err), announce, now)
		if aerr != nil {
			return IntentStart{}, fmt.Errorf("record that ARR refused session %s: %w", id, aerr)
		}
		return IntentStart{Session: s, Refused: err}, nil
	default:
		return IntentStart{}, fmt.Errorf("create session %s: %w", id, err)
	}
	res := IntentStart{Session: rec, Started: true}
	s, err := ModifySession(ctx, recs, id, rec, func(s *arrops.Session) (bool, error) {
		res.Won, res.Abandoned = false, Abandoned(s)
		if s.Status != arrops.SessionRequested {
			return false, nil // the sweep recorded ARR's view meanwhile, or gave up on it
		}
		Apply(s, &resp.Session, now)
		ClaimSessionAnnouncement(s, now)
		res.Won = true
		return true, nil
	})
	if err != nil {
		return res, fmt.Errorf("record session %s: %w", id, err)
	}
	res.Session = s
	if res.Abandoned {
		// A late attempt has just made ARR start what the sweep gave up on.
		if _, err := arrc.StopSession(ctx, id, nil); err != nil && arrops.ErrorCode(err) != arrops.ENOTFOUND {
			return res, fmt.Errorf("stop session %s of an abandoned start: %w", id, err)
		}
	}
	return res, nil
}

// adoptConflict handles ARR's 409 to the create of an intent: ARR already
// has a session under this id with other settings, which arrops has no
// record of (started outside arrops, not adopted yet). The record becomes
// the adoption of that session, so it is followed like any other.
func adoptConflict(ctx context.Context, arrc *arr.Client, recs SessionRecords, rec *arrops.Session, now time.Time) (*arrops.Session, error) {
	id := rec.ID
	got, err := arrc.GetSession(ctx, id, nil)
	if err != nil {
		return rec, fmt.Errorf("create session %s: conflict, then %w", id, err)
	}
	s, err := ModifySession(ctx, recs, id, rec, func(s *arrops.Session) (bool, error) {
		if s.Status != arrops.SessionRequested || s.CorrelationID != rec.CorrelationID {
			return false, nil
		}
		adopted := Adopt(&got.Session, now)
		adopted.CreatedAt, adopted.ETag = s.CreatedAt, s.ETag // the record's partition and version
		*s = *adopted
		ClaimSessionAnnouncement(s, now)
		return true, nil
	})
	if err != nil {
		return rec, fmt.Errorf("record session %s (started outside arrops): %w", id, err)
	}
	return s, nil
}
