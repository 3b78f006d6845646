package arrops

import (
	"encoding/json"
	"time"
)

// DueKind says what a due message asks the handler to look at.
type DueKind string

// Due message kinds. Later kinds (pool window edges, reservation starts) join
// these on the same queue and function.
const (
	// DueFollowUp: sweep ARR again (one List for every session, a GET per
	// running conversion) while anything is in transition. Gen names the
	// link of the follow-up chain the message belongs to.
	DueFollowUp DueKind = "followup"
	// DueDeadline: evaluate the policies of one session (SessionID) now.
	DueDeadline DueKind = "deadline"
	// DuePool: look at the warm pool now (a window edge, its lead, or a
	// replacement after a claim): start, renew or stop pool sessions.
	DuePool DueKind = "pool"
	// DueReservation: start reservation SessionID now, if it is still
	// reserved.
	DueReservation DueKind = "reservation"
)

// DueMessage is a delayed message arrops sends itself on the arr-due queue.
// It carries only what to look at: on delivery the handler re-reads the
// records and decides afresh, so a stale, repeated or early message does no
// harm. Its JSON is deterministic (same message, same text).
type DueMessage struct {
	Kind DueKind `json:"kind"`
	// Gen is the follow-up chain link (DueFollowUp).
	Gen int64 `json:"gen,omitempty"`
	// SessionID is the session a deadline is for (DueDeadline).
	SessionID string `json:"sessionId,omitempty"`
	// At is when the message is due. A queue delays a message by at most 7
	// days; a message delivered well before At is scheduled again.
	At time.Time `json:"at"`
}

// MaxDueMessageBytes bounds a due message: far above what arrops writes,
// far below the queue's 64 KiB.
const MaxDueMessageBytes = 4096

// ParseDueMessage decodes and checks a due message.
func ParseDueMessage(b []byte) (DueMessage, error) {
	var m DueMessage
	if len(b) > MaxDueMessageBytes {
		return m, Errorf(EINVALID, "due message of %d bytes exceeds %d", len(b), MaxDueMessageBytes)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, Errorf(EINVALID, "due message is not JSON: %v", err)
	}
	switch m.Kind {
	case DueFollowUp:
		if m.Gen <= 0 {
			return m, Errorf(EINVALID, "follow-up without a positive gen")
		}
	case DuePool:
	case DueDeadline, DueReservation:
		if err := ValidateID(m.SessionID); err != nil {
			return m, Errorf(EINVALID, "%s: session %s", m.Kind, ErrorMessage(err))
		}
	default:
		return m, Errorf(EINVALID, "due message of unknown kind %q", m.Kind)
	}
	if m.At.IsZero() {
		return m, Errorf(EINVALID, "due message without at")
	}
	m.At = m.At.UTC()
	return m, nil
}

// FollowUpChain is the claim record of the one follow-up chain: which link
// (Gen) is live and when it is due. Every link, every start of a chain and
// every nudge by a command is an ETag-conditional write of this one record,
// so however many commands, redeliveries, crashed or scaled-out handlers
// there are, at most one message of the current generation exists.
type FollowUpChain struct {
	// Gen is the live link; a follow-up message of another Gen is stale.
	Gen int64
	// DueAt is when link Gen is due; zero once the chain ended.
	DueAt time.Time
	// Nudges counts writes that only tell a running link "look again":
	// a command recorded a transition while the chain was live, so a link
	// that read the record before cannot end the chain (its conditional
	// write fails) without sweeping once more.
	Nudges    int64
	UpdatedAt time.Time
	ETag      string // storage concurrency token; empty before the first write
}

// Live reports whether the chain has a link due within [now-grace, now+period]:
// a command or timer then leaves it alone.
func (c *FollowUpChain) Live(now time.Time, period, grace time.Duration) bool {
	return !c.DueAt.IsZero() && !c.DueAt.Before(now.Add(-grace)) && !c.DueAt.After(now.Add(period+grace))
}
