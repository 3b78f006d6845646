package arrops

import (
	"fmt"
	"strings"
	"time"
)

// SessionSize is the ARR rendering server size.
type SessionSize string

// Session sizes accepted by ARR (2021-01-01).
const (
	SizeStandard SessionSize = "Standard"
	SizePremium  SessionSize = "Premium"
)

// ParseSessionSize accepts any casing, as the service did, and returns the
// canonical name.
func ParseSessionSize(s string) (SessionSize, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "standard":
		return SizeStandard, nil
	case "premium":
		return SizePremium, nil
	}
	return "", Errorf(EINVALID, "size %q is not Standard or Premium", Clip(s, 40))
}

// SessionStatus is the lifecycle state of a session: ARR's statuses, and
// arrops' own Requested before ARR is asked.
type SessionStatus string

// Session statuses, in lifecycle order. Requested, Starting and Ready are
// active (billing runs from Ready); the others are terminal.
const (
	// SessionReserved: a reservation not yet due; arrops has asked nothing
	// of ARR. StartAt is when it must be Ready, CreatedAt when it starts.
	SessionReserved SessionStatus = "Reserved"
	// SessionRequested: arrops recorded a start command's intent and has not
	// yet recorded ARR's answer. The record is written before ARR is called,
	// so ARR never holds a session arrops started without a record; a start
	// that stops here is resumed by redelivery or ended by the watch sweep.
	SessionRequested SessionStatus = "Requested"
	SessionStarting  SessionStatus = "Starting"
	SessionReady     SessionStatus = "Ready"
	SessionStopped   SessionStatus = "Stopped"
	SessionExpired   SessionStatus = "Expired"
	SessionError     SessionStatus = "Error"
)

// Terminal reports whether no further transition can happen.
func (s SessionStatus) Terminal() bool {
	return s == SessionStopped || s == SessionExpired || s == SessionError
}

// ValidateID checks an ARR session or conversion id: letters, digits, '-' and
// '_', 1 to 256 characters.
func ValidateID(id string) error {
	if id == "" {
		return Errorf(EINVALID, "id is empty")
	}
	if len(id) > MaxIDLength {
		return tooLong("id", len(id), "characters", MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return Errorf(EINVALID, "id %q has character %q at %d; only letters, digits, '-' and '_' are allowed", Clip(id, 80), c, i)
		}
	}
	return nil
}

// ValidateLease checks a lease for start and extend (1..1440 minutes; see
// MinLeaseMinutes for why not 0).
func ValidateLease(minutes int) error {
	if minutes < MinLeaseMinutes || minutes > MaxLeaseMinutes {
		return Errorf(EINVALID, "maxLeaseTimeMinutes %d is outside %d..%d (the lease counts from Ready: 0 would end the session as it becomes Ready)", minutes, MinLeaseMinutes, MaxLeaseMinutes)
	}
	return nil
}

// Origin says who started a session.
type Origin string

const (
	// OriginCommand: started by arrops in answer to a command message.
	OriginCommand Origin = "command"
	// OriginExternal: found in ARR's list without a record (portal, scripts)
	// and adopted.
	OriginExternal Origin = "external"
	// OriginPool: started by arrops for the warm pool (requester PoolRequester)
	// before anyone asked; ClaimedBy tells whether a command took it.
	OriginPool Origin = "pool"
	// OriginReservation: reserved by a reserve command for StartAt.
	OriginReservation Origin = "reservation"
)

// PoolRequester is the requester of unclaimed pool sessions: the report
// shows their idle time and cost under it.
const PoolRequester = "pool"

// Session is arrops' record of one ARR session. It outlives ARR's own memory
// (List shows active sessions only; GET keeps finished ones for 30 days).
type Session struct {
	ID              string
	Size            SessionSize
	Status          SessionStatus
	Origin          Origin
	RequestedBy     string
	Tags            map[string]string
	MaxLeaseMinutes int
	CreatedAt       time.Time // when arrops created or adopted it (ARR creationTime when known)
	ReadyAt         time.Time // first seen Ready; zero if never
	StoppedAt       time.Time // first seen terminal; zero while active
	ElapsedMinutes  int       // as reported by ARR
	Hostname        string
	HandshakePort   int
	InspectorPort   int
	Teraflops       float64
	StopReason      string // why arrops (or someone) stopped it: policy and values, or "command"
	ErrorCode       string
	ErrorMessage    string
	// ReplyTo and CorrelationID of the command that started it, so later
	// transitions can be announced to the requester.
	ReplyTo       string
	CorrelationID string
	// Announced is the last status claimed for announcement, and
	// AnnounceClaimedAt when that claim was written (zero once the event is
	// published). The claim is an ETag-conditional write, so of two racing
	// watchers only one publishes; a claim left by a crashed process is
	// published again after a while, under the same message id.
	Announced         SessionStatus
	AnnounceClaimedAt time.Time
	// ExtendedUntil is the lease end the requester asked for with an extend
	// command; max-age and quiet-hours policies do not stop the session
	// before it (the absolute cap and the daily budget still apply).
	ExtendedUntil time.Time
	// WarnedAt is when a shutdown warning was announced for the current policy
	// window; zero if none.
	WarnedAt time.Time
	// DeadlineAt is the policy instant (a warning or a stop) a deadline
	// message is scheduled for; written before the message is sent, so two
	// writers never schedule the same instant twice.
	DeadlineAt time.Time
	// ClaimedBy is the command (its claim key) that took this pool session,
	// ClaimedAt when; both empty while the session waits in the pool. The
	// claim is one ETag-conditional write, so two commands never take the
	// same session.
	ClaimedBy string
	ClaimedAt time.Time
	// RequestedAt is when the start that got this session was asked for
	// (its command's enqueued time; zero for other origins): the report's
	// time to hostname counts from it (to ReadyAt cold, to ClaimedAt warm).
	RequestedAt time.Time
	// CallerID is the sessionId a pooled start named (empty when it named
	// none): the requester's name for the session, used in replies and
	// events (the ARR id in arrSessionId) and accepted by stop and extend.
	CallerID string
	// StartAt is when a reservation must be Ready (zero for other sessions).
	StartAt time.Time
	// FallbackOf is, on a size-fallback replacement, the session that
	// failed before Ready; FallbackID, on that session, its replacement.
	FallbackOf, FallbackID string
	UpdatedAt              time.Time
	ETag                   string // storage concurrency token; empty for new records
}

// KeepAlive reports whether the session opted out of policy stops (tag
// keepAlive=true, any casing).
func (s *Session) KeepAlive() bool {
	for k, v := range s.Tags {
		if strings.EqualFold(k, "keepAlive") && strings.EqualFold(strings.TrimSpace(v), "true") {
			return true
		}
	}
	return false
}

// PoolFree reports whether s waits unclaimed in the warm pool: exempt from
// max age and budgets, stopped when the pool window closes.
func (s *Session) PoolFree() bool { return s.Origin == OriginPool && s.ClaimedBy == "" }

// PolicyStart is when a requester's clock starts: Ready, or the claim of a
// pool session when that is later.
func (s *Session) PolicyStart() time.Time {
	if s.ClaimedAt.After(s.ReadyAt) {
		return s.ClaimedAt
	}
	return s.ReadyAt
}

// BilledMinutes returns billed minutes from Ready until the session ended or,
// while it runs, until now. Sessions never Ready bill nothing.
func (s *Session) BilledMinutes(now time.Time) float64 {
	if s.ReadyAt.IsZero() {
		return 0
	}
	end := now
	if s.Status.Terminal() && !s.StoppedAt.IsZero() {
		end = s.StoppedAt
	}
	if end.Before(s.ReadyAt) {
		return 0
	}
	return end.Sub(s.ReadyAt).Minutes()
}

func (s *Session) String() string {
	return fmt.Sprintf("session %s (%s, %s)", s.ID, s.Size, s.Status)
}
