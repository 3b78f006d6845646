package functions

import (
	"context"
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
