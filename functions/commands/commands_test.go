package commands_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/commands"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/internal/syncbuf"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/schedule"
	"github.com/arrops/arrops/store"
	"github.com/arrops/arrops/store/memstore"
	"github.com/arrops/arrops/trigger"
)

// cmdEnv is the commands function wired to records in memory, an
// in-process simulator over HTTP and the memory bus.
type cmdEnv struct {
	t       testing.TB
	arrc    *arr.Client
	ctx     context.Context
	sim     *arrsim.Server
	st      *memstore.Store
	bus     *functest.Bus
	handler http.HandlerFunc
	stdout  *syncbuf.Buffer
	invSeq  atomic.Int64
	// storageDown makes opening the records fail (before first use only:
	// Lazy keeps a built value).
	storageDown atomic.Bool
	cfg         *config.Config
	pool        *functions.Pool
	reserve     *functions.Reservations
	due         *schedule.Memory
}

func newCmdEnv(t testing.TB) *cmdEnv {
	t.Helper()
	return newCmdEnvWith(t, nil)
}

// newCmdEnvWith is newCmdEnv with more settings (a warm pool: e.pool).
func newCmdEnvWith(t testing.TB, settings map[string]string) *cmdEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	sim, url := functest.Sim(t, arrsim.Options{ReadyAfter: time.Second}, nil)
	// No client retries: a transient ARR answer must reach the function, which
	// fails the invocation so the host redelivers.
	arrc := functest.ARR(t, url, azpolicy.ClientOptions{Retry: functest.NoRetries})
	st := functest.Records()
	cfg := functest.Config(t, functest.NoStorage, map[string]string{"ARR_DEFAULT_LEASE_MINUTES": "45"}, settings)
	e := &cmdEnv{t: t, ctx: ctx, sim: sim, arrc: arrc, st: st, bus: &functest.Bus{}, stdout: &syncbuf.Buffer{}, cfg: cfg}
	records := &functions.Lazy[commands.Records]{New: func(context.Context) (commands.Records, error) {
		if e.storageDown.Load() {
			return nil, errors.New("table service unreachable")
		}
		return st, nil
	}}
	e.due = &schedule.Memory{}
	e.reserve = &functions.Reservations{ARR: functions.Value(arrc), Bus: functions.Value[functions.Publisher](e.bus),
		Due: functions.Value[schedule.Scheduler](e.due), Records: functions.Value[functions.ReservationRecords](st)}
	if cfg.Pool.Enabled() {
		e.pool = &functions.Pool{Config: cfg.Pool, ARR: functions.Value(arrc), Records: functions.Value[functions.PoolRecords](st)}
	}
	f := commands.New(commands.Deps{Config: cfg, ARR: functions.Value(arrc), Bus: functions.Value[functions.Publisher](e.bus),
		Records: records, Now: time.Now, Pool: e.pool, Reservations: e.reserve})
	e.handler = functions.Handle("commands", f, e.stdout, slog.LevelInfo)
	return e
}

// post delivers an invocation body as the host does and returns the status
// and decoded response.
func (e *cmdEnv) post(body []byte) (int, trigger.Response) {
	e.t.Helper()
	return e.postAs(e.t, body)
}

// postAs is post failing t (a fuzz input's T) instead of the env's.
func (e *cmdEnv) postAs(t testing.TB, body []byte) (int, trigger.Response) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/commands", bytes.NewReader(body)).WithContext(e.ctx)
	req.Header.Set(trigger.HeaderInvocationID, fmt.Sprintf("inv-%d", e.invSeq.Add(1)))
	rec := httptest.NewRecorder()
	e.handler(rec, req)
	var resp trigger.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", rec.Code, err, rec.Body)
	}
	return rec.Code, resp
}

// deliver sends a Service Bus message carrying body.
func (e *cmdEnv) deliver(id, body string, deliveryCount int, replyTo string) (int, trigger.Response) {
	e.t.Helper()
	b, err := trigger.EncodeServiceBusInvocation(commands.Binding, trigger.ServiceBusMessage{
		Body: []byte(body), MessageID: id, DeliveryCount: deliveryCount, ReplyTo: replyTo,
		ContentType: "application/json", EnqueuedTime: time.Now().UTC(), SequenceNumber: 1,
		Sys: trigger.NewSys("commands", time.Now())})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.post(b)
}

func (e *cmdEnv) audit(messageID string) []*arrops.CommandAudit {
	e.t.Helper()
	now := time.Now().UTC()
	var out []*arrops.CommandAudit
	for a, err := range e.st.AuditByDay(e.ctx, now.Add(-48*time.Hour), now.Add(48*time.Hour)) {
		if err != nil {
			e.t.Fatal(err)
		}
		if messageID == "" || a.MessageID == messageID {
			out = append(out, a)
		}
	}
	return out
}

func (e *cmdEnv) session(id string) *arrops.Session {
	e.t.Helper()
	s, err := e.st.GetSession(e.ctx, id)
	return functest.Found(e.t, s, err)
}

func replies(t *testing.T, msgs []notify.Message, subject string) []arrops.CommandReply {
	t.Helper()
	var out []arrops.CommandReply
	for _, m := range msgs {
		if m.Subject != subject {
			continue
		}
		var r arrops.CommandReply
		if err := json.Unmarshal(m.Body, &r); err != nil {
			t.Fatalf("reply body: %v", err)
		}
		out = append(out, r)
	}
	return out
}

// TestCommands runs every commands scenario, each on its own records.
func TestCommands(t *testing.T) {
	t.Run("StartIdempotent", func(t *testing.T) { testStartIdempotent(t, newCmdEnv(t)) })
	t.Run("StartFixture", func(t *testing.T) { testStartFixture(t, newCmdEnv(t)) })
	t.Run("Conflict", func(t *testing.T) { testConflict(t, newCmdEnv(t)) })
	t.Run("Stop", func(t *testing.T) { testStop(t, newCmdEnv(t)) })
	t.Run("Extend", func(t *testing.T) { testExtend(t, newCmdEnv(t)) })
	t.Run("Transient", func(t *testing.T) { testTransient(t, newCmdEnv(t)) })
	t.Run("Unauthorized", func(t *testing.T) { testUnauthorized(t, newCmdEnv(t)) })
	t.Run("Malformed", func(t *testing.T) { testMalformed(t, newCmdEnv(t)) })
	t.Run("ReplyQueueGone", func(t *testing.T) { testReplyQueueGone(t, newCmdEnv(t)) })
	t.Run("StorageDown", func(t *testing.T) { testStorageDown(t, newCmdEnv(t)) })
	t.Run("Pooled", func(t *testing.T) { testPooled(t) })
	t.Run("Reserve", func(t *testing.T) { testReserve(t, newCmdEnv(t)) })
}

// The same start delivered three times: one ARR session, one record, one
// Starting event, three audit rows (accepted, then two no-ops).
func testStartIdempotent(t *testing.T, e *cmdEnv) {
	body := `{"action":"start","size":"premium","requestedBy":"viewer","tags":{"project":"p7"}}`
	for i := 1; i <= 3; i++ {
		if code, resp := e.deliver("msg-start-1", body, i, "viewer-replies"); code != http.StatusOK {
			t.Fatalf("delivery %d: %d %v", i, code, resp.Logs)
		}
	}
	rec := e.session("msg-start-1") // id derived from the MessageId
	if rec == nil {
		t.Fatal("no record for the derived session id")
	}
	if rec.Status != arrops.SessionStarting || rec.Size != arrops.SizePremium || rec.RequestedBy != "viewer" ||
		rec.Tags["project"] != "p7" || rec.MaxLeaseMinutes != 45 || rec.Origin != arrops.OriginCommand ||
		rec.ReplyTo != "viewer-replies" || rec.CorrelationID != "msg-start-1" {
		t.Errorf("record %+v", rec)
	}
	if st := e.sim.Stats(); st.CreateSession != 1 {
		t.Errorf("ARR creates %d, want 1 (a redelivery finds ARR's answer recorded)", st.CreateSession)
	}
	rows := e.audit("msg-start-1")
	if len(rows) != 3 {
		t.Fatalf("%d audit rows, want 3: %+v", len(rows), rows)
	}
	outcomes := map[arrops.Outcome]int{}
	for _, a := range rows {
		outcomes[a.Outcome]++
		if a.SessionID != "msg-start-1" || a.Action != arrops.ActionStart || a.InvocationID == "" {
			t.Errorf("audit row %+v", a)
		}
	}
	if outcomes[arrops.OutcomeAccepted] != 3 {
		t.Errorf("outcomes %v, want 3 accepted (every delivery of the command that started the session)", outcomes)
	}
	if n := functest.Subjects(e.bus.To(config.EventsTopic))[string(arrops.EventSessionStarting)]; n != 1 {
		t.Errorf("%d SessionStarting events, want 1", n)
	}
	reps := replies(t, e.bus.To("viewer-replies"), "CommandReply")
	if len(reps) != 3 || reps[0].Outcome != arrops.OutcomeAccepted || reps[0].Session == nil || reps[0].Session.SessionID != "msg-start-1" {
		t.Errorf("replies %+v", reps)
	}
	for _, m := range e.bus.To("viewer-replies") {
		if m.CorrelationID != "msg-start-1" {
			t.Errorf("reply %s has CorrelationId %q", m.Subject, m.CorrelationID)
		}
	}
}

// The captured Service Bus payload (double-encoded body, shadowed SessionId).
func testStartFixture(t *testing.T, e *cmdEnv) {
	body := functest.Fixture(t, "servicebus-trigger-start-command.json")
	if code, resp := e.post(body); code != http.StatusOK {
		t.Fatalf("%d %v", code, resp.Logs)
	}
	rec := e.session("sess-7f3a9c")
	if rec == nil || rec.RequestedBy != "viewer-app" || rec.Tags["project"] != "plant-7" || rec.MaxLeaseMinutes != 60 ||
		rec.Size != arrops.SizeStandard || rec.ReplyTo != "arr-replies" {
		t.Fatalf("record %+v", rec)
	}
	if reps := replies(t, e.bus.To("arr-replies"), "CommandReply"); len(reps) != 1 || reps[0].Outcome != arrops.OutcomeAccepted {
		t.Errorf("replies %+v", reps)
	}
}

func testConflict(t *testing.T, e *cmdEnv) {
	if code, _ := e.deliver("m-c1", `{"action":"start","sessionId":"conf-1","maxLeaseTimeMinutes":30}`, 1, "r"); code != http.StatusOK {
		t.Fatal(code)
	}
	code, _ := e.deliver("m-c2", `{"action":"start","sessionId":"conf-1","maxLeaseTimeMinutes":90}`, 1, "r")
	if code != http.StatusOK {
		t.Fatalf("conflicting start: %d, want 200 (permanent: recorded, not retried)", code)
	}
	rows := e.audit("m-c2")
	if len(rows) != 1 || rows[0].Outcome != arrops.OutcomeRejected || !strings.Contains(rows[0].Reason, "already exists with other settings") ||
		!strings.Contains(rows[0].Reason, "409") {
		t.Fatalf("audit %+v", rows)
	}
	if rec := e.session("conf-1"); rec.MaxLeaseMinutes != 30 {
		t.Errorf("the rejected start changed the record: lease %d", rec.MaxLeaseMinutes)
	}
	reps := replies(t, e.bus.To("r"), "CommandReply")
	if len(reps) != 2 || reps[1].Outcome != arrops.OutcomeRejected || reps[1].Reason != rows[0].Reason {
		t.Errorf("replies %+v", reps)
	}
}

func testStop(t *testing.T, e *cmdEnv) {
	if code, _ := e.deliver("m-s1", `{"action":"start","sessionId":"stop-1","requestedBy":"ann"}`, 1, ""); code != http.StatusOK {
		t.Fatal(code)
	}
	e.sim.Advance(2 * time.Second) // Ready
	cases := []struct {
		name, msgID, body string
		delivery          int
		outcome           arrops.Outcome
		reason            string
	}{
		{"stop", "m-s2", `{"action":"stop","sessionId":"stop-1","requestedBy":"bob"}`, 1, arrops.OutcomeAccepted, "stopped by command from bob (message m-s2)"},
		{"redelivered stop", "m-s2", `{"action":"stop","sessionId":"stop-1","requestedBy":"bob"}`, 2, arrops.OutcomeAccepted, "stopped by command from bob (message m-s2)"},
		{"another stop", "m-s3", `{"action":"stop","sessionId":"stop-1"}`, 1, arrops.OutcomeNoop, "session is already Stopped"},
		{"unknown session", "m-s4", `{"action":"stop","sessionId":"never-started"}`, 1, arrops.OutcomeNoop, "unknown session: ARR has no session with this id"},
	}
	for _, c := range cases {
		code, resp := e.deliver(c.msgID, c.body, c.delivery, "stop-replies")
		if code != http.StatusOK {
			t.Fatalf("%s: %d %v", c.name, code, resp.Logs)
		}
		rows := e.audit(c.msgID)
		last := rows[len(rows)-1]
		for _, a := range rows {
			if a.DeliveryCount == c.delivery {
				last = a
			}
		}
		if last.Outcome != c.outcome || last.Reason != c.reason {
			t.Errorf("%s: audit %s %q, want %s %q", c.name, last.Outcome, last.Reason, c.outcome, c.reason)
		}
	}
	rec := e.session("stop-1")
	if rec.Status != arrops.SessionStopped || rec.StopReason != "stopped by command from bob (message m-s2)" || rec.StoppedAt.IsZero() ||
		rec.Hostname != "" || rec.Size != arrops.SizeStandard {
		t.Errorf("record %+v", rec)
	}
	// A session started outside arrops: the stop adopts and ends its record.
	if _, err := e.arrc.CreateSession(e.ctx, "portal-1", arr.SessionSettings{MaxLeaseTimeMinutes: 30, Size: "Premium"}, nil); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.deliver("m-s5", `{"action":"stop","sessionId":"portal-1","requestedBy":"ops"}`, 1, ""); code != http.StatusOK {
		t.Fatal(code)
	}
	if s := e.session("portal-1"); s == nil || s.Status != arrops.SessionStopped || s.Origin != arrops.OriginExternal ||
		s.Size != arrops.SizePremium || s.StopReason != "stopped by command from ops (message m-s5)" {
		t.Errorf("external session after stop: %#v", s)
	}
	if e.session("never-started") != nil {
		t.Error("a stop of an unknown session made a record")
	}
	if st := e.sim.Stats(); st.StopSession != 3 { // m-s2, the unknown one and portal-1; redelivery and m-s3 answer from the record
		t.Errorf("ARR stops %d, want 3", st.StopSession)
	}
	if n := functest.Subjects(e.bus.To(config.EventsTopic))[string(arrops.EventSessionStopped)]; n != 2 {
		t.Errorf("%d SessionStopped events, want 2 (stop-1, portal-1)", n)
	}
	if reps := replies(t, e.bus.To("stop-replies"), "CommandReply"); len(reps) != 4 {
		t.Errorf("%d replies, want 4", len(reps))
	}
}

func testExtend(t *testing.T, e *cmdEnv) {
	if code, _ := e.deliver("m-e1", `{"action":"start","sessionId":"ext-1","maxLeaseTimeMinutes":30}`, 1, ""); code != http.StatusOK {
		t.Fatal(code)
	}
	before := time.Now()
	if code, _ := e.deliver("m-e2", `{"action":"extend","sessionId":"ext-1","maxLeaseTimeMinutes":120}`, 1, ""); code != http.StatusOK {
		t.Fatal(code)
	}
	rec := e.session("ext-1")
	if rec.MaxLeaseMinutes != 120 || rec.ExtendedUntil.Before(before.Add(119*time.Minute)) {
		t.Errorf("record after extend: lease %d, extendedUntil %v", rec.MaxLeaseMinutes, rec.ExtendedUntil)
	}
	if a := e.audit("m-e2"); len(a) != 1 || a[0].Outcome != arrops.OutcomeAccepted {
		t.Errorf("audit %+v", a)
	}
	// Extending a session ARR does not know is permanent.
	if code, _ := e.deliver("m-e3", `{"action":"extend","sessionId":"ghost","maxLeaseTimeMinutes":120}`, 1, ""); code != http.StatusOK {
		t.Fatal(code)
	}
	if a := e.audit("m-e3"); len(a) != 1 || a[0].Outcome != arrops.OutcomeRejected || !strings.Contains(a[0].Reason, "unknown session") {
		t.Errorf("audit %+v", a)
	}
	// A shorter lease: ARR answers 422, recorded with its code, message and MS-CV.
	if code, _ := e.deliver("m-e4", `{"action":"extend","sessionId":"ext-1","maxLeaseTimeMinutes":60}`, 1, ""); code != http.StatusOK {
		t.Fatal(code)
	}
	if a := e.audit("m-e4"); len(a) != 1 || a[0].Outcome != arrops.OutcomeRejected || !strings.Contains(a[0].Reason, "422") ||
		!strings.Contains(a[0].Reason, "MS-CV") {
		t.Errorf("audit %+v", a)
	}
}

// ARR 500 and 429 fail the invocation (500 to the host, which redelivers)
// without an audit row or a reply; the redelivery then succeeds.
func testTransient(t *testing.T, e *cmdEnv) {
	cases := []struct {
		name   string
		faults arrsim.Faults
	}{
		{"500", arrsim.Faults{Error500Next: 1}},
		{"429", arrsim.Faults{Throttle429Next: 1, RetryAfterSeconds: 1}},
	}
	for i, c := range cases {
		id := fmt.Sprintf("m-t%d", i)
		e.sim.SetFaults(c.faults)
		e.stdout.Reset()
		code, resp := e.deliver(id, `{"action":"start"}`, 1, "t-replies")
		if code != http.StatusInternalServerError {
			t.Fatalf("%s: status %d, want 500", c.name, code)
		}
		// The host drops the Logs of a failed invocation: the lines are on stdout.
		if len(resp.Logs) != 0 || !strings.Contains(e.stdout.String(), "the host will retry") {
			t.Errorf("%s: Logs %v, stdout %s", c.name, resp.Logs, e.stdout.String())
		}
		if a := e.audit(id); len(a) != 0 {
			t.Errorf("%s: a transient failure left audit rows %+v", c.name, a)
		}
		if code, _ := e.deliver(id, `{"action":"start"}`, 2, "t-replies"); code != http.StatusOK {
			t.Fatalf("%s: redelivery %d", c.name, code)
		}
		if a := e.audit(id); len(a) != 1 || a[0].Outcome != arrops.OutcomeAccepted || a[0].DeliveryCount != 2 {
			t.Errorf("%s: audit after redelivery %+v", c.name, a)
		}
	}
	if reps := replies(t, e.bus.To("t-replies"), "CommandReply"); len(reps) != 2 {
		t.Errorf("%d replies, want 2 (none for the failed attempts)", len(reps))
	}
}

// A credential or role failure (ARR 401/403, EUNAUTHORIZED) for each action:
// the command is rejected with ARR's status, MS-CV and a hint for the
// operator, the requester gets the reply at once (no silent dead-letter after
// the host's retries), and the failure is logged at error level.
func testUnauthorized(t *testing.T, e *cmdEnv) {
	if code, _ := e.deliver("m-u0", `{"action":"start","sessionId":"u-1"}`, 1, ""); code != http.StatusOK {
		t.Fatal(code)
	}
	for i, body := range []string{
		`{"action":"start","sessionId":"u-2"}`,
		`{"action":"stop","sessionId":"u-1"}`,
		`{"action":"extend","sessionId":"u-1","maxLeaseTimeMinutes":120}`,
	} {
		id := fmt.Sprintf("m-u%d", i+1)
		e.sim.SetFaults(arrsim.Faults{Forbidden403Next: 1})
		code, resp := e.deliver(id, body, 1, "u-replies")
		if code != http.StatusOK {
			t.Fatalf("%s: status %d (logs %v), want 200: a role failure is answered, not retried", body, code, resp.Logs)
		}
		a := e.audit(id)
		if len(a) != 1 || a[0].Outcome != arrops.OutcomeRejected || !strings.Contains(a[0].Reason, "403") ||
			!strings.Contains(a[0].Reason, "MS-CV ") || !strings.Contains(a[0].Reason, functions.OperatorMustFix) {
			t.Errorf("%s: audit %+v", body, a)
		}
		if !strings.Contains(strings.Join(resp.Logs, "\n"), `"level":"ERROR"`) {
			t.Errorf("%s: not logged at error level: %v", body, resp.Logs)
		}
	}
	reps := replies(t, e.bus.To("u-replies"), "CommandReply")
	if len(reps) != 3 {
		t.Fatalf("%d replies, want 3", len(reps))
	}
	for _, r := range reps {
		if r.Outcome != arrops.OutcomeRejected || !strings.Contains(r.Reason, functions.OperatorMustFix) {
			t.Errorf("reply %+v", r)
		}
	}
	if s := e.session("u-1"); s == nil || s.Status.Terminal() || s.MaxLeaseMinutes != 45 {
		t.Errorf("a refused stop or extend changed the record: %+v", s)
	}
}

// Every malformed message: 200, an audit row with the reason, a reply, and
// no ARR call.
func testMalformed(t *testing.T, e *cmdEnv) {
	cases := []struct{ name, body, reason string }{
		{"not json", `start arr session please`, "not a valid command"},
		{"empty", ``, "not a valid command"},
		{"array", `[{"action":"start"}]`, "not a valid command"},
		{"trailing data", `{"action":"start"} {"action":"stop"}`, "data after the command"},
		{"unknown field", `{"action":"start","colour":"red"}`, "unknown field"},
		{"no action", `{"sessionId":"a"}`, "no action"},
		{"unknown action", `{"action":"reboot","sessionId":"a"}`, "unknown action"},
		{"bad size", `{"action":"start","size":"Huge"}`, "is not Standard or Premium"},
		{"lease too long", `{"action":"start","maxLeaseTimeMinutes":2000}`, "outside 1..1440"},
		{"negative lease", `{"action":"start","maxLeaseTimeMinutes":-1}`, "outside 1..1440"},
		{"stop without id", `{"action":"stop"}`, "stop needs a sessionId"},
		{"extend without lease", `{"action":"extend","sessionId":"a"}`, "extend needs maxLeaseTimeMinutes"},
		{"extend lease 0", `{"action":"extend","sessionId":"a","maxLeaseTimeMinutes":0}`, "outside 1..1440"},
		{"bad id", `{"action":"start","sessionId":"a/b"}`, "sessionId"},
		{"long requester", `{"action":"start","requestedBy":"` + strings.Repeat("x", 300) + `"}`, "requestedBy is 300 characters, the limit is 256"},
		// The case: tags that do not fit a Table property would have
		// reached ARR and then failed the record write for ever.
		{"tags over a Table property", `{"action":"start","tags":{"p":"` + strings.Repeat("x", 40000) + `"}}`, "value of tag p is 40000 characters, the limit is 256"},
		{"too many tags", `{"action":"start","tags":{"x":"v",` + manyTags(arrops.MaxTags) + `}}`, "tags is 51 tags, the limit is 50"},
		{"tag key too long", `{"action":"start","tags":{"` + strings.Repeat("k", 257) + `":"v"}}`, "is 257 characters, the limit is 256"},
		{"tags too large together", `{"action":"start","tags":{` + manyTags(40, strings.Repeat(`\"`, 120)) + `}}`, "tags (JSON-encoded) is"},
		{"huge unknown action", `{"action":"` + strings.Repeat("x", 60000) + `"}`, "unknown action"},
	}
	for i, c := range cases {
		id := fmt.Sprintf("bad-%d", i)
		code, resp := e.deliver(id, c.body, 1, "bad-replies")
		if code != http.StatusOK {
			t.Errorf("%s: status %d, want 200 (%v)", c.name, code, resp.Logs)
			continue
		}
		a := e.audit(id)
		if len(a) != 1 || a[0].Outcome != arrops.OutcomeRejected || !strings.Contains(a[0].Reason, c.reason) {
			t.Errorf("%s: audit %+v, want rejected with %q", c.name, a, c.reason)
		}
	}
	// The captured malformed payload (text/plain body) through the same path.
	body := functest.Fixture(t, "servicebus-trigger-malformed.json")
	if code, _ := e.post(body); code != http.StatusOK {
		t.Fatalf("malformed fixture: %d", code)
	}
	if a := e.audit("c0a8012e-4b7d-4f1a-9d3e-2b6c8f0e1a57"); len(a) != 1 || a[0].Outcome != arrops.OutcomeRejected {
		t.Errorf("malformed fixture audit %+v", a)
	}
	reps := replies(t, e.bus.To("bad-replies"), "CommandReply")
	if len(reps) != len(cases) {
		t.Errorf("%d replies, want %d", len(reps), len(cases))
	}
	for _, r := range reps {
		if r.Outcome != arrops.OutcomeRejected || r.Reason == "" {
			t.Errorf("reply %+v", r)
		}
	}
	if st := e.sim.Stats(); st.CreateSession+st.StopSession+st.UpdateSession+st.GetSession != 0 {
		t.Errorf("malformed messages reached ARR: %+v", st)
	}

	// A ReplyTo that is no queue name: rejected and recorded, nothing sent.
	for i, replyTo := range []string{strings.Repeat("q", arrops.BusMaxEntityLength+1), "my replies", "-x"} {
		id := fmt.Sprintf("bad-reply-%d", i)
		if code, resp := e.deliver(id, `{"action":"start"}`, 1, replyTo); code != http.StatusOK {
			t.Fatalf("ReplyTo %q: status %d (%v)", replyTo, code, resp.Logs)
		}
		if a := e.audit(id); len(a) != 1 || a[0].Outcome != arrops.OutcomeRejected || !strings.Contains(a[0].Reason, "ReplyTo") {
			t.Errorf("ReplyTo %q: audit %+v", replyTo, a)
		}
		if n := len(e.bus.To(replyTo)); n != 0 {
			t.Errorf("ReplyTo %q: %d messages sent", replyTo, n)
		}
	}
	if st := e.sim.Stats(); st.CreateSession != 0 {
		t.Errorf("a command with a bad ReplyTo reached ARR: %+v", st)
	}
}

// manyTags is n comma-separated JSON members "tNN":"value"; value defaults
// to "v".
func manyTags(n int, value ...string) string {
	v := "v"
	if len(value) > 0 {
		v = value[0]
	}
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf(`"t%02d":"%s"`, i, v))
	}
	return strings.Join(parts, ",")
}

// A requester that deleted its reply queue does not make the command fail
// for ever: the outcome is in the audit row.
func testReplyQueueGone(t *testing.T, e *cmdEnv) {
	e.bus.Missing("gone-replies")
	if code, _ := e.deliver("m-g1", `{"action":"start","sessionId":"gone-1"}`, 1, "gone-replies"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if a := e.audit("m-g1"); len(a) != 1 || a[0].Outcome != arrops.OutcomeAccepted {
		t.Errorf("audit %+v", a)
	}
	// Any other publishing failure is transient.
	e.bus.FailOn(map[string]error{"flaky-replies": errors.New("connection reset")})
	if code, _ := e.deliver("m-g2", `{"action":"reboot"}`, 1, "flaky-replies"); code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", code)
	}
}

// Storage failures fail the invocation so the host redelivers; nothing is
// lost and the redelivery (storage back) makes one session and one record.
func testStorageDown(t *testing.T, e *cmdEnv) {
	// Opening the records fails: nothing reaches ARR.
	e.storageDown.Store(true)
	e.stdout.Reset()
	code, _ := e.deliver("m-d1", `{"action":"start"}`, 1, "")
	if code != http.StatusInternalServerError || !strings.Contains(e.stdout.String(), "table service unreachable") {
		t.Fatalf("status %d, stdout %s; want 500 naming the cause", code, e.stdout.String())
	}
	if st := e.sim.Stats(); st.CreateSession != 0 {
		t.Errorf("ARR called although nothing could be recorded: %+v", st)
	}
	e.storageDown.Store(false) // a failed open is not remembered

	// The table service goes away mid-invocation (a real client against a
	// closed port): the intent cannot be recorded, so ARR is not asked.
	dead, err := store.NewFromConnectionString("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="+
		"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;",
		&store.Options{ClientOptions: azpolicy.ClientOptions{Retry: azpolicy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	downHandler := functions.Handle("commands", commands.New(commands.Deps{Config: e.cfg, ARR: functions.Value(e.arrc),
		Bus: functions.Value[functions.Publisher](e.bus), Records: functions.Value[commands.Records](dead), Now: time.Now}), io.Discard, slog.LevelInfo)
	up := e.handler
	e.handler = downHandler
	code, _ = e.deliver("m-d2", `{"action":"start","sessionId":"dd-1"}`, 1, "dd-replies")
	e.handler = up
	if code != http.StatusInternalServerError {
		t.Fatalf("status %d with the table service down, want 500", code)
	}
	if st := e.sim.Stats(); st.CreateSession != 0 {
		t.Errorf("ARR called although the intent could not be recorded: %+v", st)
	}
	if code, _ := e.deliver("m-d2", `{"action":"start","sessionId":"dd-1"}`, 2, "dd-replies"); code != http.StatusOK {
		t.Fatalf("redelivery: %d", code)
	}
	if s := e.session("dd-1"); s == nil || s.Status != arrops.SessionStarting {
		t.Fatalf("record after redelivery: %v", s)
	}
	a := e.audit("m-d2")
	if len(a) != 1 || a[0].DeliveryCount != 2 || a[0].Outcome != arrops.OutcomeAccepted {
		t.Errorf("audit %+v", a)
	}
	if n := functest.Subjects(e.bus.To(config.EventsTopic))[string(arrops.EventSessionStarting)]; n != 1 {
		t.Errorf("%d SessionStarting events, want 1", n)
	}
}

// fixtureBodies returns the bodies of the captured Service Bus invocations.
func fixtureBodies(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, name := range []string{"servicebus-trigger-start-command.json", "servicebus-trigger-malformed.json", "servicebus-trigger-redelivery.json"} {
		inv, err := trigger.DecodeInvocation(functest.Fixture(tb, name))
		if err != nil {
			tb.Fatal(err)
		}
		msg, err := inv.ServiceBusMessage(commands.Binding)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, string(msg.Body))
	}
	return out
}
