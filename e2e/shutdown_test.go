package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/stack"
	"github.com/arrops/arrops/notify"
)

// The policies run on the handler's own clock (ReadyAt is when arrops first
// saw the session Ready), which no setting speeds up; the smallest maximum
// age is one minute. Instead of waiting a minute, the tests move a session's
// recorded ReadyAt back (an ETag-conditional write, as the handler's own) and
// the simulator's clock forward by the same amount, so ARR's elapsed minutes
// agree: to arrops the session has been Ready that long.

const shutdownPeriod = 3 * time.Second

// TestShutdownPolicy runs the shutdown timer every 3 s with a maximum age of
// one minute after Ready and a one-minute warning, over four sessions:
//
//   - pol-old, started by command: warned, then stopped within one shutdown
//     period of passing its maximum age; record, arr-events and the reply
//     queue say why;
//   - pol-direct, created in ARR directly (not through arrops): adopted and
//     stopped the same way;
//   - pol-ext, extended by command to 10 minutes: not stopped at the old limit;
//   - pol-keep, tagged keepAlive=true: never warned nor stopped.
func TestShutdownPolicy(t *testing.T) {
	s := startSessions(t, stack.Options{
		SimArgs: []string{"-ready-after", "1s"},
		Settings: map[string]string{
			"SHUTDOWN_MAX_READY_MINUTES": "1",
			"SHUTDOWN_WARNING_MINUTES":   "1",
			"SHUTDOWN_SCHEDULE":          fmt.Sprintf("*/%d * * * * *", shutdownPeriod/time.Second),
			"WATCH_SCHEDULE":             "*/2 * * * * *",
		},
	})
	const replyTo = "e2e-policy-replies"
	arrc := newARR(t, s)
	if _, err := arrc.CreateSession(s.ctx, "pol-direct", arr.SessionSettings{MaxLeaseTimeMinutes: 60, Size: arr.SessionSizeStandard}, nil); err != nil {
		t.Fatal(err)
	}
	s.send(`{"action":"start","sessionId":"pol-old","requestedBy":"viewer-app"}`, notify.Message{MessageID: "pol-old-start", ReplyTo: replyTo})
	s.send(`{"action":"start","sessionId":"pol-ext","requestedBy":"viewer-app","maxLeaseTimeMinutes":3}`, notify.Message{MessageID: "pol-ext-start", ReplyTo: replyTo})
	s.send(`{"action":"start","sessionId":"pol-keep","requestedBy":"viewer-app","tags":{"keepAlive":"true"}}`, notify.Message{MessageID: "pol-keep-start", ReplyTo: replyTo})

	cases := []struct {
		id       string
		origin   arrops.Origin
		stopped  bool
		warned   bool
		setup    func()
		requests string
	}{
		{id: "pol-old", origin: arrops.OriginCommand, stopped: true, warned: true, requests: "viewer-app"},
		{id: "pol-direct", origin: arrops.OriginExternal, stopped: true, warned: true},
		{id: "pol-ext", origin: arrops.OriginCommand, requests: "viewer-app", setup: func() {
			s.send(`{"action":"extend","sessionId":"pol-ext","maxLeaseTimeMinutes":10}`, notify.Message{MessageID: "pol-ext-extend", ReplyTo: replyTo})
			s.waitSession("pol-ext", 20*time.Second, func(r *arrops.Session) error {
				if r.ExtendedUntil.IsZero() || r.MaxLeaseMinutes != 10 {
					return fmt.Errorf("lease %d, extended until %v", r.MaxLeaseMinutes, r.ExtendedUntil)
				}
				return nil
			})
		}},
		{id: "pol-keep", origin: arrops.OriginCommand, requests: "viewer-app"},
	}
	for _, c := range cases {
		rec := s.waitSession(c.id, 20*time.Second, hasStatus(arrops.SessionReady))
		if rec.Origin != c.origin || rec.RequestedBy != c.requests {
			t.Fatalf("%s: origin %s requester %q, want %s %q", c.id, rec.Origin, rec.RequestedBy, c.origin, c.requests)
		}
		if c.setup != nil {
			c.setup()
		}
	}
	// The warning comes first: the stop is due within SHUTDOWN_WARNING_MINUTES
	// from the moment the session is Ready.
	for _, c := range cases {
		if c.warned {
			s.waitSession(c.id, 20*time.Second, func(r *arrops.Session) error {
				if r.WarnedAt.IsZero() {
					return fmt.Errorf("not warned yet")
				}
				return nil
			})
		}
	}

	// All four pass the one-minute limit at limit.
	limit := time.Now().Add(2 * time.Second).UTC()
	for _, c := range cases {
		updateRecord(s, c.id, func(r *arrops.Session) { r.ReadyAt = limit.Add(-time.Minute) })
	}
	s.advanceSim(time.Minute - 2*time.Second)

	stopped := map[string]*arrops.Session{}
	for _, c := range cases {
		if !c.stopped {
			continue
		}
		rec := s.waitSession(c.id, 20*time.Second, func(r *arrops.Session) error {
			if r.Status != arrops.SessionStopped || !r.AnnounceClaimedAt.IsZero() {
				return fmt.Errorf("status %s, announcement pending %v", r.Status, !r.AnnounceClaimedAt.IsZero())
			}
			return nil
		})
		if rec.StoppedAt.Before(limit) || rec.StoppedAt.After(limit.Add(shutdownPeriod+time.Second)) {
			t.Errorf("%s stopped at %s, want within one shutdown period (%s) after it passed its limit at %s",
				c.id, rec.StoppedAt.Format(time.RFC3339Nano), shutdownPeriod, limit.Format(time.RFC3339Nano))
		}
		if !strings.HasPrefix(rec.StopReason, "policy maxReadyMinutes: ready for 1 min, SHUTDOWN_MAX_READY_MINUTES=1") {
			t.Errorf("%s stop reason %q: want the policy and its values", c.id, rec.StopReason)
		}
		if got := arrStatus(t, s, arrc, c.id); got != arrops.SessionStopped {
			t.Errorf("ARR has %s as %s, want Stopped", c.id, got)
		}
		stopped[c.id] = rec
	}
	// One more full sweep after the limit: the others are still running.
	s.fire("shutdown")
	for _, c := range cases {
		if c.stopped {
			continue
		}
		rec := s.session(c.id)
		if rec.Status != arrops.SessionReady || rec.StopReason != "" {
			t.Errorf("%s: %s, stop reason %q; want it left running", c.id, rec.Status, rec.StopReason)
		}
		if got := arrStatus(t, s, arrc, c.id); got != arrops.SessionReady {
			t.Errorf("ARR has %s as %s, want Ready", c.id, got)
		}
		if c.id == "pol-keep" && !rec.WarnedAt.IsZero() {
			t.Errorf("pol-keep was warned at %s; keepAlive sessions face no stop", rec.WarnedAt)
		}
	}

	// arr-events and the reply queue say the same as the records.
	type key struct {
		id  string
		typ arrops.EventType
	}
	// A warning is published at least once under a message id derived from
	// its stop time (Service Bus duplicate detection drops repeats; the local
	// queue keeps them), so warnings count by message id. Stops are claimed in
	// the record before they are published: exactly one message.
	events := map[key][]arrops.Event{}
	seen := map[string]bool{}
	for _, m := range drain(s, config.EventsTopic) {
		ev := decodeEvent(t, m)
		if ev.Type == arrops.EventSessionStopWarning && seen[m.MessageID] {
			continue
		}
		seen[m.MessageID] = true
		events[key{ev.SessionID, ev.Type}] = append(events[key{ev.SessionID, ev.Type}], ev)
	}
	for _, c := range cases {
		warns, stops := events[key{c.id, arrops.EventSessionStopWarning}], events[key{c.id, arrops.EventSessionStopped}]
		if !c.stopped {
			if len(stops) != 0 {
				t.Errorf("%s: %d SessionStopped events, want none", c.id, len(stops))
			}
			if c.id == "pol-keep" && len(warns) != 0 {
				t.Errorf("pol-keep: %d warnings, want none", len(warns))
			}
			continue
		}
		rec := stopped[c.id]
		if len(warns) != 1 || len(stops) != 1 {
			t.Errorf("%s: %d warnings (distinct message ids) and %d SessionStopped events, want 1 and 1: %+v", c.id, len(warns), len(stops), warns)
			continue
		}
		if w := warns[0]; w.StopAt == nil || !strings.Contains(w.Reason, "policy maxReadyMinutes: stops at ") || !w.Time.Before(stops[0].Time) {
			t.Errorf("%s warning %+v: want the coming stop, its policy, before the stop (%s)", c.id, w, stops[0].Time)
		}
		if stops[0].Reason != rec.StopReason || stops[0].RequestedBy != c.requests {
			t.Errorf("%s SessionStopped %+v: want reason %q and requester %q", c.id, stops[0], rec.StopReason, c.requests)
		}
	}
	announced := map[string][]notify.Message{}
	for _, m := range drain(s, replyTo) {
		if m.Subject == string(arrops.EventSessionStopWarning) && seen[m.MessageID] {
			continue
		}
		seen[m.MessageID] = true
		announced[m.CorrelationID+" "+m.Subject] = append(announced[m.CorrelationID+" "+m.Subject], m)
	}
	if got := announced["pol-old-start SessionStopped"]; len(got) != 1 || decodeEvent(t, got[0]).Reason != stopped["pol-old"].StopReason {
		t.Errorf("reply queue: %d SessionStopped for pol-old, want 1 saying %q", len(got), stopped["pol-old"].StopReason)
	}
	if got := announced["pol-old-start SessionStopWarning"]; len(got) != 1 {
		t.Errorf("reply queue: %d warnings for pol-old, want 1", len(got))
	}
	if got := announced["pol-ext-extend CommandReply"]; len(got) != 1 || decodeReply(t, got[0]).Outcome != arrops.OutcomeAccepted {
		t.Errorf("reply queue: extend replies %v, want one accepted", got)
	}
}

// TestShutdownDryRun: with SHUTDOWN_DRY_RUN=true a session past its maximum
// age, started by command or created in ARR directly, is recorded and
// announced as "would stop" once, with the reason, and keeps running.
func TestShutdownDryRun(t *testing.T) {
	s := startSessions(t, stack.Options{
		SimArgs: []string{"-ready-after", "1s"},
		Settings: map[string]string{
			"SHUTDOWN_DRY_RUN":           "true",
			"SHUTDOWN_MAX_READY_MINUTES": "1",
			"SHUTDOWN_WARNING_MINUTES":   "0",
			"SHUTDOWN_SCHEDULE":          "*/2 * * * * *",
			"WATCH_SCHEDULE":             "*/2 * * * * *",
		},
	})
	const replyTo = "e2e-dryrun-replies"
	arrc := newARR(t, s)
	if _, err := arrc.CreateSession(s.ctx, "dry-direct", arr.SessionSettings{MaxLeaseTimeMinutes: 60, Size: arr.SessionSizePremium}, nil); err != nil {
		t.Fatal(err)
	}
	s.send(`{"action":"start","sessionId":"dry-cmd","requestedBy":"viewer-app"}`, notify.Message{MessageID: "dry-cmd-start", ReplyTo: replyTo})
	ids := []string{"dry-cmd", "dry-direct"}
	for _, id := range ids {
		s.waitSession(id, 20*time.Second, hasStatus(arrops.SessionReady))
	}
	limit := time.Now().Add(time.Second).UTC()
	for _, id := range ids {
		updateRecord(s, id, func(r *arrops.Session) { r.ReadyAt = limit.Add(-time.Minute) })
	}
	s.advanceSim(time.Minute - time.Second)

	const want = "would stop (dry run): policy maxReadyMinutes: ready for 1 min, SHUTDOWN_MAX_READY_MINUTES=1"
	for _, id := range ids {
		s.waitSession(id, 20*time.Second, func(r *arrops.Session) error {
			if r.StopReason != want {
				return fmt.Errorf("stop reason %q", r.StopReason)
			}
			return nil
		})
	}
	s.fire("shutdown") // further sweeps neither stop nor announce again
	s.fire("shutdown")
	for _, id := range ids {
		rec := s.session(id)
		if rec.Status != arrops.SessionReady || !rec.StoppedAt.IsZero() || rec.StopReason != want {
			t.Errorf("%s after dry-run sweeps: %s, stopped at %v, reason %q; want Ready with the would-stop reason", id, rec.Status, rec.StoppedAt, rec.StopReason)
		}
		if got := arrStatus(t, s, arrc, id); got != arrops.SessionReady {
			t.Errorf("ARR has %s as %s, want Ready", id, got)
		}
	}
	if n := s.simStats().StopSession; n != 0 {
		t.Errorf("%d stop calls reached ARR in dry run, want 0", n)
	}
	would := map[string][]arrops.Event{}
	for _, m := range drain(s, config.EventsTopic) {
		ev := decodeEvent(t, m)
		if ev.Type == arrops.EventSessionStopped {
			t.Errorf("SessionStopped for %s in dry run", ev.SessionID)
		}
		if ev.Type == arrops.EventSessionWouldStop {
			if m.Subject != string(ev.Type) {
				t.Errorf("WouldStop event with Subject %q", m.Subject)
			}
			would[ev.SessionID] = append(would[ev.SessionID], ev)
		}
	}
	for _, id := range ids {
		if evs := would[id]; len(evs) != 1 || evs[0].Reason != want {
			t.Errorf("%s: WouldStop events %+v, want one saying %q", id, evs, want)
		}
	}
	var replies []string
	for _, m := range drain(s, replyTo) {
		if m.CorrelationID == "dry-cmd-start" && m.Subject == string(arrops.EventSessionWouldStop) {
			replies = append(replies, decodeEvent(t, m).Reason)
		}
	}
	if len(replies) != 1 || replies[0] != want {
		t.Errorf("reply queue WouldStop reasons %q, want one %q", replies, want)
	}
}

// arrStatus reads a session's status from ARR directly.
func arrStatus(t testing.TB, s *system, arrc *arr.Client, id string) arrops.SessionStatus {
	t.Helper()
	resp, err := arrc.GetSession(s.ctx, id, nil)
	if err != nil {
		t.Fatalf("get %s from ARR: %v", id, err)
	}
	return resp.Status
}
