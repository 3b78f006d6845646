// Package commands is the `commands` function: it starts, stops and extends
// ARR sessions, and converts input blobs again (convert.go), on request of
// other apps (Service Bus queue arr-commands).
//
// Every delivery leaves one audit row. Permanent problems (bad JSON, unknown
// action, invalid size or lease, an id that exists with other settings, any
// other refusal by ARR including a missing role: arrops.EINVALID, ENOTFOUND,
// ECONFLICT, EUNAUTHORIZED) are recorded, answered to ReplyTo, and
// acknowledged; transient ones (ARR 408/429/5xx, storage errors) fail the
// invocation so the host redelivers it.
//
// Intent first: a start records the session as Requested (a conditional
// insert) before ARR is called, then creates the ARR session, then records
// ARR's answer (Starting). A delivery that fails between the steps leaves the
// Requested record; the next delivery of the message finds it and carries on,
// and if none comes the watch sweep settles it (functions.RequestedGrace). So
// arrops never holds an ARR session without a record.
//
// Storage and bus errors are classified like ARR's: a permanent one (the
// record or the message is refused) rejects and answers the command instead
// of retrying it into the dead-letter queue, and the last delivery before the
// dead-letter queue answers too (see settle).
//
// Idempotency: a start without sessionId gets an id derived from MessageId;
// the Requested record is keyed by it, so a redelivered start creates one
// session and one record, and answers "accepted" again.
package commands

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
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/trigger"
)

// Binding is the trigger binding name in function.json.
const Binding = "cmd"

// Records is the part of the store the function uses.
type Records interface {
	functions.SessionRecords
	AppendAudit(ctx context.Context, a arrops.CommandAudit) error
}

// Deps are the function's collaborators, built lazily by the handler.
type Deps struct {
	Config  *config.Config
	ARR     *functions.Lazy[*arr.Client]
	Records *functions.Lazy[Records]
	Bus     *functions.Lazy[functions.Publisher]
	// Convert runs the convert action (convert.Deps.Request); nil rejects it.
	Convert functions.Converter
	Now     func() time.Time
	// FollowUps is kicked after a start or a stop is recorded, so the
	// session's next transition is seen within seconds.
	FollowUps *functions.FollowUps
	// Deadlines re-arms a session's policy instant after an extend.
	Deadlines *functions.Deadlines
	// Pool hands out warm pool sessions (nil or size 0: every start is cold).
	Pool *functions.Pool
	// Reservations records and schedules reserve commands (nil: reserve is
	// refused).
	Reservations *functions.Reservations
}

// New returns the function.
func New(d Deps) functions.Func {
	return func(ctx context.Context, inv *trigger.Invocation, _ *trigger.Response, log *slog.Logger) error {
		h := &run{Deps: d, log: log}
		return h.settle(ctx, h.handle(ctx, inv))
	}
}

type run struct {
	Deps
	log  *slog.Logger
	msg  trigger.ServiceBusMessage
	cmd  arrops.Command
	rec  Records
	bus  functions.Publisher
	now  time.Time
	arrc *arr.Client
	// id is the session the command is about, once known; intent is set
	// when this message's Requested record exists (see start); audited
	// when this delivery's audit row is written.
	id      string
	intent  bool
	audited bool
	conv    *arrops.Conversion // the convert action's record, for the audit row and reply
	// pooled is set on a start while a pool is configured, for the reply.
	pooled *bool
	// caller is the caller's own name for session id (a pool session
	// claimed by a start that named its sessionId): replies name it.
	caller string
}

// MaxDeliveries is the arr-commands queue's maxDeliveryCount
// (infra/modules/servicebus.bicep, devhost's default): the delivery that
// would otherwise be dead-lettered answers instead (see settle).
const MaxDeliveries = 10

func (h *run) handle(ctx context.Context, inv *trigger.Invocation) error {
	h.now = h.Now().UTC()
	var err error
	if h.rec, err = h.Records.Get(ctx); err != nil {
		return fmt.Errorf("open records: %w", err)
	}
	if h.bus, err = h.Bus.Get(ctx); err != nil {
		return fmt.Errorf("open messaging: %w", err)
	}
	h.msg, err = inv.ServiceBusMessage(Binding)
	if err != nil {
		// Not even the message envelope decodes: record what we can.
		id, _ := inv.MetaString("MessageId")
		return h.finish(ctx, arrops.OutcomeRejected, "", fmt.Sprintf("undecodable message: %v", err), nil, id)
	}
	h.log = h.log.With("messageId", h.msg.MessageID, "deliveryCount", h.msg.DeliveryCount)
	if err := arrops.ValidateReplyTo(h.msg.ReplyTo); err != nil {
		// Nowhere to answer: the audit row is the only answer.
		h.msg.ReplyTo = ""
		return h.finish(ctx, arrops.OutcomeRejected, "", arrops.ErrorMessage(err)+"; no reply sent", nil, "")
	}
	h.cmd, err = arrops.ParseCommand(h.msg.Body)
	if err != nil {
		return h.finish(ctx, arrops.OutcomeRejected, "", arrops.ErrorMessage(err), nil, "")
	}
	if h.cmd.Action == arrops.ActionConvert {
		return h.convert(ctx)
	}
	if h.arrc, err = h.ARR.Get(ctx); err != nil {
		return fmt.Errorf("open ARR client: %w", err)
	}
	switch h.cmd.Action {
	case arrops.ActionStart:
		return h.start(ctx)
	case arrops.ActionStop:
		return h.stop(ctx)
	case arrops.ActionReserve:
		return h.reserve(ctx)
	default:
		return h.extend(ctx)
	}
}

// SessionIDFromMessage derives a valid, deterministic session id from a
// Service Bus MessageId: kept as is when it is already valid, otherwise hashed.
func SessionIDFromMessage(messageID string) string {
	if arrops.ValidateID(messageID) == nil && len(messageID) <= 128 {
		return messageID
	}
	sum := sha256.Sum256([]byte(messageID))
	return "msg-" + hex.EncodeToString(sum[:16])
}

// startParams returns the id (empty without sessionId and MessageId), size
// and lease of a start or reserve.
func (h *run) startParams() (id string, size arrops.SessionSize, lease int) {
	id = h.cmd.SessionID
	if id == "" && h.msg.MessageID != "" {
		id = SessionIDFromMessage(h.msg.MessageID)
	}
	size = h.Config.DefaultSize
	if h.cmd.Size != "" {
		size = arrops.SessionSize(h.cmd.Size)
	}
	lease = h.Config.DefaultLease
	if h.cmd.MaxLeaseTimeMinutes != nil {
		lease = *h.cmd.MaxLeaseTimeMinutes
	}
	return id, size, lease
}

// reserve records a reservation for StartAt and schedules its start ahead of
// it by the observed start time of its size; a StartAt that leaves less
// than that is a cold start now.
func (h *run) reserve(ctx context.Context) error {
	id, size, lease := h.startParams()
	h.id = id
	if id == "" {
		return h.finish(ctx, arrops.OutcomeRejected, "", "reserve without sessionId needs a MessageId to derive one from", nil, "")
	}
	if h.Reservations == nil {
		return h.finish(ctx, arrops.OutcomeRejected, id, "reservations are not available in this deployment", nil, "")
	}
	startAt := *h.cmd.StartAt
	if startAt.Sub(h.now) > arrops.MaxReserveAhead {
		return h.finish(ctx, arrops.OutcomeRejected, id, fmt.Sprintf("startAt %s is more than %d days ahead", startAt.Format(time.RFC3339), int(arrops.MaxReserveAhead.Hours()/24)), nil, "")
	}
	lead, err := h.Reservations.Lead(ctx, size, h.now)
	if err != nil {
		return err
	}
	if !startAt.Add(-lead).After(h.now) {
		return h.start(ctx) // due now or past: a cold start
	}
	s := &arrops.Session{ID: id, Size: size, Status: arrops.SessionReserved, Origin: arrops.OriginReservation,
		RequestedBy: h.cmd.RequestedBy, Tags: h.cmd.Tags, MaxLeaseMinutes: lease, CreatedAt: startAt.Add(-lead), StartAt: startAt,
		ReplyTo: h.msg.ReplyTo, CorrelationID: h.msg.MessageID}
	stored, created, err := h.rec.CreateSession(ctx, s)
	if err != nil {
		return fmt.Errorf("record reservation %s: %w", id, err)
	}
	if !created && (stored.Origin != arrops.OriginReservation || stored.CorrelationID != h.msg.MessageID) {
		return h.finish(ctx, arrops.OutcomeRejected, id, fmt.Sprintf("session %s already exists", id), nil, "")
	}
	if stored.Status == arrops.SessionReserved {
		// Also on redelivery: a message lost between the record and here is
		// sent again (a duplicate finds the start claimed and does nothing).
		if err := h.Reservations.Schedule(ctx, stored); err != nil {
			return fmt.Errorf("schedule reservation %s: %w", id, err)
		}
	}
	reason := fmt.Sprintf("reserved for %s; starts at %s", stored.StartAt.Format(time.RFC3339), stored.CreatedAt.Format(time.RFC3339))
	return h.finish(ctx, arrops.OutcomeAccepted, id, reason, stored, "")
}

func (h *run) start(ctx context.Context) error {
	id, size, lease := h.startParams()
	if id == "" {
		return h.finish(ctx, arrops.OutcomeRejected, "", "start without sessionId needs a MessageId to derive one from", nil, "")
	}
	h.id = id
	if h.Pool.Enabled() && h.cmd.Action == arrops.ActionStart {
		if done, err := h.startPooled(ctx, id, size, lease); done || err != nil {
			return err
		}
	}
	// Intent first: the record exists before ARR is asked, so no failure
	// after the ARR call can leave a session nobody knows of.
	rec, resume, err := functions.RecordIntent(ctx, h.rec, &arrops.Session{
		ID: id, Size: size, Origin: arrops.OriginCommand,
		RequestedBy: h.cmd.RequestedBy, Tags: h.cmd.Tags, MaxLeaseMinutes: lease, CreatedAt: h.now,
		ReplyTo: h.msg.ReplyTo, CorrelationID: h.msg.MessageID, RequestedAt: h.requestedAt(),
	})
	if err != nil {
		return err
	}
	mine := h.msg.MessageID != "" && rec.Origin == arrops.OriginCommand && rec.CorrelationID == h.msg.MessageID
	switch {
	case resume:
		// This message's intent, new or left by an earlier delivery: go on.
		h.intent = true
		return h.create(ctx, rec)
	case mine:
		// An earlier delivery of this message recorded ARR's answer and
		// may have failed after it: finish its announcement (the same
		// message id, so a duplicate is absorbed) and answer as it would
		// have: every delivery of the command that started the session is
		// accepted, so a requester whose first answer was lost hears it.
		if err := functions.PublishSessionClaim(ctx, h.rec, h.bus, rec, h.now, true); err != nil {
			return err
		}
		return h.finish(ctx, arrops.OutcomeAccepted, id, fmt.Sprintf("redelivery: session already %s", rec.Status), rec, "")
	case rec.Status == arrops.SessionRequested:
		// Another command's start of this id is under way; ARR may not know
		// it yet, so ARR cannot be asked to compare the settings.
		if rec.Size == size && rec.MaxLeaseMinutes == lease {
			return h.finish(ctx, arrops.OutcomeNoop, id, fmt.Sprintf("session %s is being started by another command with the same settings", id), rec, "")
		}
		return h.finish(ctx, arrops.OutcomeRejected, id, fmt.Sprintf("session %s is being started by another command with other settings", id), rec, "")
	case rec.Status.Terminal():
		return h.finish(ctx, arrops.OutcomeRejected, id, fmt.Sprintf("session %s already ended (%s); a session id cannot be used again", id, rec.Status), rec, "")
	}
	// A running session of another command or started outside arrops: ARR
	// says whether the settings match (200) or not (409). It has a record,
	// so nothing started here can be lost.
	_, err = h.arrc.CreateSession(ctx, id, arr.SessionSettings{MaxLeaseTimeMinutes: int32(lease), Size: arr.SessionSize(size)}, nil)
	switch arrops.ErrorCode(err) {
	case "":
		return h.finish(ctx, arrops.OutcomeNoop, id, "session already exists with the same settings", rec, "")
	case arrops.ECONFLICT:
		return h.finish(ctx, arrops.OutcomeRejected, id, fmt.Sprintf("session %s already exists with other settings (ARR 409 Conflict)", id), rec, "")
	case arrops.EINVALID, arrops.ENOTFOUND, arrops.EUNAUTHORIZED:
		return h.refused(ctx, id, err, rec)
	default:
		return fmt.Errorf("create session %s: %w", id, err)
	}
}

// create asks ARR for the session of a Requested record of this message and
// records ARR's answer (functions.CreateIntent), then answers.
func (h *run) create(ctx context.Context, rec *arrops.Session) error {
	id := rec.ID
	res, err := functions.CreateIntent(ctx, h.arrc, h.rec, h.bus, rec, false, h.now)
	s := res.Session
	switch {
	case err != nil && res.Started && !res.Abandoned && arrops.Permanent(err):
		// ARR started it and the record says Requested: the watch sweep
		// lists the session and records it. Say so rather than retry.
		h.log.Error("session started, recording ARR's answer failed", "sessionId", id, "err", err)
		return h.finish(ctx, arrops.OutcomeAccepted, id, fmt.Sprintf("session starting; recording ARR's answer failed (%s), the watch sweep records it", arrops.ErrorMessage(err)), rec, "")
	case err != nil:
		return err
	case arrops.ErrorCode(res.Refused) == arrops.ECONFLICT:
		// ARR has the id with other settings: the record adopted it.
		return h.finish(ctx, arrops.OutcomeRejected, id, fmt.Sprintf("session %s already exists with other settings (ARR 409 Conflict)", id), s, "")
	case res.Refused != nil:
		return h.refused(ctx, id, res.Refused, s) // the intent is abandoned (no event: the reply says it)
	case res.Abandoned:
		return h.finish(ctx, arrops.OutcomeRejected, id, "the start was abandoned before ARR answered (see the SessionError event); the session ARR started late was stopped", s, "")
	}
	if err := functions.PublishSessionClaim(ctx, h.rec, h.bus, s, h.now, res.Won); err != nil {
		if !arrops.Permanent(err) {
			return err
		}
		h.log.Error("session started, its event cannot be published; the watch sweep retries", "sessionId", id, "err", err)
	}
	if !s.Status.Terminal() {
		functions.KickFollowUps(ctx, h.FollowUps, h.now, h.log)
	}
	return h.finish(ctx, arrops.OutcomeAccepted, id, "session starting", s, "")
}

// startPooled hands a Ready pool session to the start when one is free:
// claim (one conditional write), lease from the claim, reply "accepted" with
// the hostname, SessionReady, and a replacement for the pool. done is false
// when the start is cold ("pool": false, or the id already has a record).
// The claim key is the id a cold start would get: the caller's sessionId,
// or the one derived from the message; stop and extend by it find the pool
// session (ClaimedBy).
func (h *run) startPooled(ctx context.Context, key string, size arrops.SessionSize, lease int) (done bool, err error) {
	cold := false
	h.pooled = &cold
	if h.cmd.Pool != nil && !*h.cmd.Pool {
		return false, nil
	}
	recs, err := h.Pool.Records.Get(ctx)
	if err != nil {
		return false, fmt.Errorf("open records: %w", err)
	}
	if _, err := h.rec.GetSession(ctx, key); err == nil {
		return false, nil // the id is taken (an earlier delivery started it cold): as a cold start would
	} else if err != nil && arrops.ErrorCode(err) != arrops.ENOTFOUND {
		return false, fmt.Errorf("read session %s: %w", key, err)
	}
	s, fresh, err := h.Pool.Claim(ctx, recs, functions.PoolClaim{Key: key, CallerID: h.cmd.SessionID, Size: size, LeaseMinutes: lease,
		RequestedBy: h.cmd.RequestedBy, Tags: h.cmd.Tags, ReplyTo: h.msg.ReplyTo, CorrelationID: h.msg.MessageID, RequestedAt: h.requestedAt()}, h.now)
	if err != nil || s == nil {
		return false, err
	}
	warm := true
	h.pooled = &warm
	h.id, h.caller = s.ID, s.CallerID
	if !fresh && s.CorrelationID != h.msg.MessageID {
		// Another command claimed under the same sessionId: as for a cold
		// start of an existing id with the same settings.
		return true, h.finish(ctx, arrops.OutcomeNoop, s.ID, fmt.Sprintf("session %s is pool session %s, claimed by another command", key, s.ID), s, "")
	}
	if err := functions.ClaimLease(ctx, h.arrc, h.rec, s, lease, h.now); err != nil {
		return true, err // transient: the redelivery finds its claim and carries on
	}
	if fresh {
		if err := h.Pool.Replenish(ctx, h.now); err != nil {
			h.log.Warn("pool replacement not scheduled; the watch timer starts it", "err", err)
		}
	}
	if err := h.finish(ctx, arrops.OutcomeAccepted, s.ID, "pool session "+s.ID+" claimed", s, ""); err != nil {
		return true, err
	}
	ev := arrops.SessionEvent(s, h.now)
	if err := functions.Announce(ctx, h.bus, ev, s.ReplyTo, s.CorrelationID, "claimed."+key); err != nil {
		return true, err
	}
	return true, nil
}

// requestedAt is when the start was asked for: the message's enqueued time
// (now when the host did not say, or a clock put it ahead).
func (h *run) requestedAt() time.Time {
	if t := h.msg.EnqueuedTime; !t.IsZero() && !t.After(h.now) {
		return t.UTC()
	}
	return h.now
}

// resolve maps a sessionId the caller gave a pooled start to the pool
// session it claimed; other ids are returned as they are.
func (h *run) resolve(ctx context.Context, id string) (string, error) {
	if _, err := h.rec.GetSession(ctx, id); arrops.ErrorCode(err) != arrops.ENOTFOUND || h.Pool == nil {
		return id, nil
	}
	recs, err := h.Pool.Records.Get(ctx)
	if err != nil {
		return "", fmt.Errorf("open records: %w", err)
	}
	if s, err := functions.ClaimedSession(ctx, recs, id, h.now); err != nil {
		return "", err
	} else if s != nil {
		h.caller = s.CallerID
		return s.ID, nil
	}
	return id, nil
}

func (h *run) stop(ctx context.Context) error {
	id, err := h.resolve(ctx, h.cmd.SessionID)
	if err != nil {
		return err
	}
	h.id = id
	rec, err := h.rec.GetSession(ctx, id)
	if err != nil && arrops.ErrorCode(err) != arrops.ENOTFOUND {
		return fmt.Errorf("read session %s: %w", id, err)
	}
	by := h.cmd.RequestedBy
	if by == "" {
		by = "unnamed requester"
	}
	// The message id in the reason lets a redelivery of this very command
	// (whose first attempt stopped the session and then failed) answer
	// "accepted" again instead of "already stopped".
	reason := fmt.Sprintf("stopped by command from %s (message %s)", by, h.msg.MessageID)
	cancel := "reservation cancelled by command from " + by + " (message " + h.msg.MessageID + ")"
	if rec != nil && rec.Status.Terminal() && (rec.StopReason == reason || rec.StopReason == cancel) {
		return h.finish(ctx, arrops.OutcomeAccepted, id, rec.StopReason, rec, "")
	}
	if rec != nil && rec.Status.Terminal() {
		return h.finish(ctx, arrops.OutcomeNoop, id, fmt.Sprintf("session is already %s", rec.Status), rec, "")
	}
	if rec != nil && rec.Status == arrops.SessionReserved {
		cancelled, claimed, err := functions.CancelReservation(ctx, h.rec, rec, cancel, h.now)
		if err != nil {
			return err
		}
		if cancelled {
			if err := functions.PublishSessionClaim(ctx, h.rec, h.bus, rec, h.now, claimed); err != nil {
				return err
			}
			return h.finish(ctx, arrops.OutcomeAccepted, id, cancel, rec, "")
		}
		// Its start was claimed first: stop it in ARR like any session.
	}

	_, err = h.arrc.StopSession(ctx, id, nil)
	switch arrops.ErrorCode(err) {
	case "":
	case arrops.ENOTFOUND:
		return h.finish(ctx, arrops.OutcomeNoop, id, "unknown session: ARR has no session with this id", rec, "")
	case arrops.EINVALID, arrops.ECONFLICT, arrops.EUNAUTHORIZED:
		return h.refused(ctx, id, err, rec)
	default:
		return fmt.Errorf("stop session %s: %w", id, err)
	}
	s, claimed, err := functions.Finalize(ctx, h.arrc, h.rec, rec, id, reason, h.now)
	if err != nil {
		return err
	}
	if err := functions.PublishSessionClaim(ctx, h.rec, h.bus, s, h.now, claimed); err != nil {
		return err
	}
	// ARR may list the session a little longer; one follow-up confirms it.
	functions.KickFollowUps(ctx, h.FollowUps, h.now, h.log)
	return h.finish(ctx, arrops.OutcomeAccepted, id, reason, s, "")
}

func (h *run) extend(ctx context.Context) error {
	lease := *h.cmd.MaxLeaseTimeMinutes
	id, err := h.resolve(ctx, h.cmd.SessionID)
	if err != nil {
		return err
	}
	h.id = id
	resp, err := h.arrc.UpdateSession(ctx, id, int32(lease), nil)
	switch arrops.ErrorCode(err) {
	case "":
	case arrops.ENOTFOUND:
		return h.finish(ctx, arrops.OutcomeRejected, id, "unknown session: ARR has no session with this id", nil, "")
	case arrops.EINVALID, arrops.ECONFLICT, arrops.EUNAUTHORIZED:
		return h.refused(ctx, id, err, nil)
	default:
		return fmt.Errorf("extend session %s: %w", id, err)
	}
	s, err := h.rec.GetSession(ctx, id)
	if arrops.ErrorCode(err) == arrops.ENOTFOUND {
		// Started outside arrops and not adopted yet: adopt it now.
		if s, _, err = h.rec.CreateSession(ctx, functions.Adopt(&resp.Session, h.now)); err != nil {
			return fmt.Errorf("adopt session %s: %w", id, err)
		}
	} else if err != nil {
		return fmt.Errorf("read session %s: %w", id, err)
	}
	s, err = functions.ModifySession(ctx, h.rec, id, s, func(s *arrops.Session) (bool, error) {
		functions.Apply(s, &resp.Session, h.now)
		s.MaxLeaseMinutes = lease
		base := s.ReadyAt
		if base.IsZero() {
			base = h.now
		}
		s.ExtendedUntil = base.Add(time.Duration(lease) * time.Minute)
		s.WarnedAt = time.Time{}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("record extension of %s: %w", id, err)
	}
	// The stop moved: its warning and stop instants move with it.
	if _, err := h.Deadlines.Arm(ctx, []*arrops.Session{s}, h.now); err != nil {
		h.log.Warn("deadline not re-armed after extend; the shutdown sweep will", "sessionId", id, "err", err)
	}
	return h.finish(ctx, arrops.OutcomeAccepted, id, fmt.Sprintf("lease extended to %d minutes", lease), s, "")
}

// finish writes the audit row and answers ReplyTo. messageID overrides the
// message's own id when the message did not decode.
func (h *run) finish(ctx context.Context, outcome arrops.Outcome, sessionID, reason string, s *arrops.Session, messageID string) error {
	if messageID == "" {
		messageID = h.msg.MessageID
	}
	arrID := ""
	if h.caller != "" && sessionID == h.id {
		// The caller's name for the session; ARR's id beside it.
		sessionID, arrID = h.caller, h.id
	}
	if messageID == "" {
		// Without an id there is no idempotency key; the host always sets one,
		// so this is a broken delivery: key the row by content instead.
		sum := sha256.Sum256(h.msg.Body)
		messageID = "nomsgid-" + hex.EncodeToString(sum[:12])
	}
	// A rejected command may carry anything: what is written and sent back
	// is held to the limits, so the answer itself cannot fail on size.
	reason = arrops.Clip(reason, arrops.MaxTextBytes)
	action, by := h.cmd.Action, h.cmd.RequestedBy
	if arrops.ValidateRequestedBy(by) != nil {
		by = arrops.Clip(by, arrops.MaxTextBytes)
	}
	if len(action) > 16 {
		action = arrops.Action(arrops.Clip(string(action), 16))
	}
	a := arrops.CommandAudit{
		MessageID: messageID, DeliveryCount: h.msg.DeliveryCount, InvocationID: functions.InvocationID(ctx), Action: action,
		SessionID: sessionID, RequestedBy: by, Outcome: outcome, Reason: reason, At: h.now,
	}
	if h.conv != nil {
		a.ConversionID = h.conv.ID
	}
	// auditErr is a permanent failure to write the row: then the reply is
	// the only record, and without one the message must stay (non-2xx, the
	// host retries and finally dead-letters it) rather than vanish.
	var auditErr error
	if err := h.rec.AppendAudit(ctx, a); err != nil {
		if !arrops.Permanent(err) {
			return fmt.Errorf("write audit row: %w", err)
		}
		auditErr = fmt.Errorf("write audit row: %w", err)
		h.log.Error("audit row cannot be written; answering anyway", "outcome", outcome, "reason", reason, "err", err)
	} else {
		h.audited = true
	}
	h.log.Info("command", "action", a.Action, "sessionId", sessionID, "outcome", outcome, "reason", reason)
	if h.msg.ReplyTo == "" {
		return auditErr
	}
	reply := arrops.CommandReply{Outcome: outcome, Reason: reason, Action: action, SessionID: sessionID}
	if arrID != "" {
		reply.ArrSessionID = arrID
	}
	if outcome == arrops.OutcomeAccepted || outcome == arrops.OutcomeNoop {
		reply.Pooled = h.pooled
	}
	if s != nil {
		ev := arrops.SessionEvent(s, h.now)
		reply.Session = &ev
	}
	if h.conv != nil {
		reply.ConversionID = h.conv.ID
	}
	body, _ := json.Marshal(reply)
	if err := arrops.CheckMessage("reply", body); err != nil {
		return err // unreachable with bounded inputs (TestLimitsCompose)
	}
	err := h.bus.Publish(ctx, h.msg.ReplyTo, arrops.Message{
		MessageID: functions.MessageID("reply", messageID), CorrelationID: h.msg.MessageID,
		Subject: "CommandReply", ContentType: "application/json", Body: body,
		ApplicationProperties: map[string]any{"outcome": string(outcome), "sessionId": sessionID, "action": string(action)},
	})
	if arrops.ErrorCode(err) == arrops.ENOTFOUND {
		h.log.Warn("reply queue gone; the outcome is in the audit row", "replyTo", h.msg.ReplyTo)
		return auditErr
	}
	if err != nil && arrops.Permanent(err) {
		h.log.Error("reply cannot be sent; the outcome is in the audit row", "replyTo", h.msg.ReplyTo, "err", err)
		return auditErr
	}
	if err != nil {
		return fmt.Errorf("reply to %s: %w", h.msg.ReplyTo, err)
	}
	return nil
}

// settle turns a failed delivery into an answer when retrying cannot help:
// the error is permanent (a storage or bus refusal: retries would only
// dead-letter the message), or this is the last delivery before the
// dead-letter queue. The command is then rejected with the reason, recorded
// and answered, and a start's Requested record is abandoned (announced as
// SessionError; if ARR started the session after all, the watch sweep stops
// it). Other errors are returned: the host redelivers the message.
//
// Only when even that answer cannot be recorded on the last delivery does the
// message reach the dead-letter queue (README: "Dead letters").
func (h *run) settle(ctx context.Context, err error) error {
	last := h.msg.DeliveryCount >= MaxDeliveries
	if err == nil || (!last && !arrops.Permanent(err)) || h.rec == nil || h.bus == nil {
		return err // (without records or bus nothing can be recorded or sent)
	}
	if h.audited {
		// Only the reply failed: the outcome is recorded.
		h.log.Error("reply cannot be sent; the outcome is in the audit row", "replyTo", h.msg.ReplyTo, "err", err)
		return nil
	}
	reason := fmt.Sprintf("cannot complete the %s: %s", h.cmd.Action, arrops.ErrorMessage(err))
	if last && !arrops.Permanent(err) {
		reason = fmt.Sprintf("gave up after %d deliveries: %s", h.msg.DeliveryCount, arrops.ErrorMessage(err))
	}
	h.log.Error("command failed for good; rejecting it", "reason", reason, "err", err)
	var s *arrops.Session
	if h.intent {
		var aerr error
		s, _, aerr = functions.AbandonSession(ctx, h.rec, h.bus, h.id, h.msg.MessageID, reason, true, h.now)
		if aerr != nil {
			// The sweep abandons it after functions.RequestedGrace.
			h.log.Error("cannot abandon the recorded start; the watch sweep will", "sessionId", h.id, "err", aerr)
			s = nil
		}
	}
	if ferr := h.finish(ctx, arrops.OutcomeRejected, h.id, reason, s, ""); ferr != nil {
		if h.audited {
			return nil // recorded; the reply could not be sent
		}
		return fmt.Errorf("%w (and recording the rejection failed: %v)", err, ferr)
	}
	return nil
}

// refused records and answers a command ARR refused for good (see
// arr.Classify). The reason keeps ARR's status, code, message and MS-CV. A
// credential or role failure (EUNAUTHORIZED) is answered the same way, so the
// requester hears at once instead of after the host's retries dead-letter the
// message, and is logged at error level: the operator must fix the
// deployment, and the requester may then send the command again.
func (h *run) refused(ctx context.Context, id string, err error, rec *arrops.Session) error {
	reason := fmt.Sprintf("ARR refused the %s: %s", h.cmd.Action, arrops.ErrorMessage(err))
	if arrops.ErrorCode(err) == arrops.EUNAUTHORIZED {
		reason += "; " + functions.OperatorMustFix
		h.log.Error("ARR refused a command: credential or role; operator action needed", "action", h.cmd.Action, "sessionId", id, "err", err)
	}
	return h.finish(ctx, arrops.OutcomeRejected, id, reason, rec, "")
}
