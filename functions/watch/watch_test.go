package watch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/watch"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/store/memstore"
	"github.com/arrops/arrops/trigger"
)

// subjects lists the messages sent to entity as subject:sessionId.
func subjects(bus *functest.Bus, entity string) []string {
	var out []string
	for _, m := range bus.To(entity) {
		out = append(out, m.Subject+":"+fmt.Sprint(m.ApplicationProperties["sessionId"]))
	}
	return out
}

type watchEnv struct {
	t    *testing.T
	ctx  context.Context
	sim  *arrsim.Server
	arrc *arr.Client
	st   *memstore.Store
	bus  *functest.Bus
	deps watch.Deps
	now  time.Time
}

func newWatchEnv(t *testing.T) *watchEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	sim, url := functest.Sim(t, arrsim.Options{ReadyAfter: time.Second}, nil)
	arrc := functest.ARR(t, url, azpolicy.ClientOptions{Retry: functest.FastRetries})
	st := functest.Records()
	cfg := functest.Config(t, functest.NoStorage, map[string]string{"WATCH_CONCURRENCY": "3"})
	e := &watchEnv{t: t, ctx: ctx, sim: sim, arrc: arrc, st: st, bus: &functest.Bus{}, now: time.Now().UTC().Truncate(time.Millisecond)}
	e.deps = watch.Deps{Config: cfg, ARR: functions.Value(arrc), Bus: functions.Value[functions.Publisher](e.bus),
		Records: functions.Value[watch.Records](st), Now: func() time.Time { return e.now }}
	return e
}

// startRecorded starts a session in ARR and records it as commands does.
func (e *watchEnv) startRecorded(id, requester, replyTo string) {
	e.t.Helper()
	e.startInARR(id)
	s := &arrops.Session{ID: id, Size: arrops.SizeStandard, Status: arrops.SessionStarting, Origin: arrops.OriginCommand,
		RequestedBy: requester, MaxLeaseMinutes: 60, CreatedAt: e.now, ReplyTo: replyTo, CorrelationID: "corr-" + id,
		Announced: arrops.SessionStarting}
	if _, _, err := e.st.CreateSession(e.ctx, s); err != nil {
		e.t.Fatal(err)
	}
}

func (e *watchEnv) startInARR(id string) {
	e.t.Helper()
	if _, err := e.arrc.CreateSession(e.ctx, id, arr.SessionSettings{MaxLeaseTimeMinutes: 60, Size: arr.SessionSize("Standard")}, nil); err != nil {
		e.t.Fatal(err)
	}
}

func (e *watchEnv) record(id string) *arrops.Session {
	e.t.Helper()
	s, err := e.st.GetSession(e.ctx, id)
	if err != nil {
		e.t.Fatalf("record %s: %v", id, err)
	}
	return s
}

// tableWrites counts the record writes so far, independently of the
// function's own Stats.
func (e *watchEnv) tableWrites() int64 {
	_, w := e.st.Requests()
	return w
}

func (e *watchEnv) sweep() watch.Stats {
	e.t.Helper()
	st, err := watch.Sweep(e.ctx, e.deps)
	if err != nil {
		e.t.Fatalf("sweep: %v", err)
	}
	return st
}

func TestWatch(t *testing.T) {
	t.Run("Sweep", func(t *testing.T) { testWatchSweep(t, newWatchEnv(t)) })
	t.Run("Function", func(t *testing.T) { testWatchFunction(t, newWatchEnv(t)) })
	t.Run("ListFails", func(t *testing.T) { testWatchListFails(t, newWatchEnv(t)) })
}

// One sweep over a mix: sessions in ARR's list (recorded and not), recorded
// active sessions that left the list, a finished record and a record ARR
// never heard of.
func testWatchSweep(t *testing.T, e *watchEnv) {
	e.startRecorded("w-listed", "ann", "ann-replies") // stays active, becomes Ready
	e.startRecorded("w-stopped", "bob", "")           // stopped in ARR behind arrops' back
	e.startInARR("w-external")                        // started in the portal: no record
	if _, _, err := e.st.CreateSession(e.ctx, &arrops.Session{ID: "w-ghost", Status: arrops.SessionStarting,
		CreatedAt: e.now, Announced: arrops.SessionStarting}); err != nil { // ARR never got it
		t.Fatal(err)
	}
	if _, _, err := e.st.CreateSession(e.ctx, &arrops.Session{ID: "w-done", Status: arrops.SessionStopped,
		CreatedAt: e.now, StoppedAt: e.now, Announced: arrops.SessionStopped}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.arrc.StopSession(e.ctx, "w-stopped", nil); err != nil {
		t.Fatal(err)
	}
	e.sim.Advance(2 * time.Second) // past ReadyAfter: w-listed and w-external are Ready
	e.now = e.now.Add(time.Minute)
	before := e.sim.Stats()

	st := e.sweep()

	after := e.sim.Stats()
	if n := after.ListSessions - before.ListSessions; n != 1 {
		t.Errorf("%d List calls, want 1", n)
	}
	// GETs only for recorded active sessions that left the list.
	if n := after.GetSession - before.GetSession; n != 2 || st.Gets != 2 {
		t.Errorf("%d GETs (stats %d), want 2 (w-stopped, w-ghost)", n, st.Gets)
	}
	if st.Listed != 2 || st.Adopted != 1 {
		t.Errorf("stats %+v", st)
	}
	listed := e.record("w-listed")
	if listed.Status != arrops.SessionReady || listed.Hostname == "" || !strings.Contains(listed.Hostname, "eastus") ||
		listed.HandshakePort == 0 || !listed.ReadyAt.Equal(e.now) || listed.RequestedBy != "ann" || listed.Origin != arrops.OriginCommand {
		t.Errorf("w-listed %#v (now %v)", *listed, e.now)
	}
	if s := e.record("w-stopped"); s.Status != arrops.SessionStopped || !s.StoppedAt.Equal(e.now) || s.Hostname != "" {
		t.Errorf("w-stopped %#v (now %v)", *s, e.now)
	}
	if s := e.record("w-ghost"); s.Status != arrops.SessionError || s.ErrorCode != "NotFound" {
		t.Errorf("w-ghost %+v", s)
	}
	ext := e.record("w-external")
	if ext.Origin != arrops.OriginExternal || ext.RequestedBy != "" || ext.Status != arrops.SessionReady || ext.Hostname == "" {
		t.Errorf("adopted %+v", ext)
	}
	events := strings.Join(subjects(e.bus, config.EventsTopic), " ")
	for _, want := range []string{"SessionReady:w-listed", "SessionStopped:w-stopped", "SessionError:w-ghost", "SessionReady:w-external"} {
		if strings.Count(events, want) != 1 {
			t.Errorf("events %q: want %s once", events, want)
		}
	}
	if strings.Contains(events, "w-done") {
		t.Errorf("finished record announced again: %s", events)
	}
	if r := subjects(e.bus, "ann-replies"); len(r) != 1 || r[0] != "SessionReady:w-listed" {
		t.Errorf("requester's reply queue got %v", r)
	}

	// Nothing changed: the next sweep writes nothing and announces nothing,
	// although ARR's elapsed minutes tick.
	e.sim.Advance(3 * time.Minute)
	e.now = e.now.Add(3 * time.Minute)
	etag := e.record("w-listed").ETag
	sent := len(subjects(e.bus, config.EventsTopic))
	w0 := e.tableWrites()
	st = e.sweep()
	if n := e.tableWrites() - w0; n != 0 || st.Writes != 0 {
		t.Errorf("unchanged sweep made %d table writes (stats %d), want 0", n, st.Writes)
	}
	if got := e.record("w-listed").ETag; got != etag {
		t.Error("unchanged sweep rewrote w-listed")
	}
	if n := len(subjects(e.bus, config.EventsTopic)); n != sent {
		t.Errorf("unchanged sweep published %d events", n-sent)
	}
	if st.Gets != 0 {
		t.Errorf("unchanged sweep made %d GETs: finished records must not be polled", st.Gets)
	}

	// The end is recorded with ARR's final elapsed minutes.
	if _, err := e.arrc.StopSession(e.ctx, "w-listed", nil); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Minute)
	e.sweep()
	if s := e.record("w-listed"); s.Status != arrops.SessionStopped || s.ElapsedMinutes < 3 || !s.ReadyAt.Before(s.StoppedAt) {
		t.Errorf("stopped w-listed %+v", s)
	}
}

// Through the timer binding: the function logs its sweep and returns nil.
func testWatchFunction(t *testing.T, e *watchEnv) {
	e.startRecorded("wf-1", "ann", "")
	logs := functest.RunTimer(t, e.ctx, watch.New(e.deps), watch.Binding, trigger.Timer{IsPastDue: true, Sys: trigger.NewSys("watch", e.now)})
	if !strings.Contains(logs, "past due") || !strings.Contains(logs, "listed=1") {
		t.Errorf("logs: %s", logs)
	}
}

// A failing List fails the sweep (the next timer run retries) and writes
// nothing, whatever its class: transient (500) or a credential or role
// failure (403, which functions.Handle logs at error level for the operator).
func testWatchListFails(t *testing.T, e *watchEnv) {
	e.startRecorded("wl-1", "ann", "")
	for _, tt := range []struct {
		faults arrsim.Faults
		status int
		code   string
	}{
		{arrsim.Faults{Error500Next: 10}, http.StatusInternalServerError, arrops.EINTERNAL},
		{arrsim.Faults{Forbidden403Next: 1}, http.StatusForbidden, arrops.EUNAUTHORIZED},
	} {
		e.sim.SetFaults(tt.faults)
		w0 := e.tableWrites()
		ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
		_, err := watch.Sweep(ctx, e.deps)
		cancel()
		var re *arr.ResponseError
		if !errors.As(err, &re) || re.StatusCode != tt.status || !strings.Contains(err.Error(), "list sessions") {
			t.Fatalf("err %v, want the ARR %d wrapped with context", err, tt.status)
		}
		if arrops.ErrorCode(err) != tt.code {
			t.Errorf("ARR %d: class %q, want %q", tt.status, arrops.ErrorCode(err), tt.code)
		}
		if n := e.tableWrites() - w0; n != 0 {
			t.Errorf("%d writes after a failed List", n)
		}
	}
	e.sim.SetFaults(arrsim.Faults{})
}
