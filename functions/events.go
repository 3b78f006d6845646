package functions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/arrops/arrops"
)

// Publisher sends messages to a queue or topic (Service Bus, or Azurite queues
// in local mode; package notify's transports satisfy it). A queue or topic
// that does not exist is an arrops.ENOTFOUND error.
type Publisher interface {
	Publish(ctx context.Context, entity string, msgs ...arrops.Message) error
}

// MessageID returns a deterministic Service Bus message id for parts (max 128
// characters): the same transition always gets the same id, so duplicate
// detection on the topic drops a republish after a crash.
func MessageID(parts ...string) string {
	s := ""
	for i, p := range parts {
		if i > 0 {
			s += "."
		}
		s += p
	}
	if len(s) <= 128 {
		return s
	}
	h := sha256.Sum256([]byte(s))
	return s[:60] + "." + hex.EncodeToString(h[:16])
}

// Announce publishes ev to the arr-events topic and, when the originating
// command had a ReplyTo, to that queue with its CorrelationId. key makes the
// message id unique per transition (e.g. the status, or the stop time of a
// warning).
func Announce(ctx context.Context, bus Publisher, ev arrops.Event, replyTo, correlationID string, key string) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	// Bounded inputs make this unreachable (TestLimitsCompose); checked so a
	// new field cannot push events past what the transports carry unnoticed.
	if err := arrops.CheckMessage("event "+string(ev.Type), body); err != nil {
		return err
	}
	id := ev.SessionID
	if ev.ArrSessionID != "" {
		id = ev.ArrSessionID // unique: a caller's name may come again later
	}
	if id == "" {
		id = ev.ConversionID
	}
	props := map[string]any{"eventType": string(ev.Type)}
	if ev.SessionID != "" {
		props["sessionId"] = ev.SessionID
	}
	if ev.ArrSessionID != "" {
		props["arrSessionId"] = ev.ArrSessionID
	}
	if ev.ConversionID != "" {
		props["conversionId"] = ev.ConversionID
	}
	if ev.RequestedBy != "" {
		props["requestedBy"] = ev.RequestedBy
	}
	if ev.Size != "" {
		props["size"] = string(ev.Size)
	}
	msg := arrops.Message{
		MessageID: MessageID(id, string(ev.Type), key), Subject: string(ev.Type),
		ContentType: "application/json", ApplicationProperties: props, Body: body,
	}
	if err := bus.Publish(ctx, arrops.EventsTopic, msg); err != nil {
		return fmt.Errorf("publish %s for %s to %s: %w", ev.Type, id, arrops.EventsTopic, err)
	}
	if replyTo != "" {
		msg.CorrelationID = correlationID
		msg.MessageID = MessageID(id, string(ev.Type), key, "reply")
		if err := bus.Publish(ctx, replyTo, msg); err != nil {
			if arrops.ErrorCode(err) == arrops.ENOTFOUND {
				// The requester removed its reply queue: it stopped listening.
				// The event is on the topic; do not retry for ever.
				Logger(ctx).Warn("reply queue gone; event published to the topic only", "replyTo", replyTo, "event", ev.Type, "id", id)
				return nil
			}
			return fmt.Errorf("publish %s for %s to reply queue %s: %w", ev.Type, id, replyTo, err)
		}
	}
	return nil
}

// StaleClaim is how old an announcement claim must be before another run
// publishes it again (the claimer probably crashed between claim and publish).
const StaleClaim = 2 * time.Minute

// ClaimSessionAnnouncement marks s's current status as to be announced when
// it has not been yet. The caller writes the record (ETag-conditional: only one
// of two racing runs wins the claim) and then calls PublishSessionClaim.
func ClaimSessionAnnouncement(s *arrops.Session, now time.Time) bool {
	if s.Announced == s.Status {
		return false
	}
	s.Announced, s.AnnounceClaimedAt = s.Status, now
	return true
}

// PublishSessionClaim publishes a pending claim on s if this run made it
// (mine) or it is stale, then clears it in the record. A failure leaves the
// claim in place, so a later run publishes it again: at least once, with
// duplicates absorbed by the deterministic message id.
func PublishSessionClaim(ctx context.Context, recs SessionRecords, bus Publisher, s *arrops.Session, now time.Time, mine bool) error {
	if s.AnnounceClaimedAt.IsZero() || (!mine && now.Sub(s.AnnounceClaimedAt) < StaleClaim) {
		return nil
	}
	ev := arrops.SessionEvent(s, now)
	ev.Type, ev.Status = arrops.SessionEventType(s.Announced), string(s.Announced)
	if err := Announce(ctx, bus, ev, s.ReplyTo, s.CorrelationID, string(s.Announced)); err != nil {
		return err
	}
	// Clear the claim. Someone else may have written the record meanwhile (a
	// tag, an extend, another sweep's unrelated change): unless they cleared
	// or replaced our claim, clear it on the fresh record, since a claim left
	// behind would be published again once stale, a duplicate event. If this
	// fails, a later run republishes under the same message id.
	announced, claimedAt := s.Announced, s.AnnounceClaimedAt
	_, err := ModifySession(ctx, recs, s.ID, s, func(s *arrops.Session) (bool, error) {
		if s.Announced != announced || s.AnnounceClaimedAt.IsZero() || s.AnnounceClaimedAt.Sub(claimedAt).Abs() >= time.Millisecond {
			return false, nil
		}
		s.AnnounceClaimedAt = time.Time{}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("clear announcement claim of %s: %w", s.ID, err)
	}
	return nil
}
