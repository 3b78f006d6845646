package functions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
)

// Fallback starts, for a session that ends in Error before it was ever
// Ready (ARR reports a capacity shortage that way), one replacement of Size
// for the same requester and command (ARR_FALLBACK_SIZE). The replacement's
// id is derived from the failed one (FallbackSessionID), so ARR answers a
// repeated create with 200 and the record insert is conditional: however
// often a sweep sees the failure before it is recorded, there is one
// replacement; a replacement never gets one of its own. A nil *Fallback, or
// an empty Size, is off.
type Fallback struct {
	Size      arrops.SessionSize
	FollowUps *FollowUps
}

// FallbackSessionID is the replacement id of session id.
func FallbackSessionID(id string) string {
	const suffix = "-fallback"
	if len(id)+len(suffix) <= arrops.MaxIDLength {
		return id + suffix
	}
	h := sha256.Sum256([]byte(id))
	return "fallback-" + hex.EncodeToString(h[:16])
}

// Due reports whether rec, which ARR now reports as a, gets a replacement.
func (f *Fallback) Due(rec *arrops.Session, a *arr.Session) bool {
	return f != nil && f.Size != "" && arrops.SessionStatus(a.Status) == arrops.SessionError && rec.ReadyAt.IsZero() &&
		!rec.Status.Terminal() && rec.FallbackOf == "" && rec.Size != f.Size &&
		(rec.Origin == arrops.OriginCommand || rec.Origin == arrops.OriginReservation)
}

// Start starts rec's replacement, records it (FallbackOf, and FallbackID on
// rec), announces SessionStarting to the topic and the requester, and
// answers the requester's ReplyTo with a reply naming the new session and
// why. Call it before rec's Error is recorded: a crash in between leaves rec
// active, so the next sweep comes back here and finds the replacement.
func (f *Fallback) Start(ctx context.Context, arrc *arr.Client, recs SessionRecords, bus Publisher, rec *arrops.Session, a *arr.Session, now time.Time, log *slog.Logger) error {
	id := FallbackSessionID(rec.ID)
	code, msg := "", ""
	if a.Error != nil {
		code, msg = a.Error.Code, a.Error.Message
	}
	reason := fmt.Sprintf("size fallback: %s (%s) ended in Error before Ready (%s: %s); replaced by %s (%s)", rec.ID, rec.Size, code, msg, id, f.Size)
	// Intent first, as for a command's start: the Requested record exists
	// before ARR is asked; a sweep that fails after the insert leaves rec
	// active, so the next one comes back here and carries the intent on.
	stored, resume, err := RecordIntent(ctx, recs, &arrops.Session{ID: id, Size: f.Size, Origin: rec.Origin, RequestedBy: rec.RequestedBy, Tags: rec.Tags,
		MaxLeaseMinutes: rec.MaxLeaseMinutes, CreatedAt: now, ReplyTo: rec.ReplyTo, CorrelationID: rec.CorrelationID, FallbackOf: rec.ID})
	if err != nil {
		return err
	}
	if stored.FallbackOf != rec.ID {
		log.Warn("size fallback: the replacement id is taken", "sessionId", rec.ID, "fallbackId", id)
		return nil
	}
	if err := modifySession(ctx, recs, rec, func(x *arrops.Session) bool {
		if x.FallbackID == id {
			return false
		}
		x.FallbackID = id
		return true
	}); err != nil {
		return err
	}
	created := false
	if resume {
		res, err := CreateIntent(ctx, arrc, recs, bus, stored, false, now)
		if err != nil {
			return fmt.Errorf("start fallback %s: %w", id, err)
		}
		if res.Refused != nil || res.Abandoned {
			// Recorded in the replacement's record (Error, StartAbandoned).
			log.Warn("size fallback refused by ARR", "sessionId", rec.ID, "fallbackId", id, "err", res.Refused)
			return nil
		}
		stored, created = res.Session, res.Won
	}
	if stored.Status.Terminal() {
		return nil // refused or abandoned earlier: nothing to tell
	}
	if created {
		log.Info("size fallback started", "sessionId", rec.ID, "fallbackId", id, "size", f.Size, "errorCode", code)
	}
	if stored.ReplyTo != "" {
		ev := arrops.SessionEvent(stored, now)
		reply, _ := json.Marshal(arrops.CommandReply{Outcome: arrops.OutcomeAccepted, Action: arrops.ActionStart, SessionID: id, Reason: reason, Session: &ev})
		err := bus.Publish(ctx, stored.ReplyTo, arrops.Message{MessageID: MessageID("reply", "fallback", id), CorrelationID: stored.CorrelationID,
			Subject: "CommandReply", ContentType: "application/json", Body: reply,
			ApplicationProperties: map[string]any{"outcome": string(arrops.OutcomeAccepted), "sessionId": id, "action": string(arrops.ActionStart), "fallbackOf": rec.ID}})
		if err != nil && arrops.ErrorCode(err) != arrops.ENOTFOUND {
			return fmt.Errorf("reply fallback %s: %w", id, err)
		}
	}
	if err := PublishSessionClaim(ctx, recs, bus, stored, now, created); err != nil {
		return err
	}
	KickFollowUps(ctx, f.FollowUps, now, log)
	return nil
}
