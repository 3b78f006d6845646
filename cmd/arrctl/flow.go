package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/notify"
)

// runAudit lists the command audit rows (one per delivery of a command).
func runAudit(ctx context.Context, e *env, args []string) error {
	fs := newFlags("audit")
	from := fs.String("from", "", "first day, YYYY-MM-DD UTC (default: 29 days before --to)")
	to := fs.String("to", "", "last day, YYYY-MM-DD UTC (default: today)")
	session := fs.String("session", "", "only rows of this session")
	format := fs.String("format", formatTable, "table, json or csv")
	if _, err := parseFlags(e, fs, args, "audit [--from DATE] [--to DATE] [--session ID] [--format table|json|csv]", 0); err != nil {
		return err
	}
	f, err := checkFormat(*format)
	if err != nil {
		return err
	}
	start, end, err := dateRange(*from, *to, e.now(), listDays)
	if err != nil {
		return err
	}
	recs, err := e.records(ctx)
	if err != nil {
		return err
	}
	list, err := collect(recs.AuditByDay(ctx, start, end), func(a *arrops.CommandAudit) bool {
		return *session == "" || a.SessionID == *session
	})
	if err != nil {
		return fmt.Errorf("read audit rows: %w", err)
	}
	slices.SortStableFunc(list, func(a, b *arrops.CommandAudit) int { return b.At.Compare(a.At) })
	return writeAudit(e.stdout, f, list)
}

type auditView struct {
	At            time.Time `json:"at"`
	MessageID     string    `json:"messageId"`
	DeliveryCount int       `json:"deliveryCount"`
	InvocationID  string    `json:"invocationId,omitempty"`
	Action        string    `json:"action,omitempty"`
	SessionID     string    `json:"sessionId,omitempty"`
	RequestedBy   string    `json:"requestedBy,omitempty"`
	Outcome       string    `json:"outcome"`
	Reason        string    `json:"reason,omitempty"`
}

func writeAudit(w io.Writer, format string, list []*arrops.CommandAudit) error {
	views := make([]auditView, 0, len(list))
	for _, a := range list {
		views = append(views, auditView{At: a.At.UTC(), MessageID: a.MessageID, DeliveryCount: a.DeliveryCount, InvocationID: a.InvocationID,
			Action: string(a.Action), SessionID: a.SessionID, RequestedBy: a.RequestedBy, Outcome: string(a.Outcome), Reason: a.Reason})
	}
	switch format {
	case formatJSON:
		return writeJSON(w, views)
	case formatCSV:
		cw := csv.NewWriter(w)
		cw.Write([]string{"at", "messageId", "deliveryCount", "invocationId", "action", "sessionId", "requestedBy", "outcome", "reason"})
		for _, v := range views {
			cw.Write([]string{csvTime(v.At), cell(v.MessageID), strconv.Itoa(v.DeliveryCount), cell(v.InvocationID), cell(v.Action),
				cell(v.SessionID), cell(v.RequestedBy), v.Outcome, cell(v.Reason)})
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AT (UTC)\tMESSAGE\tDELIVERY\tACTION\tSESSION\tREQUESTER\tOUTCOME\tREASON")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", tableTime(v.At), clipText(text(v.MessageID), 40), v.DeliveryCount,
			dash(text(v.Action)), dash(clipText(text(v.SessionID), 40)), dash(clipText(text(v.RequestedBy), 30)), v.Outcome, dash(clipText(text(v.Reason), 60)))
	}
	if len(views) == 0 {
		fmt.Fprintln(tw, "(no audit rows)")
	}
	return tw.Flush()
}

// runEvents prints the session and conversion events: from the arr-events
// topic through a subscription (Service Bus), or, locally, from the Azurite
// queue arr-events that stands in for the topic. Reading settles what it
// prints: the subscription (or the local queue) is arrctl's own.
func runEvents(ctx context.Context, e *env, args []string) error {
	fs := newFlags("events")
	follow := fs.Bool("follow", false, "keep printing new events until Ctrl-C")
	sub := fs.String("subscription", "arrctl", "Service Bus subscription of the arr-events topic to read (not used locally)")
	format := fs.String("format", formatTable, "table or json (one JSON object per line)")
	if _, err := parseFlags(e, fs, args, "events [--follow] [--subscription NAME] [--format table|json]", 0); err != nil {
		return err
	}
	f, err := checkFormat(*format)
	if err != nil || f == formatCSV {
		return usagef("--format %q is not table or json", *format)
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	recv, closeFn, err := openEvents(cfg, *sub)
	if err != nil {
		return err
	}
	defer closeFn()
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	header := false
	for {
		msgs, err := recv(ctx, pollWait)
		if err != nil {
			if ctx.Err() != nil && *follow {
				return nil // Ctrl-C ends --follow
			}
			return fmt.Errorf("receive events: %w", err)
		}
		for _, m := range msgs {
			if f == formatJSON {
				var ev json.RawMessage = m.Body
				if !json.Valid(ev) {
					ev, _ = json.Marshal(string(m.Body))
				}
				fmt.Fprintf(e.stdout, "%s\n", compactJSON(ev))
				continue
			}
			if !header {
				fmt.Fprintln(tw, "TIME (UTC)\tEVENT\tID\tSTATUS\tDETAIL")
				header = true
			}
			var ev arrops.Event
			if err := json.Unmarshal(m.Body, &ev); err != nil {
				fmt.Fprintf(tw, "-\t%s\t%s\t-\t%s\n", dash(text(m.Subject)), text(m.MessageID), "undecodable body")
				continue
			}
			id := ev.SessionID
			if ev.ConversionID != "" {
				id = ev.ConversionID
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", tableTime(ev.Time), ev.Type, dash(text(id)), dash(text(ev.Status)), dash(clipText(text(eventDetail(&ev)), 80)))
		}
		tw.Flush()
		if len(msgs) == 0 && !*follow {
			if !header && f == formatTable {
				fmt.Fprintln(e.stdout, "(no events)")
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return nil
		}
	}
}

func compactJSON(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// eventDetail is the one notable field of an event for the table.
func eventDetail(ev *arrops.Event) string {
	switch {
	case ev.ErrorCode != "" || ev.ErrorMessage != "":
		return strings.TrimSpace(ev.ErrorCode + " " + ev.ErrorMessage)
	case ev.OutputURI != "":
		return ev.OutputURI
	case ev.Hostname != "":
		return ev.Hostname
	case ev.Reason != "":
		return ev.Reason
	case ev.InputBlob != "":
		return ev.InputBlob
	}
	return ""
}

// openEvents returns a receive function over the events and a closer.
func openEvents(cfg *config.Config, subscription string) (func(context.Context, time.Duration) ([]busMessage, error), func(), error) {
	if cfg.LocalBus {
		svc, err := queueService(cfg)
		if err != nil {
			return nil, nil, err
		}
		local := notify.NewLocal(svc)
		return func(ctx context.Context, wait time.Duration) ([]busMessage, error) {
			msgs, err := local.Receive(ctx, config.EventsTopic, 32, wait)
			var out []busMessage
			for _, m := range msgs {
				out = append(out, busMessage{MessageID: m.MessageID, CorrelationID: m.CorrelationID, Subject: m.Subject, Body: m.Body})
			}
			return out, err
		}, func() {}, nil
	}
	sb, err := openServiceBus(cfg, false)
	if err != nil {
		return nil, nil, err
	}
	r, err := sb.client.NewReceiverForSubscription(config.EventsTopic, subscription, nil)
	if err != nil {
		sb.Close(context.Background())
		return nil, nil, fmt.Errorf("receiver for %s/%s: %w", config.EventsTopic, subscription, err)
	}
	closeFn := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r.Close(ctx)
		sb.Close(ctx)
	}
	return func(ctx context.Context, wait time.Duration) ([]busMessage, error) {
		rctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		msgs, err := r.ReceiveMessages(rctx, 32, nil)
		if err != nil && !(ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded)) {
			return nil, err
		}
		var out []busMessage
		for _, m := range msgs {
			if err := r.CompleteMessage(ctx, m, nil); err != nil {
				return out, err
			}
			out = append(out, busMessage{MessageID: m.MessageID, CorrelationID: deref(m.CorrelationID), Subject: deref(m.Subject), Body: m.Body})
		}
		return out, nil
	}, closeFn, nil
}

// runSend puts a raw command body (a file, or - for stdin) on arr-commands
// as another app would, to test that app's messages. Without --reply-to it
// waits for arrops' reply on a private reply address and prints it (exit 3
// when the command is rejected); with --reply-to the reply goes there and
// send returns once the message is sent.
func runSend(ctx context.Context, e *env, args []string) error {
	fs := newFlags("send")
	replyTo := fs.String("reply-to", "", "ReplyTo of the message (another app's reply queue); default: wait for the reply here")
	msgID := fs.String("message-id", "", "MessageId (default: a new UUID; it becomes the session id of a start without sessionId)")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the reply")
	pos, err := parseFlags(e, fs, args, "send FILE|- [--reply-to QUEUE] [--message-id ID] [--timeout 2m]", 1)
	if err != nil {
		return err
	}
	if err := positiveDuration("timeout", *timeout); err != nil {
		return err
	}
	var body []byte
	if pos[0] == "-" {
		body, err = io.ReadAll(e.stdin)
	} else {
		body, err = os.ReadFile(pos[0])
	}
	if err != nil {
		return usagef("send: %v", err)
	}
	if *msgID == "" {
		*msgID = newMessageID()
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *replyTo != "" {
		b, err := openBus(ctx, cfg, false)
		if err != nil {
			return err
		}
		defer b.Close(ctx)
		if err := sendCommandMessage(ctx, busPublisher(b), *msgID, *replyTo, body); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "messageId\t%s\nreplyTo\t%s\n", *msgID, *replyTo)
		return nil
	}
	b, err := openBus(ctx, cfg, true)
	if err != nil {
		return err
	}
	c := &conversation{bus: b, msgID: *msgID, prog: newProgress(e.stderr, e.tty, e.now)}
	defer c.close(ctx)
	if err := b.Send(ctx, *msgID, body); err != nil {
		return err
	}
	c.prog.Set(fmt.Sprintf("sent %s, waiting for the reply", *msgID))
	r, err := c.waitReply(ctx)
	if err != nil {
		return timeoutHint(ctx, err, *timeout, "send", *msgID)
	}
	c.prog.Done()
	if err := writeJSON(e.stdout, r); err != nil {
		return err
	}
	if r.Outcome == arrops.OutcomeRejected {
		return &rejectedError{msg: fmt.Sprintf("command %s rejected: %s", *msgID, r.Reason)}
	}
	return nil
}

// busPublisher returns the publisher behind a command bus.
func busPublisher(b commandBus) notify.Publisher {
	switch b := b.(type) {
	case *localBus:
		return b.pub
	case *serviceBus:
		return b.pub
	}
	return nil
}
