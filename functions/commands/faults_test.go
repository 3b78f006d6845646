package commands_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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
	"github.com/arrops/arrops/functions/watch"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/store"
)

// arrGate sits in front of the simulator and fails session creates (PUT
// .../sessions/{id}) as armed: "refuse" answers 400 as ARR does for a
// request it will never accept; "lose" lets the create through and then
// answers 503, as when ARR's answer is lost on the way (the session exists,
// the caller does not know).
type arrGate struct {
	mu   sync.Mutex
	mode string
	left int // creates still to fail; <0: all
}

func (g *arrGate) arm(mode string, n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mode, g.left = mode, n
}

func (g *arrGate) take(r *http.Request) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.mode == "" || g.left == 0 || r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/sessions/") {
		return ""
	}
	g.left--
	return g.mode
}

func (g *arrGate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch g.take(r) {
		case "refuse":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("MS-CV", "gate.1")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"code":"InvalidArgument","message":"injected: this account cannot create sessions of this size"}}`)
		case "lose":
			h.ServeHTTP(httptest.NewRecorder(), r)
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// faultEnv is the commands function over Table Storage (Azurite) and a bus
// that fail on command (functest.TableFaults, functest.FaultyBus) and a
// simulator behind an arrGate: real service errors, so the store's and the
// function's classification is what is tested. st reads the same tables
// without faults.
type faultEnv struct {
	*cmdEnv
	st      *store.Store
	tables  *functest.TableFaults
	fbus    *functest.FaultyBus
	gate    *arrGate
	opts    *functestTables
	offset  atomic.Int64 // added to the sweep's clock
	watched watch.Deps
}

// functestTables are the env's table names, for aiming faults.
type functestTables struct{ sessions, audit string }

func newFaultEnv(t *testing.T, az *azuritetest.Instance) *faultEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	gate := &arrGate{}
	sim, url := functest.Sim(t, arrsim.Options{ReadyAfter: time.Second}, gate.wrap)
	arrc := functest.ARR(t, url, azpolicy.ClientOptions{Retry: functest.NoRetries})
	tables := functest.FreshTables("Flt")
	faults := &functest.TableFaults{}
	st := functest.Store(t, az.ConnectionString, tables)
	faulty := functest.Store(t, az.ConnectionString, tables, faults)
	cfg := functest.Config(t, az.ConnectionString)
	bus := &functest.Bus{}
	fbus := &functest.FaultyBus{Publisher: bus}
	e := &faultEnv{st: st, tables: faults, fbus: fbus, gate: gate, opts: &functestTables{tables.SessionsTable, tables.CommandsTable}}
	e.cmdEnv = &cmdEnv{t: t, ctx: ctx, sim: sim, arrc: arrc, bus: bus, cfg: cfg}
	f := commands.New(commands.Deps{Config: cfg, ARR: functions.Value(arrc), Bus: functions.Value[functions.Publisher](fbus),
		Records: functions.Value[commands.Records](faulty), Now: time.Now})
	e.handler = functions.Handle("commands", f, io.Discard, slog.LevelInfo)
	e.watched = watch.Deps{Config: cfg, ARR: functions.Value(arrc), Records: functions.Value[watch.Records](st),
		Bus: functions.Value[functions.Publisher](bus), Now: func() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }}
	return e
}

// sweep runs one watch sweep, after grace has passed when late.
func (e *faultEnv) sweep(t *testing.T, late bool) watch.Stats {
	t.Helper()
	if late {
		e.offset.Store(int64(functions.RequestedGrace + functions.StaleClaim + time.Minute))
	}
	st, err := watch.Sweep(e.ctx, e.watched)
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	return st
}

// arrSession returns ARR's status of id ("" when ARR has no such session).
func (e *faultEnv) arrSession(t *testing.T, id string) string {
	t.Helper()
	resp, err := e.arrc.GetSession(e.ctx, id, nil)
	if arrops.ErrorCode(err) == arrops.ENOTFOUND {
		return ""
	} else if err != nil {
		t.Fatalf("ARR get %s: %v", id, err)
	}
	return string(resp.Status)
}

// audit returns the audit rows of messageID.
func (e *faultEnv) audit(messageID string) []*arrops.CommandAudit {
	e.t.Helper()
	now := time.Now().UTC()
	var out []*arrops.CommandAudit
	for a, err := range e.st.AuditByDay(e.ctx, now.Add(-48*time.Hour), now.Add(48*time.Hour)) {
		if err != nil {
			e.t.Fatal(err)
		}
		if a.MessageID == messageID {
			out = append(out, a)
		}
	}
	return out
}

// record returns the stored record of id, nil when there is none.
func (e *faultEnv) record(t *testing.T, id string) *arrops.Session {
	t.Helper()
	s, err := e.st.GetSession(e.ctx, id)
	if arrops.ErrorCode(err) == arrops.ENOTFOUND {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	errReset     = errors.New("injected: connection reset")
	errPermanent = arrops.Errorf(arrops.EINVALID, "injected: message refused")
)

// TestFaults fails each step of a start (record insert, ARR create, record
// update, event, reply, audit row) transiently and permanently, redelivers
// as the host does, and checks the outcome and the invariants:
//
//   - every session ARR holds has a record, and none is left Requested once
//     the deliveries and a sweep are done;
//   - ARR runs a session only if the command was accepted;
//   - every delivery answered 2xx left one audit row (unless the audit table
//     itself refused it) and, when a reply could be sent, one reply;
//   - nothing reaches the dead-letter queue: the last delivery answers.
func TestFaults(t *testing.T) {
	az := azuritetest.Start(t)
	type want struct {
		codes    []int            // HTTP status of each delivery, in order
		outcomes []arrops.Outcome // audit rows, in delivery order
		replies  []arrops.Outcome // CommandReply messages
		arr      string           // ARR's status of the session at the end ("": none)
		status   arrops.SessionStatus
		errCode  string // the record's ErrorCode
		events   map[arrops.EventType]int
	}
	tests := []struct {
		name     string
		arm      func(e *faultEnv, id string)
		disarm   bool // disarm before the second delivery (the fault was transient)
		first    int  // DeliveryCount of the first delivery
		sweep    bool // run a late watch sweep before checking
		want     want
		reasonIn string // substring of the last audit reason
	}{
		{name: "record insert (index) transient", disarm: true,
			arm: func(e *faultEnv, id string) {
				e.tables.Add(functest.TableFault{Table: e.opts.sessions, Op: functest.OpInsert, Times: 1, Status: 503, Code: "ServerBusy"})
			},
			want: want{codes: []int{500, 200}, outcomes: []arrops.Outcome{"accepted"}, replies: []arrops.Outcome{"accepted"},
				arr: "Starting", status: "Starting", events: map[arrops.EventType]int{arrops.EventSessionStarting: 1}}},
		{name: "record insert (record) transient", disarm: true,
			arm: func(e *faultEnv, id string) {
				e.tables.Add(functest.TableFault{Table: e.opts.sessions, Op: functest.OpInsert, Record: true, Times: 1, Status: 500, Code: "InternalError"})
			},
			want: want{codes: []int{500, 200}, outcomes: []arrops.Outcome{"accepted"}, replies: []arrops.Outcome{"accepted"},
				arr: "Starting", status: "Starting", events: map[arrops.EventType]int{arrops.EventSessionStarting: 1}}},
		{name: "record insert permanent", reasonIn: "PropertyValueTooLarge",
			arm: func(e *faultEnv, id string) {
				e.tables.Add(functest.TableFault{Table: e.opts.sessions, Op: functest.OpInsert, Record: true, Status: 400, Code: "PropertyValueTooLarge"})
			},
			want: want{codes: []int{200}, outcomes: []arrops.Outcome{"rejected"}, replies: []arrops.Outcome{"rejected"}}},
		{name: "ARR create transient", disarm: true,
			arm: func(e *faultEnv, id string) { e.sim.SetFaults(arrsim.Faults{Error500Next: 1}) },
			want: want{codes: []int{500, 200}, outcomes: []arrops.Outcome{"accepted"}, replies: []arrops.Outcome{"accepted"},
				arr: "Starting", status: "Starting", events: map[arrops.EventType]int{arrops.EventSessionStarting: 1}}},
		{name: "ARR create answer lost", disarm: true,
			arm: func(e *faultEnv, id string) { e.gate.arm("lose", 1) },
			want: want{codes: []int{500, 200}, outcomes: []arrops.Outcome{"accepted"}, replies: []arrops.Outcome{"accepted"},
				arr: "Starting", status: "Starting", events: map[arrops.EventType]int{arrops.EventSessionStarting: 1}}},
		{name: "ARR create permanent", reasonIn: "ARR refused the start: 400 InvalidArgument",
			arm: func(e *faultEnv, id string) { e.gate.arm("refuse", -1) },
			want: want{codes: []int{200}, outcomes: []arrops.Outcome{"rejected"}, replies: []arrops.Outcome{"rejected"},
				status: "Error", errCode: functions.ErrorStartAbandoned}},
		{name: "record update transient", disarm: true,
			arm: func(e *faultEnv, id string) {
				e.tables.Add(functest.TableFault{Table: e.opts.sessions, Op: functest.OpUpdate, Times: 1, Status: 503, Code: "ServerBusy"})
			},
			want: want{codes: []int{500, 200}, outcomes: []arrops.Outcome{"accepted"}, replies: []arrops.Outcome{"accepted"},
				arr: "Starting", status: "Starting", events: map[arrops.EventType]int{arrops.EventSessionStarting: 1}}},
		{name: "record update permanent", sweep: true, reasonIn: "the watch sweep records it",
			arm: func(e *faultEnv, id string) {
				e.tables.Add(functest.TableFault{Table: e.opts.sessions, Op: functest.OpUpdate, Status: 400, Code: "InvalidInput"})
			},
			want: want{codes: []int{200}, outcomes: []arrops.Outcome{"accepted"}, replies: []arrops.Outcome{"accepted"},
				arr: "Starting", status: "Starting", events: map[arrops.EventType]int{arrops.EventSessionStarting: 1}}},
		{name: "event transient", disarm: true,
			arm: func(e *faultEnv, id string) {
				e.fbus.Add(functest.BusFault{Entity: config.EventsTopic, Times: 1, Err: errReset})
			},
			want: want{codes: []int{500, 200}, outcomes: []arrops.Outcome{"accepted"}, replies: []arrops.Outcome{"accepted"},
				arr: "Starting", status: "Starting", events: map[arrops.EventType]int{arrops.EventSessionStarting: 1}}},
		{name: "event permanent", sweep: true,
			arm: func(e *faultEnv, id string) {
				e.fbus.Add(functest.BusFault{Entity: config.EventsTopic, Times: 1, Err: errPermanent})
			},
			// The claim stays; the sweep publishes it once stale.
			want: want{codes: []int{200}, outcomes: []arrops.Outcome{"accepted"}, replies: []arrops.Outcome{"accepted"},
				arr: "Starting", status: "Starting", events: map[arrops.EventType]int{arrops.EventSessionStarting: 1}}},
		{name: "reply transient", disarm: true,
			// Skip the SessionStarting event to the same queue: fail the reply.
			arm: func(e *faultEnv, id string) {
				e.fbus.Add(functest.BusFault{Entity: "r-" + id, Skip: 1, Times: 1, Err: errReset})
			},
			want: want{codes: []int{500, 200}, outcomes: []arrops.Outcome{"accepted", "accepted"}, replies: []arrops.Outcome{"accepted"},
				arr: "Starting", status: "Starting", events: map[arrops.EventType]int{arrops.EventSessionStarting: 1}}},
		{name: "reply permanent",
			arm: func(e *faultEnv, id string) {
				e.fbus.Add(functest.BusFault{Entity: "r-" + id, Err: fmt.Errorf("%w", notify.ErrNoSuchEntity)})
			},
			want: want{codes: []int{200}, outcomes: []arrops.Outcome{"accepted"},
				arr: "Starting", status: "Starting", events: map[arrops.EventType]int{arrops.EventSessionStarting: 1}}},
		{name: "audit row transient", disarm: true,
			arm: func(e *faultEnv, id string) {
				e.tables.Add(functest.TableFault{Table: e.opts.audit, Op: functest.OpUpsert, Times: 1, Status: 503, Code: "ServerBusy"})
			},
			want: want{codes: []int{500, 200}, outcomes: []arrops.Outcome{"accepted"}, replies: []arrops.Outcome{"accepted"},
				arr: "Starting", status: "Starting", events: map[arrops.EventType]int{arrops.EventSessionStarting: 1}}},
		{name: "audit row permanent",
			arm: func(e *faultEnv, id string) {
				e.tables.Add(functest.TableFault{Table: e.opts.audit, Op: functest.OpUpsert, Status: 403, Code: "AuthorizationFailure"})
			},
			// Nothing can be recorded: the reply is the answer.
			want: want{codes: []int{200}, replies: []arrops.Outcome{"accepted"},
				arr: "Starting", status: "Starting", events: map[arrops.EventType]int{arrops.EventSessionStarting: 1}}},
		{name: "last delivery, ARR down", first: commands.MaxDeliveries, reasonIn: "gave up after 10 deliveries",
			arm: func(e *faultEnv, id string) { e.sim.SetFaults(arrsim.Faults{Error500Next: 1}) },
			want: want{codes: []int{200}, outcomes: []arrops.Outcome{"rejected"}, replies: []arrops.Outcome{"rejected"},
				status: "Error", errCode: functions.ErrorStartAbandoned, events: map[arrops.EventType]int{arrops.EventSessionError: 1}}},
		{name: "last delivery, ARR answer lost", first: commands.MaxDeliveries, sweep: true, reasonIn: "gave up after 10 deliveries",
			arm: func(e *faultEnv, id string) { e.gate.arm("lose", 1) },
			// ARR started it although the requester was told it failed: the
			// sweep stops it.
			want: want{codes: []int{200}, outcomes: []arrops.Outcome{"rejected"}, replies: []arrops.Outcome{"rejected"},
				arr: "Stopped", status: "Error", errCode: functions.ErrorStartAbandoned, events: map[arrops.EventType]int{arrops.EventSessionError: 1}}},
		{name: "no further delivery (dead-lettered), swept", sweep: true,
			// The intent is recorded, ARR fails, and no delivery follows:
			// the sweep abandons the intent and tells the requester.
			arm: func(e *faultEnv, id string) { e.sim.SetFaults(arrsim.Faults{Error500Next: 1}) },
			want: want{codes: []int{500}, status: "Error", errCode: functions.ErrorStartAbandoned,
				events: map[arrops.EventType]int{arrops.EventSessionError: 1}}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFaultEnv(t, az)
			id := fmt.Sprintf("f%d", i)
			replyTo := "r-" + id
			tt.arm(e, id)
			body := `{"action":"start","requestedBy":"fault-test"}`
			delivery := max(1, tt.first)
			var codes []int
			for n := range tt.want.codes {
				if n == 1 && tt.disarm {
					e.tables.Clear()
					e.fbus.Clear()
					e.gate.arm("", 0)
					e.sim.SetFaults(arrsim.Faults{})
				}
				code, resp := e.deliver(id, body, delivery, replyTo)
				codes = append(codes, code)
				if code != http.StatusOK && code != http.StatusInternalServerError {
					t.Fatalf("delivery %d: HTTP %d: %v", delivery, code, resp.Logs)
				}
				delivery++
			}
			e.tables.Clear()
			e.fbus.Clear()
			e.gate.arm("", 0)
			e.sim.SetFaults(arrsim.Faults{})
			if tt.sweep {
				e.sweep(t, true)
			}
			if fmt.Sprint(codes) != fmt.Sprint(tt.want.codes) {
				t.Errorf("HTTP %v, want %v", codes, tt.want.codes)
			}
			var outcomes []arrops.Outcome
			rows := e.audit(id)
			for _, a := range rows {
				outcomes = append(outcomes, a.Outcome)
			}
			if fmt.Sprint(outcomes) != fmt.Sprint(tt.want.outcomes) {
				t.Errorf("audit outcomes %v, want %v: %+v", outcomes, tt.want.outcomes, rows)
			}
			if tt.reasonIn != "" && (len(rows) == 0 || !strings.Contains(rows[len(rows)-1].Reason, tt.reasonIn)) {
				t.Errorf("audit %+v, want the reason to contain %q", rows, tt.reasonIn)
			}
			var replied []arrops.Outcome
			for _, r := range replies(t, e.bus.To(replyTo), "CommandReply") {
				replied = append(replied, r.Outcome)
			}
			if fmt.Sprint(replied) != fmt.Sprint(tt.want.replies) {
				t.Errorf("replies %v, want %v", replied, tt.want.replies)
			}
			if got := e.arrSession(t, id); got != tt.want.arr {
				t.Errorf("ARR's session: %q, want %q", got, tt.want.arr)
			}
			rec := e.record(t, id)
			switch {
			case tt.want.status == "" && rec != nil:
				t.Errorf("record %+v, want none", rec)
			case tt.want.status != "" && (rec == nil || rec.Status != tt.want.status || rec.ErrorCode != tt.want.errCode):
				t.Errorf("record %+v, want status %s error %q", rec, tt.want.status, tt.want.errCode)
			}
			got := map[arrops.EventType]int{}
			for subject, n := range functest.Subjects(e.bus.To(config.EventsTopic)) {
				got[arrops.EventType(subject)] = n
			}
			if fmt.Sprint(got) != fmt.Sprint(orEmpty(tt.want.events)) {
				t.Errorf("events %v, want %v", got, tt.want.events)
			}
			checkInvariants(t, id, rec, e.arrSession(t, id), rows, e.bus.To(replyTo))
		})
	}
}

func orEmpty(m map[arrops.EventType]int) map[arrops.EventType]int {
	if m == nil {
		return map[arrops.EventType]int{}
	}
	return m
}

// checkInvariants holds for every start, whatever failed: an ARR session
// has a record that is not Requested, and runs only if the command was
// accepted (by an audit row or a reply).
func checkInvariants(t *testing.T, id string, rec *arrops.Session, arrStatus string, rows []*arrops.CommandAudit, msgs []notify.Message) {
	t.Helper()
	if arrStatus != "" && rec == nil {
		t.Errorf("ARR has session %s (%s) without a record", id, arrStatus)
	}
	if rec != nil && rec.Status == arrops.SessionRequested {
		t.Errorf("record %s is still Requested after the deliveries and the sweep", id)
	}
	accepted := false
	for _, a := range rows {
		accepted = accepted || a.Outcome == arrops.OutcomeAccepted
	}
	for _, r := range replies(t, msgs, "CommandReply") {
		accepted = accepted || r.Outcome == arrops.OutcomeAccepted
	}
	if active := arrStatus == "Starting" || arrStatus == "Ready"; active && !accepted {
		t.Errorf("ARR runs session %s (%s) but the command was not accepted", id, arrStatus)
	}
}

// TestStartOverExternal: a start names the id of a session ARR runs that
// arrops has no record of (started in the portal, not adopted yet) with
// other settings. ARR answers 409 to the create of the fresh intent: the
// start is rejected and the intent record becomes the adoption of ARR's
// session, so that session is followed rather than hidden behind a record
// that says something else.
func TestStartOverExternal(t *testing.T) {
	e := newCmdEnv(t)
	if _, err := e.arrc.CreateSession(e.ctx, "portal-7", arr.SessionSettings{MaxLeaseTimeMinutes: 30, Size: "Standard"}, nil); err != nil {
		t.Fatal(err)
	}
	code, resp := e.deliver("m-ext", `{"action":"start","sessionId":"portal-7","maxLeaseTimeMinutes":90,"requestedBy":"app"}`, 1, "ext-replies")
	if code != http.StatusOK {
		t.Fatalf("HTTP %d: %v", code, resp.Logs)
	}
	if a := e.audit("m-ext"); len(a) != 1 || a[0].Outcome != arrops.OutcomeRejected || !strings.Contains(a[0].Reason, "409") {
		t.Errorf("audit %+v, want rejected (409)", a)
	}
	rec := e.session("portal-7")
	if rec == nil || rec.Origin != arrops.OriginExternal || rec.Status != arrops.SessionStarting || rec.MaxLeaseMinutes != 30 ||
		rec.RequestedBy != "" || rec.ReplyTo != "" || rec.CorrelationID != "" {
		t.Errorf("record %+v, want the adopted external session (30 minutes, no requester)", rec)
	}
}
