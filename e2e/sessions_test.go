package e2e

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/stack"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/store"
)

// TestSessionLifecycle drives one session through the whole slice over real
// processes: a start command is recorded Starting, watch records Ready with
// the hostname after the simulated start-up, a stop command records Stopped
// with ARR's elapsed minutes, and the record outlives ARR's List. Every
// transition reaches arr-events exactly once and the requester's reply
// queue with its CorrelationId.
func TestSessionLifecycle(t *testing.T) {
	// Simulated time runs 60x: start-up (5 simulated minutes) takes 5 s and
	// every real second adds an elapsed minute, so the stopped record has
	// elapsed minutes to show. The lease (600 simulated minutes) outlasts the test.
	s := startSessions(t, stack.Options{
		SimArgs:  []string{"-ready-after", "5m", "-clock-speed", "60"},
		Settings: map[string]string{"WATCH_SCHEDULE": "*/1 * * * * *"},
	})
	const (
		id      = "life-1"
		replyTo = "e2e-life-replies"
		startID = "life-start"
		stopID  = "life-stop"
		// stopAgainID is a second stop command, after the session ended.
		stopAgainID = "life-stop-again"
	)
	s.send(`{"action":"start","sessionId":"life-1","size":"standard","maxLeaseTimeMinutes":600,"requestedBy":"viewer-app","tags":{"project":"plant-7"}}`,
		notify.Message{MessageID: startID, ReplyTo: replyTo})

	// The intent (Requested) is recorded before ARR is called; the first
	// status ARR answers with is Starting.
	rec := s.waitSession(id, 20*time.Second, func(r *arrops.Session) error {
		if r.Status == arrops.SessionRequested {
			return fmt.Errorf("status %s: ARR has not answered yet", r.Status)
		}
		return nil
	})
	if rec.Status != arrops.SessionStarting {
		t.Fatalf("first record status %s, want Starting (the simulator takes 5 s to Ready)", rec.Status)
	}
	if rec.Origin != arrops.OriginCommand || rec.RequestedBy != "viewer-app" || rec.Tags["project"] != "plant-7" ||
		rec.Size != arrops.SizeStandard || rec.MaxLeaseMinutes != 600 || rec.ReplyTo != replyTo || rec.CorrelationID != startID {
		t.Fatalf("starting record %+v: want command origin, requester viewer-app, tag project=plant-7, Standard, 600 min, reply %s/%s", rec, replyTo, startID)
	}

	ready := s.waitSession(id, 20*time.Second, func(r *arrops.Session) error {
		if r.Status != arrops.SessionReady || r.Hostname == "" {
			return fmt.Errorf("status %s hostname %q, want Ready with a hostname", r.Status, r.Hostname)
		}
		return nil
	})
	if ready.HandshakePort == 0 || ready.ReadyAt.IsZero() || ready.RequestedBy != "viewer-app" {
		t.Fatalf("ready record %+v: want handshake port, ReadyAt and the requester kept", ready)
	}

	// Let ARR's clock run past a minute of Ready time, so the elapsed minutes
	// the stop records cannot be 0 however fast watch saw Ready.
	s.advanceSim(2 * time.Minute)
	s.send(`{"action":"stop","sessionId":"life-1","requestedBy":"viewer-app"}`, notify.Message{MessageID: stopID, ReplyTo: replyTo})
	stopped := s.waitSession(id, 20*time.Second, func(r *arrops.Session) error {
		if r.Status != arrops.SessionStopped || !r.AnnounceClaimedAt.IsZero() {
			return fmt.Errorf("status %s, announcement pending %v; want Stopped and announced", r.Status, !r.AnnounceClaimedAt.IsZero())
		}
		return nil
	})
	if stopped.ElapsedMinutes < 1 || stopped.Size != arrops.SizeStandard || stopped.StoppedAt.Before(stopped.ReadyAt) ||
		!strings.Contains(stopped.StopReason, "command from viewer-app") || stopped.Hostname != "" {
		t.Fatalf("stopped record %+v: want elapsed minutes >= 1, Standard, StoppedAt after ReadyAt, reason naming the command, hostname dropped", stopped)
	}

	// ARR lists active sessions only: life-1 is gone from List, yet its record
	// stays, and a later watch sweep neither loses nor rewrites it.
	for _, a := range listARR(s) {
		if a.ID == id {
			t.Fatalf("ARR still lists %s as %s after the stop", id, a.Status)
		}
	}
	// A second stop (another message) finds the session stopped: a recorded
	// no-op that writes nothing to the session record.
	s.send(`{"action":"stop","sessionId":"life-1","requestedBy":"other-app"}`, notify.Message{MessageID: stopAgainID, ReplyTo: replyTo})
	s.eventually(20*time.Second, "audit row of the second stop", func() error {
		rows := s.audit(stopAgainID)
		if len(rows) != 1 || rows[0].Outcome != arrops.OutcomeNoop || rows[0].Reason != "session is already Stopped" {
			return fmt.Errorf("audit rows %+v, want one noop: already Stopped", rows)
		}
		return nil
	})
	s.fire("watch")
	after := s.session(id)
	if after == nil || after.Status != arrops.SessionStopped || after.ETag != stopped.ETag || after.ElapsedMinutes != stopped.ElapsedMinutes {
		t.Fatalf("record after the session left List and watch ran: %+v; want it unchanged (ETag %s)", after, stopped.ETag)
	}

	// arr-events: Starting, Ready, Stopped, once each, filterable by Subject
	// and application properties.
	events := drain(s, config.EventsTopic)
	got := map[arrops.EventType][]arrops.Event{}
	for _, m := range events {
		ev := decodeEvent(t, m)
		if ev.SessionID != id {
			continue
		}
		if m.Subject != string(ev.Type) {
			t.Errorf("event %s has Subject %q", ev.Type, m.Subject)
		}
		if p := m.ApplicationProperties; p["sessionId"] != id || p["requestedBy"] != "viewer-app" || p["size"] != "Standard" {
			t.Errorf("event %s application properties %v: want sessionId, requestedBy and size", ev.Type, p)
		}
		got[ev.Type] = append(got[ev.Type], ev)
	}
	for _, typ := range []arrops.EventType{arrops.EventSessionStarting, arrops.EventSessionReady, arrops.EventSessionStopped} {
		if len(got[typ]) != 1 {
			t.Errorf("arr-events has %d %s events for %s, want exactly 1", len(got[typ]), typ, id)
		}
	}
	if len(got) != 3 {
		t.Errorf("arr-events has event types %v for %s, want Starting, Ready, Stopped", keys(got), id)
	}
	if evs := got[arrops.EventSessionReady]; len(evs) == 1 && (evs[0].Hostname != ready.Hostname || evs[0].HandshakePort != ready.HandshakePort) {
		t.Errorf("Ready event %+v: want hostname %s and port %d", evs[0], ready.Hostname, ready.HandshakePort)
	}
	if evs := got[arrops.EventSessionStopped]; len(evs) == 1 && (evs[0].Reason != stopped.StopReason || evs[0].ElapsedMinutes != stopped.ElapsedMinutes) {
		t.Errorf("Stopped event %+v: want reason %q and %d elapsed minutes", evs[0], stopped.StopReason, stopped.ElapsedMinutes)
	}

	// The reply queue: one CommandReply per command, and the transitions of
	// the session it started, all correlated with the start command.
	replies := drain(s, replyTo)
	var startReply, stopReply []arrops.CommandReply
	announced := map[string]int{}
	for _, m := range replies {
		switch {
		case m.Subject == "CommandReply" && m.CorrelationID == startID:
			startReply = append(startReply, decodeReply(t, m))
		case m.Subject == "CommandReply" && m.CorrelationID == stopID:
			stopReply = append(stopReply, decodeReply(t, m))
		case m.Subject == "CommandReply" && m.CorrelationID == stopAgainID:
			if r := decodeReply(t, m); r.Outcome != arrops.OutcomeNoop {
				t.Errorf("second stop answered %+v, want noop", r)
			}
		case m.CorrelationID == startID:
			announced[m.Subject]++
		default:
			t.Errorf("unexpected reply %s (correlation %q)", m.Subject, m.CorrelationID)
		}
	}
	if len(startReply) != 1 || startReply[0].Outcome != arrops.OutcomeAccepted || startReply[0].SessionID != id ||
		startReply[0].Session == nil || startReply[0].Session.Status != string(arrops.SessionStarting) {
		t.Errorf("start replies %+v: want one accepted reply with the Starting session", startReply)
	}
	if len(stopReply) != 1 || stopReply[0].Outcome != arrops.OutcomeAccepted || stopReply[0].Session == nil ||
		stopReply[0].Session.Status != string(arrops.SessionStopped) {
		t.Errorf("stop replies %+v: want one accepted reply with the Stopped session", stopReply)
	}
	want := map[string]int{"SessionStarting": 1, "SessionReady": 1, "SessionStopped": 1}
	if fmt.Sprint(announced) != fmt.Sprint(want) {
		t.Errorf("transitions sent to the reply queue %v, want %v", announced, want)
	}
}

// TestStartRedelivery sends a start command while the simulator holds the
// create call and SIGKILLs the handler mid-request: the intent (Requested) is
// recorded, ARR creates the session after the handler died, devhost restarts
// the handler and the message comes again; the redelivery finds its own
// Requested record and finishes it. Then the same command is sent twice more
// (one MessageId), and each answer comes from the record. ARR ends up with
// one session, the store with one record, and one audit row per completed
// delivery: the redelivery + 2 (the killed delivery died before its row).
func TestStartRedelivery(t *testing.T) {
	// Timers out of the way (yearly): the only ARR calls are the commands'.
	s := startSessions(t, stack.Options{Settings: map[string]string{
		"WATCH_SCHEDULE": "0 0 0 1 1 *", "SHUTDOWN_SCHEDULE": "0 0 0 1 1 *"}})
	const msgID = "dup-start-1" // a valid id: the session id is derived from it
	body := `{"action":"start","requestedBy":"dup-app"}`

	creates := s.simStats().CreateSession
	s.setFaults(`{"latency":"20s"}`)
	s.send(body, notify.Message{MessageID: msgID})
	s.eventually(20*time.Second, "the create reaching the simulator", func() error {
		if n := s.simStats().CreateSession; n != creates+1 {
			return fmt.Errorf("%d create calls, want %d", n, creates+1)
		}
		return nil
	})
	if recs := s.sessions(); len(recs) != 1 || recs[0].Status != arrops.SessionRequested {
		t.Errorf("records while ARR holds the create: %+v, want the one Requested intent", recs)
	}
	killed, err := s.stack.KillHandler()
	if err != nil {
		t.Fatal(err)
	}
	s.setFaults(`{}`)
	s.eventually(30*time.Second, "the redelivery after the kill", func() error {
		if got := len(s.audit(msgID)); got != 1 {
			return fmt.Errorf("%d audit rows", got)
		}
		return nil
	})
	if pid, err := s.stack.HandlerPID(); err != nil || pid == killed {
		t.Fatalf("handler after the kill: pid %d (%v); want a new process, not %d", pid, err, killed)
	}
	for n := 2; n <= 3; n++ {
		s.send(body, notify.Message{MessageID: msgID})
		s.eventually(20*time.Second, fmt.Sprintf("audit row of send %d", n), func() error {
			if got := len(s.audit(msgID)); got != n {
				return fmt.Errorf("%d audit rows", got)
			}
			return nil
		})
	}

	rows := s.audit(msgID)
	sort.Slice(rows, func(i, j int) bool { return rows[i].At.Before(rows[j].At) })
	var counts []int
	invocations := map[string]bool{}
	for i, a := range rows {
		counts = append(counts, a.DeliveryCount)
		invocations[a.InvocationID] = true
		// Every delivery of the command that started the session is accepted.
		if a.Outcome != arrops.OutcomeAccepted || a.SessionID != msgID || a.Action != arrops.ActionStart || a.RequestedBy != "dup-app" {
			t.Errorf("audit row %d: %+v; want accepted start of %s by dup-app", i, a, msgID)
		}
	}
	if fmt.Sprint(counts) != "[2 1 1]" || len(invocations) != 3 || invocations[""] {
		t.Errorf("delivery counts %v, %d distinct invocation ids: want [2 1 1] (the redelivery, then two sends) and 3 ids", counts, len(invocations))
	}
	if n := s.simStats().CreateSession; n != creates+2 {
		t.Errorf("%d create calls, want %d (the killed one and the redelivery; later sends answer from the record)", n-creates, 2)
	}

	var listed []string
	for _, a := range listARR(s) {
		listed = append(listed, a.ID)
	}
	if fmt.Sprint(listed) != "["+msgID+"]" {
		t.Errorf("ARR lists %v, want exactly one session %s", listed, msgID)
	}
	var recorded []string
	for _, r := range s.sessions() {
		recorded = append(recorded, r.ID)
	}
	if fmt.Sprint(recorded) != "["+msgID+"]" {
		t.Errorf("records %v, want exactly one session %s", recorded, msgID)
	}
	starting := 0
	for _, m := range drain(s, config.EventsTopic) {
		if ev := decodeEvent(t, m); ev.SessionID == msgID && ev.Type == arrops.EventSessionStarting {
			starting++
		}
	}
	if starting != 1 {
		t.Errorf("%d SessionStarting events, want 1", starting)
	}
	if n := s.queueLength(config.CommandsQueue + "-deadletter"); n != 0 {
		t.Errorf("%d dead-lettered commands, want 0", n)
	}
}

// TestMalformedCommands sends one message per way a command can be wrong.
// Each is answered with a 2xx (acknowledged on the first delivery, never
// dead-lettered), leaves exactly one audit row with the reason, and gets a
// reply when it has a ReplyTo.
func TestMalformedCommands(t *testing.T) {
	s := startSessions(t, stack.Options{Settings: map[string]string{
		"WATCH_SCHEDULE": "0 0 0 1 1 *", "SHUTDOWN_SCHEDULE": "0 0 0 1 1 *"}})
	// A session made in ARR directly, for the cases ARR itself refuses.
	arrc := newARR(t, s)
	if _, err := arrc.CreateSession(s.ctx, "mal-existing", arr.SessionSettings{MaxLeaseTimeMinutes: 60, Size: arr.SessionSizeStandard}, nil); err != nil {
		t.Fatal(err)
	}
	const replyTo = "e2e-malformed-replies"
	cases := []struct {
		name    string
		body    string
		raw     bool // enqueue as bare queue text (no envelope, so no ReplyTo)
		outcome arrops.Outcome
		reason  string // substring of the recorded reason
	}{
		{name: "bad JSON", body: `{"action":"start",`, reason: "not a valid command"},
		{name: "array", body: `["start"]`, reason: "not a valid command"},
		{name: "null", body: `null`, reason: "no action"},
		{name: "data after the object", body: `{"action":"stop","sessionId":"a"}{"action":"start"}`, reason: "data after the command object"},
		{name: "unknown field", body: `{"action":"start","colour":"red"}`, reason: `unknown field "colour"`},
		{name: "no action", body: `{"sessionId":"x1"}`, reason: "no action"},
		{name: "unknown action", body: `{"action":"restart","sessionId":"x1"}`, reason: `unknown action "restart"`},
		{name: "bad size", body: `{"action":"start","size":"Huge"}`, reason: `size "Huge" is not Standard or Premium`},
		{name: "lease 2000", body: `{"action":"start","maxLeaseTimeMinutes":2000}`, reason: "maxLeaseTimeMinutes 2000 is outside 1..1440"},
		{name: "negative lease", body: `{"action":"start","maxLeaseTimeMinutes":-1}`, reason: "maxLeaseTimeMinutes -1 is outside 1..1440"},
		{name: "lease as text", body: `{"action":"start","maxLeaseTimeMinutes":"60"}`, reason: "not a valid command"},
		{name: "extend to lease 0", body: `{"action":"extend","sessionId":"mal-existing","maxLeaseTimeMinutes":0}`, reason: "maxLeaseTimeMinutes 0 is outside 1..1440"},
		{name: "extend without lease", body: `{"action":"extend","sessionId":"mal-existing"}`, reason: "extend needs maxLeaseTimeMinutes"},
		{name: "stop without sessionId", body: `{"action":"stop"}`, reason: "stop needs a sessionId"},
		{name: "oversize id", body: `{"action":"stop","sessionId":"` + strings.Repeat("a", 257) + `"}`, reason: "the limit is 256"},
		{name: "id with a slash", body: `{"action":"start","sessionId":"a/b"}`, reason: `has character '/'`},
		{name: "requester too long", body: `{"action":"start","requestedBy":"` + strings.Repeat("r", 257) + `"}`, reason: "requestedBy is 257 characters, the limit is 256"},
		{name: "empty body", body: ``, reason: "not a valid command"},
		// A .NET sender that wrote the JSON as UTF-16 (Encoding.Unicode, with BOM).
		{name: "not UTF-8", body: base64.StdEncoding.EncodeToString(utf16LE(`{"action":"start"}`)), raw: true, reason: "not a valid command"},
		{name: "plain text", body: "please start a session", raw: true, reason: "not a valid command"},
		// ARR refuses these; its code and MS-CV are kept in the reason.
		{name: "same id, other settings", body: `{"action":"start","sessionId":"mal-existing","size":"Premium"}`, reason: "already exists with other settings (ARR 409 Conflict)"},
		{name: "extend to a shorter lease", body: `{"action":"extend","sessionId":"mal-existing","maxLeaseTimeMinutes":30}`, reason: "ARR refused the extend: 422"},
		{name: "extend unknown session", body: `{"action":"extend","sessionId":"mal-nobody","maxLeaseTimeMinutes":90}`, reason: "unknown session"},
		// Not errors: recorded no-ops.
		{name: "stop unknown session", body: `{"action":"stop","sessionId":"mal-nobody"}`, outcome: arrops.OutcomeNoop, reason: "unknown session"},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		if c.raw {
			resp, err := s.queues.NewQueueClient(config.CommandsQueue).EnqueueMessage(s.ctx, c.body, nil)
			if err != nil || len(resp.Messages) != 1 || resp.Messages[0].MessageID == nil {
				t.Fatalf("%s: enqueue: %v", c.name, err)
			}
			ids[i] = *resp.Messages[0].MessageID
			continue
		}
		ids[i] = fmt.Sprintf("mal-%02d", i)
		s.send(c.body, notify.Message{MessageID: ids[i], ReplyTo: replyTo})
	}

	s.eventually(40*time.Second, "every command acknowledged", func() error {
		if n := s.queueLength(config.CommandsQueue); n != 0 {
			return fmt.Errorf("%d messages still on %s", n, config.CommandsQueue)
		}
		return nil
	})
	if n := s.queueLength(config.CommandsQueue + "-deadletter"); n != 0 {
		t.Errorf("%d messages dead-lettered, want 0", n)
	}
	if strings.Contains(s.logs.String(), "invocation failed") {
		t.Errorf("an invocation failed (non-2xx); the host would retry it")
	}
	rows := map[string][]*arrops.CommandAudit{}
	for _, a := range s.audit("") {
		rows[a.MessageID] = append(rows[a.MessageID], a)
	}
	replies := map[string][]arrops.CommandReply{}
	for _, m := range drain(s, replyTo) {
		replies[m.CorrelationID] = append(replies[m.CorrelationID], decodeReply(t, m))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := c.outcome
			if want == "" {
				want = arrops.OutcomeRejected
			}
			rs := rows[ids[i]]
			if len(rs) != 1 {
				t.Fatalf("%d audit rows for message %s, want 1", len(rs), ids[i])
			}
			a := rs[0]
			if a.Outcome != want || !strings.Contains(a.Reason, c.reason) || a.DeliveryCount != 1 {
				t.Errorf("audit %+v: want %s, reason containing %q, first delivery", a, want, c.reason)
			}
			if strings.Contains(c.reason, "ARR refused") && !strings.Contains(a.Reason, "MS-CV ") {
				t.Errorf("reason %q lost ARR's MS-CV", a.Reason)
			}
			if c.raw {
				return
			}
			rp := replies[ids[i]]
			if len(rp) != 1 || rp[0].Outcome != want || rp[0].Reason != a.Reason {
				t.Errorf("replies %+v: want one %s reply saying %q", rp, want, a.Reason)
			}
		})
	}
	if n := s.simStats().CreateSession; n != 2 {
		// mal-existing, and the start with other settings that ARR refused.
		t.Errorf("%d create calls reached ARR, want 2: invalid commands must not", n)
	}
}

// startSessions is startSystem with the record tables in place, so a test
// can look for a record before the handler's first write created them.
func startSessions(t *testing.T, opts stack.Options) *system {
	t.Helper()
	began := time.Now()
	s := startSystem(t, opts)
	if err := s.store.EnsureTables(s.ctx); err != nil {
		t.Fatalf("create the record tables: %v", err)
	}
	t.Logf("local system up in %s (the first test also builds the binaries)", time.Since(began).Round(time.Millisecond))
	return s
}

// newARR returns an ARR client on the stack's simulator, as another tool
// (the portal, a script) would use it.
func newARR(t testing.TB, s *system) *arr.Client {
	t.Helper()
	cred, err := arr.NewAccountKeyCredential(stack.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := arr.NewClient(s.stack.SimURL, stack.AccountID, cred, &arr.ClientOptions{
		AccountDomain: s.stack.Settings["ARR_ACCOUNT_DOMAIN"], STSEndpoint: s.stack.SimURL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// listARR returns every session ARR lists (active ones only).
func listARR(s *system) []arr.Session {
	s.t.Helper()
	var out []arr.Session
	pager := newARR(s.t, s).NewListSessionsPager(nil)
	for pager.More() {
		page, err := pager.NextPage(s.ctx)
		if err != nil {
			s.t.Fatalf("list ARR sessions: %v", err)
		}
		out = append(out, page.Sessions...)
	}
	return out
}

// drain takes every message now on a local queue.
func drain(s *system, queue string) []notify.Message {
	s.t.Helper()
	var out []notify.Message
	for {
		msgs := s.receive(queue, 32, 0)
		if len(msgs) == 0 {
			return out
		}
		out = append(out, msgs...)
	}
}

func decodeEvent(t testing.TB, m notify.Message) arrops.Event {
	t.Helper()
	var ev arrops.Event
	if err := json.Unmarshal(m.Body, &ev); err != nil {
		t.Fatalf("event %s: %v: %s", m.MessageID, err, m.Body)
	}
	return ev
}

func decodeReply(t testing.TB, m notify.Message) arrops.CommandReply {
	t.Helper()
	var r arrops.CommandReply
	if err := json.Unmarshal(m.Body, &r); err != nil {
		t.Fatalf("reply %s: %v: %s", m.MessageID, err, m.Body)
	}
	return r
}

// utf16LE encodes ASCII text as UTF-16 little endian with a byte order mark.
func utf16LE(text string) []byte {
	b := []byte{0xff, 0xfe}
	for i := 0; i < len(text); i++ {
		b = append(b, text[i], 0)
	}
	return b
}

func keys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// updateRecord applies change to the record of id and writes it
// ETag-conditionally, re-reading when the handler wrote in between.
func updateRecord(s *system, id string, change func(*arrops.Session)) *arrops.Session {
	s.t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		rec := s.session(id)
		if rec == nil {
			s.t.Fatalf("update %s: no record", id)
		}
		change(rec)
		err := s.store.UpdateSession(s.ctx, rec)
		if err == nil {
			return rec
		}
		if !errors.Is(err, store.ErrConcurrentUpdate) {
			s.t.Fatalf("update %s: %v", id, err)
		}
	}
	s.t.Fatalf("update %s: the record kept changing", id)
	return nil
}
