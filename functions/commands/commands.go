// Package commands is the `commands` function: it starts, stops and extends
// ARR sessions on request of other apps (Service Bus queue arr-commands).
//
// Every delivery leaves one audit row. Permanent problems (bad JSON, unknown
// action, invalid size or lease, an id that exists with other settings, any
// other refusal by ARR including a missing role: arrops.EINVALID, ENOTFOUND,
// ECONFLICT, EUNAUTHORIZED) are recorded, answered to ReplyTo, and
// acknowledged; transient ones (ARR 408/429/5xx, storage errors) fail the
// invocation so the host redelivers it.
//
// Idempotency: a start without sessionId gets an id derived from MessageId, and
// ARR answers a repeated PUT with the same settings with 200, so a redelivered
// start creates one session and one record.
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
	Now     func() time.Time
}

// New returns the function.
func New(d Deps) functions.Func {
	return func(ctx context.Context, inv *trigger.Invocation, _ *trigger.Response, log *slog.Logger) error {
		h := &run{Deps: d, log: log}
		return h.handle(ctx, inv)
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
}

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
	if h.arrc, err = h.ARR.Get(ctx); err != nil {
		return fmt.Errorf("open ARR client: %w", err)
	}
	switch h.cmd.Action {
	case arrops.ActionStart:
		return h.start(ctx)
	case arrops.ActionStop:
		return h.stop(ctx)
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

func (h *run) start(ctx context.Context) error {
	id := h.cmd.SessionID
	if id == "" {
		if h.msg.MessageID == "" {
			return h.finish(ctx, arrops.OutcomeRejected, "", "start without sessionId needs a MessageId to derive one from", nil, "")
		}
		id = SessionIDFromMessage(h.msg.MessageID)
	}
	size := h.Config.DefaultSize
	if h.cmd.Size != "" {
		size = arrops.SessionSize(h.cmd.Size)
	}
	lease := h.Config.DefaultLease
	if h.cmd.MaxLeaseTimeMinutes != nil {
		lease = *h.cmd.MaxLeaseTimeMinutes
	}
	resp, err := h.arrc.CreateSession(ctx, id, arr.SessionSettings{MaxLeaseTimeMinutes: int32(lease), Size: arr.SessionSize(size)}, nil)
	switch arrops.ErrorCode(err) {
	case "":
	case arrops.ECONFLICT:
		return h.finish(ctx, arrops.OutcomeRejected, id, fmt.Sprintf("session %s already exists with other settings (ARR 409 Conflict)", id), nil, "")
	case arrops.EINVALID, arrops.ENOTFOUND, arrops.EUNAUTHORIZED:
		return h.refused(ctx, id, err, nil)
	default:
		return fmt.Errorf("create session %s: %w", id, err)
	}
	s := &arrops.Session{
		ID: id, Size: size, Status: arrops.SessionStatus(resp.Status), Origin: arrops.OriginCommand,
		RequestedBy: h.cmd.RequestedBy, Tags: h.cmd.Tags, MaxLeaseMinutes: lease, CreatedAt: h.now,
		ReplyTo: h.msg.ReplyTo, CorrelationID: h.msg.MessageID,
	}
	if resp.CreationTime != nil {
		s.CreatedAt = resp.CreationTime.UTC()
	}
	functions.Apply(s, &resp.Session, h.now)
	functions.ClaimSessionAnnouncement(s, h.now)
	stored, created, err := h.rec.CreateSession(ctx, s)
	if err != nil {
		return fmt.Errorf("record session %s: %w", id, err)
	}
	reclaimed := false
	if !created && stored.Origin == arrops.OriginExternal && stored.CorrelationID == "" && (resp.Created || h.cmd.SessionID == "") {
		// A watch or shutdown sweep listed the session between our PUT and
		// this insert and adopted it as external. It is ours (this delivery
		// created it, or its id derives from this message): give it back
		// its requester, tags and ReplyTo, or budgets and replies miss it.
		if stored, err = h.reclaim(ctx, stored, s); err != nil {
			return err
		}
		reclaimed = true
	}
	// The record insert is the commit point: exactly one delivery creates (or
	// reclaims) it, and that one answers "accepted" — also when an earlier
	// attempt created the ARR session (so this PUT got 200, not 201) and
	// failed before recording it, and when two copies run at once.
	outcome, reason := arrops.OutcomeAccepted, "session starting"
	if !created && !reclaimed {
		outcome, reason = arrops.OutcomeNoop, "redelivery: session already exists with the same settings"
	}
	// Only the run that created the record announces Starting; a redelivery
	// finishes a claim left behind by a crashed run once it is stale.
	if err := functions.PublishSessionClaim(ctx, h.rec, h.bus, stored, h.now, created); err != nil {
		return err
	}
	return h.finish(ctx, outcome, id, reason, stored, "")
}

// reclaim writes the command's attribution into a record a sweep adopted,
// re-reading on ETag conflicts.
func (h *run) reclaim(ctx context.Context, stored, want *arrops.Session) (*arrops.Session, error) {
	s, err := functions.ModifySession(ctx, h.rec, want.ID, stored, func(s *arrops.Session) (bool, error) {
		if s.CorrelationID != "" {
			return false, nil // a concurrent delivery of this command reclaimed it
		}
		s.Origin, s.RequestedBy, s.Tags = want.Origin, want.RequestedBy, want.Tags
		s.ReplyTo, s.CorrelationID = want.ReplyTo, want.CorrelationID
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("record requester of session %s: %w", want.ID, err)
	}
	return s, nil
}

func (h *run) stop(ctx context.Context) error {
	id := h.cmd.SessionID
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
	if rec != nil && rec.Status.Terminal() && rec.StopReason == reason {
		return h.finish(ctx, arrops.OutcomeAccepted, id, reason, rec, "")
	}
	if rec != nil && rec.Status.Terminal() {
		return h.finish(ctx, arrops.OutcomeNoop, id, fmt.Sprintf("session is already %s", rec.Status), rec, "")
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
	return h.finish(ctx, arrops.OutcomeAccepted, id, reason, s, "")
}

func (h *run) extend(ctx context.Context) error {
	id, lease := h.cmd.SessionID, *h.cmd.MaxLeaseTimeMinutes
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
	return h.finish(ctx, arrops.OutcomeAccepted, id, fmt.Sprintf("lease extended to %d minutes", lease), s, "")
}

// finish writes the audit row and answers ReplyTo. messageID overrides the
// message's own id when the message did not decode.
func (h *run) finish(ctx context.Context, outcome arrops.Outcome, sessionID, reason string, s *arrops.Session, messageID string) error {
	if messageID == "" {
		messageID = h.msg.MessageID
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
	if err := h.rec.AppendAudit(ctx, a); err != nil {
		return fmt.Errorf("write audit row: %w", err)
	}
	h.log.Info("command", "action", a.Action, "sessionId", sessionID, "outcome", outcome, "reason", reason)
	if h.msg.ReplyTo == "" {
		return nil
	}
	reply := arrops.CommandReply{Outcome: outcome, Reason: reason, Action: action, SessionID: sessionID}
	if s != nil {
		ev := arrops.SessionEvent(s, h.now)
		reply.Session = &ev
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
		return nil
	}
	if err != nil {
		return fmt.Errorf("reply to %s: %w", h.msg.ReplyTo, err)
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
