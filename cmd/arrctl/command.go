package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/config"
)

// subjectReply is the Subject of the handler's CommandReply messages; events
// carry their event type as Subject.
const subjectReply = "CommandReply"

// defaultRequester names the operator in requestedBy (the report groups by it).
func defaultRequester(getenv func(string) string) string {
	if u := getenv("USER"); u != "" && len("arrctl:"+u) <= 256 {
		return "arrctl:" + u
	}
	return "arrctl"
}

func runStart(ctx context.Context, e *env, args []string) error {
	return runStartOrReserve(ctx, e, args, arrops.ActionStart)
}

// runReserve sends a reserve command and prints arrops' answer (the session
// id it will have); the session starts ahead of --at on its own.
func runReserve(ctx context.Context, e *env, args []string) error {
	return runStartOrReserve(ctx, e, args, arrops.ActionReserve)
}

func runStartOrReserve(ctx context.Context, e *env, args []string, action arrops.Action) error {
	fs := newFlags(string(action))
	id := fs.String("session-id", "", "session id (letters, digits, '-', '_'); default: derived from the message id")
	size := fs.String("size", "", "Standard or Premium (default: ARR_DEFAULT_SIZE)")
	lease := fs.Int("lease", -1, "maximum lease in minutes, 1..1440, counted from Ready (default: ARR_DEFAULT_LEASE_MINUTES)")
	by := fs.String("requested-by", defaultRequester(e.getenv), "requester recorded with the session")
	tags := tagsFlag{}
	fs.Var(tags, "tag", "tag key=value (repeatable)")
	timeout := fs.Duration("timeout", 15*time.Minute, "how long to wait for Ready")
	noWait := fs.Bool("no-wait", false, "send the command and print the session id without waiting for any reply")
	synopsis := "start [--session-id ID] [--size Standard|Premium] [--lease MIN] [--requested-by NAME] [--tag k=v]... [--timeout 15m] [--no-wait] [--no-pool]"
	var at *string
	noPool := fs.Bool("no-pool", false, "a cold start even when a warm pool session is free")
	if action == arrops.ActionReserve {
		at = fs.String("at", "", "when the session must be Ready, RFC 3339 (e.g. 2026-12-07T09:00:00+01:00; required)")
		synopsis = "reserve --at TIME [--session-id ID] [--size Standard|Premium] [--lease MIN] [--requested-by NAME] [--tag k=v]... [--timeout 2m]"
	}
	if _, err := parseFlags(e, fs, args, synopsis, 0); err != nil {
		return err
	}
	cmd := arrops.Command{Action: action, SessionID: *id, RequestedBy: *by}
	if at != nil {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usagef("reserve: --at %q is not an RFC 3339 time (2026-12-07T09:00:00+01:00)", *at)
		}
		cmd.StartAt = &t
	} else if *noPool {
		cold := false
		cmd.Pool = &cold
	}
	if *id != "" {
		if err := arrops.ValidateID(*id); err != nil {
			return usagef("--session-id: %s", arrops.ErrorMessage(err))
		}
	}
	if *size != "" {
		sz, err := arrops.ParseSessionSize(*size)
		if err != nil {
			return usagef("--size: %s", arrops.ErrorMessage(err))
		}
		cmd.Size = string(sz)
	}
	if *lease != -1 {
		if err := arrops.ValidateLease(*lease); err != nil {
			return usagef("--lease: %s", arrops.ErrorMessage(err))
		}
		cmd.MaxLeaseTimeMinutes = lease
	}
	if err := arrops.ValidateRequestedBy(*by); err != nil {
		return usagef("--requested-by: %s", arrops.ErrorMessage(err))
	}
	if err := arrops.ValidateTags(tags); err != nil {
		return usagef("--tag: %s", arrops.ErrorMessage(err))
	}
	if len(tags) > 0 {
		cmd.Tags = tags
	}
	if err := positiveDuration("timeout", *timeout); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	msgID := newMessageID()
	sessionID := cmd.SessionID
	if sessionID == "" {
		// The handler keeps a valid MessageId as the session id
		// (commands.SessionIDFromMessage); a UUID is one.
		sessionID = msgID
	}
	if *noWait {
		// No ReplyTo: nobody would read the replies, and in local mode the
		// reply queue would be gone. Follow up with `arrctl watch`.
		if err := sendOnly(ctx, cfg, msgID, cmd); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, sessionID)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c, err := sendCommand(ctx, e, cfg, msgID, cmd)
	if err != nil {
		return err
	}
	defer c.close(ctx)
	if action == arrops.ActionReserve {
		c.prog.Set(fmt.Sprintf("reserve %s: sent, waiting for arrops", sessionID))
		r, err := c.waitReply(ctx)
		if err != nil {
			return timeoutHint(ctx, err, *timeout, "reserve", sessionID)
		}
		c.prog.Done()
		if r.Outcome == arrops.OutcomeRejected {
			return &rejectedError{msg: fmt.Sprintf("reserve %s rejected: %s", sessionID, r.Reason)}
		}
		return printReply(e.stdout, r)
	}
	c.prog.Set(fmt.Sprintf("start %s: sent, waiting for arrops", sessionID))
	ev, err := c.waitReady(ctx, e, sessionID)
	if err != nil {
		return timeoutHint(ctx, err, *timeout, "start", sessionID)
	}
	c.prog.Done()
	return printReady(e.stdout, ev)
}

func runStop(ctx context.Context, e *env, args []string) error {
	return runSimpleCommand(ctx, e, args, arrops.ActionStop)
}

func runExtend(ctx context.Context, e *env, args []string) error {
	return runSimpleCommand(ctx, e, args, arrops.ActionExtend)
}

// runSimpleCommand sends stop or extend and prints the reply's outcome.
func runSimpleCommand(ctx context.Context, e *env, args []string, action arrops.Action) error {
	fs := newFlags(string(action))
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the reply")
	by := fs.String("requested-by", defaultRequester(e.getenv), "requester recorded in the audit row")
	lease := new(int)
	synopsis := "stop ID [--timeout 2m]"
	if action == arrops.ActionExtend {
		lease = fs.Int("lease", 0, "new maximum lease in minutes, 1..1440 (required)")
		synopsis = "extend ID --lease MIN [--timeout 2m]"
	}
	pos, err := parseFlags(e, fs, args, synopsis, 1)
	if err != nil {
		return err
	}
	cmd := arrops.Command{Action: action, SessionID: pos[0], RequestedBy: *by}
	if err := arrops.ValidateID(cmd.SessionID); err != nil {
		return usagef("%s: session id: %s", action, arrops.ErrorMessage(err))
	}
	if action == arrops.ActionExtend {
		if err := arrops.ValidateLease(*lease); err != nil {
			return usagef("extend: --lease: %s", arrops.ErrorMessage(err))
		}
		cmd.MaxLeaseTimeMinutes = lease
	}
	if err := arrops.ValidateRequestedBy(*by); err != nil {
		return usagef("--requested-by: %s", arrops.ErrorMessage(err))
	}
	if err := positiveDuration("timeout", *timeout); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	msgID := newMessageID()
	c, err := sendCommand(ctx, e, cfg, msgID, cmd)
	if err != nil {
		return err
	}
	defer c.close(ctx)
	c.prog.Set(fmt.Sprintf("%s %s: sent, waiting for arrops", action, cmd.SessionID))
	r, err := c.waitReply(ctx)
	if err != nil {
		return timeoutHint(ctx, err, *timeout, string(action), cmd.SessionID)
	}
	c.prog.Done()
	if r.Outcome == arrops.OutcomeRejected {
		return &rejectedError{msg: fmt.Sprintf("%s %s rejected: %s", action, cmd.SessionID, r.Reason)}
	}
	return printReply(e.stdout, r)
}

// sendOnly sends cmd without a reply address.
func sendOnly(ctx context.Context, cfg *config.Config, msgID string, cmd arrops.Command) error {
	b, err := openBus(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer b.Close(ctx)
	body, _ := json.Marshal(cmd) // plain struct: cannot fail
	return b.Send(ctx, msgID, body)
}

// conversation is one command and the replies to it.
type conversation struct {
	bus   commandBus
	msgID string
	prog  *progress
	reply *arrops.CommandReply
	// pending holds events that arrived before the reply (the handler
	// announces Starting before it answers).
	pending []busMessage
}

func sendCommand(ctx context.Context, e *env, cfg *config.Config, msgID string, cmd arrops.Command) (*conversation, error) {
	b, err := openBus(ctx, cfg, true)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(cmd) // plain struct: cannot fail
	if err := b.Send(ctx, msgID, body); err != nil {
		b.Close(ctx)
		return nil, err
	}
	return &conversation{bus: b, msgID: msgID, prog: newProgress(e.stderr, e.tty, e.now)}, nil
}

func (c *conversation) close(ctx context.Context) {
	c.prog.Done()
	c.bus.Close(ctx) // best effort: a leftover reply queue is harmless
}

// pollWait bounds one Poll so the spinner and ctx are served between polls.
const pollWait = time.Second

// next returns the next correlated message.
func (c *conversation) next(ctx context.Context) (busMessage, error) {
	for len(c.pending) == 0 {
		if err := ctx.Err(); err != nil {
			return busMessage{}, err
		}
		msgs, err := c.bus.Poll(ctx, c.msgID, pollWait)
		if err != nil {
			return busMessage{}, err
		}
		c.pending = append(c.pending, msgs...)
	}
	m := c.pending[0]
	c.pending = c.pending[1:]
	return m, nil
}

// waitReply waits for the CommandReply, keeping events that come first.
func (c *conversation) waitReply(ctx context.Context) (*arrops.CommandReply, error) {
	var early []busMessage
	defer func() { c.pending = append(early, c.pending...) }()
	for c.reply == nil {
		m, err := c.next(ctx)
		if err != nil {
			return nil, err
		}
		if m.Subject != subjectReply {
			early = append(early, m)
			continue
		}
		r, err := decodeReply(m)
		if err != nil {
			return nil, err
		}
		c.reply = r
		c.prog.Set(fmt.Sprintf("%s %s: %s (%s)", r.Action, r.SessionID, r.Outcome, r.Reason))
	}
	return c.reply, nil
}

// waitReady waits for the reply and then for the session to be Ready. It
// fails when the command is rejected or the session ends before Ready.
func (c *conversation) waitReady(ctx context.Context, e *env, sessionID string) (*arrops.Event, error) {
	r, err := c.waitReply(ctx)
	if err != nil {
		return nil, err
	}
	if r.Outcome == arrops.OutcomeRejected {
		return nil, &rejectedError{msg: fmt.Sprintf("start %s rejected: %s", sessionID, r.Reason)}
	}
	if r.SessionID != "" {
		sessionID = r.SessionID
	}
	if r.Session != nil {
		if done, err := readyOrEnded(r.Session); done {
			return r.Session, err
		}
	}
	if r.Outcome == arrops.OutcomeNoop {
		// A start for a session that already exists (same id and settings):
		// its transitions are announced to the ReplyTo of the command that
		// created it, not to ours, so follow the record instead.
		return c.waitRecordReady(ctx, e, sessionID)
	}
	for {
		m, err := c.next(ctx)
		if err != nil {
			return nil, err
		}
		ev, err := decodeEvent(m)
		if err != nil {
			return nil, err
		}
		if ev.SessionID != sessionID {
			continue
		}
		c.prog.Set(fmt.Sprintf("session %s: %s", ev.SessionID, ev.Status))
		if done, err := readyOrEnded(ev); done {
			return ev, err
		}
	}
}

// recordPoll is how often waitRecordReady reads the session record.
const recordPoll = time.Second

func (c *conversation) waitRecordReady(ctx context.Context, e *env, id string) (*arrops.Event, error) {
	recs, err := e.records(ctx)
	if err != nil {
		return nil, err
	}
	for {
		s, err := recs.GetSession(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("read session %s: %w", id, err)
		}
		ev := arrops.SessionEvent(s, e.now())
		c.prog.Set(fmt.Sprintf("session %s: %s", id, s.Status))
		if done, err := readyOrEnded(&ev); done {
			return &ev, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(recordPoll):
		}
	}
}

// decodeReply reads a CommandReply from the bus. The handler is the only
// sender, but the queue is outside input: an unknown outcome is an error,
// not a success.
func decodeReply(m busMessage) (*arrops.CommandReply, error) {
	var r arrops.CommandReply
	if err := json.Unmarshal(m.Body, &r); err != nil {
		return nil, fmt.Errorf("reply %s is not a CommandReply: %w", m.MessageID, err)
	}
	switch r.Outcome {
	case arrops.OutcomeAccepted, arrops.OutcomeNoop, arrops.OutcomeRejected:
	default:
		return nil, fmt.Errorf("reply %s has unknown outcome %q", m.MessageID, clipText(text(string(r.Outcome)), 40))
	}
	return &r, nil
}

// decodeEvent reads a session event (Subject = event type) from the bus.
func decodeEvent(m busMessage) (*arrops.Event, error) {
	var ev arrops.Event
	if err := json.Unmarshal(m.Body, &ev); err != nil {
		return nil, fmt.Errorf("event %s (%s) does not decode: %w", m.MessageID, clipText(text(m.Subject), 40), err)
	}
	if ev.Status == "" && ev.Type != "" {
		// The status is implied by the type (SessionReady -> Ready).
		ev.Status = strings.TrimPrefix(string(ev.Type), "Session")
	}
	return &ev, nil
}

// readyOrEnded reports whether ev ends the wait for Ready, with an error when
// the session ended without becoming Ready.
func readyOrEnded(ev *arrops.Event) (bool, error) {
	st := arrops.SessionStatus(ev.Status)
	switch {
	case st == arrops.SessionReady:
		return true, nil
	case st.Terminal():
		msg := fmt.Sprintf("session %s is %s", ev.SessionID, st)
		if ev.ErrorCode != "" || ev.ErrorMessage != "" {
			msg += fmt.Sprintf(": %s %s", ev.ErrorCode, ev.ErrorMessage)
		} else if ev.Reason != "" {
			msg += ": " + ev.Reason
		}
		return true, errors.New(msg)
	}
	return false, nil
}

// timeoutHint turns a deadline into an operator's message: the command may
// still succeed, and `watch` follows it.
func timeoutHint(ctx context.Context, err error, timeout time.Duration, what, id string) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return fmt.Errorf("%s %s: no answer within %s (is the handler running? follow up with: arrctl watch %s)", what, id, timeout, id)
	}
	return fmt.Errorf("%s %s: %w", what, id, err)
}

// printReady prints the connection details of a Ready session, one
// "key value" pair per line (awk-friendly).
func printReady(w io.Writer, ev *arrops.Event) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "session\t%s\n", ev.SessionID)
	fmt.Fprintf(tw, "status\t%s\n", ev.Status)
	fmt.Fprintf(tw, "hostname\t%s\n", ev.Hostname)
	fmt.Fprintf(tw, "handshakePort\t%d\n", ev.HandshakePort)
	fmt.Fprintf(tw, "inspectorPort\t%d\n", ev.InspectorPort)
	if ev.Size != "" {
		fmt.Fprintf(tw, "size\t%s\n", ev.Size)
	}
	if ev.MaxLeaseMinutes != 0 {
		fmt.Fprintf(tw, "maxLeaseMinutes\t%d\n", ev.MaxLeaseMinutes)
	}
	return tw.Flush()
}

// printReply prints a stop or extend outcome.
func printReply(w io.Writer, r *arrops.CommandReply) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "session\t%s\n", r.SessionID)
	fmt.Fprintf(tw, "outcome\t%s\n", r.Outcome)
	if r.Reason != "" {
		fmt.Fprintf(tw, "reason\t%s\n", r.Reason)
	}
	if s := r.Session; s != nil {
		fmt.Fprintf(tw, "status\t%s\n", s.Status)
		if s.MaxLeaseMinutes != 0 {
			fmt.Fprintf(tw, "maxLeaseMinutes\t%d\n", s.MaxLeaseMinutes)
		}
	}
	return tw.Flush()
}
