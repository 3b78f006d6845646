package shutdown_test

import (
	"bytes"
	"context"
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
	"github.com/arrops/arrops/functions/shutdown"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/store/memstore"
	"github.com/arrops/arrops/trigger"
)

// sdStopGate sits in front of the simulator: it holds every stop call for a
// moment while counting how many are in flight, and can answer stops of some
// sessions itself (as if someone else had stopped them first).
type sdStopGate struct {
	next        http.Handler
	hold        time.Duration
	inflight    atomic.Int64
	maxInflight atomic.Int64
	// gone: stops of these ids get 404 (ARR forgot the session).
	gone map[string]bool
	// raced: these ids are stopped by "someone else" just before our call.
	raced map[string]bool
	// forbidden: stops of these ids get 403 (the app's role lacks the right).
	forbidden map[string]bool
}

func (g *sdStopGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/:stop") {
		g.next.ServeHTTP(w, r)
		return
	}
	id := strings.Split(strings.Trim(r.URL.Path, "/"), "/")[3]
	n := g.inflight.Add(1)
	defer g.inflight.Add(-1)
	for {
		m := g.maxInflight.Load()
		if n <= m || g.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(g.hold)
	if g.gone[id] {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if g.forbidden[id] {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":{"code":"Forbidden","message":"The caller does not have the role this operation needs."}}`))
		return
	}
	if g.raced[id] {
		g.next.ServeHTTP(httptest.NewRecorder(), r.Clone(r.Context()))
	}
	g.next.ServeHTTP(w, r)
}

type sdEnv struct {
	t    *testing.T
	ctx  context.Context
	sim  *arrsim.Server
	gate *sdStopGate
	arrc *arr.Client
	st   *memstore.Store
	bus  *functest.Bus
	deps shutdown.Deps
	now  time.Time
	logs *bytes.Buffer
}

// newSDEnv wires the shutdown function to records in memory, the
// simulator over HTTP and the memory bus, with the given app settings.
func newSDEnv(t *testing.T, settings map[string]string) *sdEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	// The hold makes overlapping stops certain even on a loaded machine.
	var gate *sdStopGate
	sim, url := functest.Sim(t, arrsim.Options{ReadyAfter: time.Second}, func(h http.Handler) http.Handler {
		gate = &sdStopGate{next: h, hold: 100 * time.Millisecond}
		return gate
	})
	arrc := functest.ARR(t, url, azpolicy.ClientOptions{Retry: functest.FastRetries})
	st := functest.Records()
	cfg := functest.Config(t, functest.NoStorage, settings)
	e := &sdEnv{t: t, ctx: ctx, sim: sim, gate: gate, arrc: arrc, st: st, bus: &functest.Bus{}, logs: &bytes.Buffer{},
		now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)} // a Tuesday morning
	e.deps = shutdown.Deps{Config: cfg, ARR: functions.Value(arrc), Bus: functions.Value[functions.Publisher](e.bus),
		Records: functions.Value[shutdown.Records](st), Now: func() time.Time { return e.now }}
	return e
}

// start starts sessions in ARR (recorded as commands does unless external)
// and lets them become Ready.
func (e *sdEnv) start(requester string, tags map[string]string, ids ...string) {
	e.t.Helper()
	for _, id := range ids {
		if _, err := e.arrc.CreateSession(e.ctx, id, arr.SessionSettings{MaxLeaseTimeMinutes: 1440, Size: "Standard"}, nil); err != nil {
			e.t.Fatal(err)
		}
		if requester == "" {
			continue // started outside arrops
		}
		s := &arrops.Session{ID: id, Size: arrops.SizeStandard, Status: arrops.SessionStarting, Origin: arrops.OriginCommand,
			RequestedBy: requester, Tags: tags, MaxLeaseMinutes: 1440, CreatedAt: e.now, ReplyTo: requester + "-replies",
			CorrelationID: "corr-" + id, Announced: arrops.SessionStarting}
		if _, _, err := e.st.CreateSession(e.ctx, s); err != nil {
			e.t.Fatal(err)
		}
	}
	e.sim.Advance(2 * time.Second)
}

func (e *sdEnv) sweep() shutdown.Stats {
	e.t.Helper()
	before := e.sim.Stats()
	st, err := shutdown.Sweep(e.ctx, e.deps, slog.New(slog.NewJSONHandler(e.logs, nil)))
	if err != nil {
		e.t.Fatalf("sweep at %s: %v", e.now.Format(time.TimeOnly), err)
	}
	if n := e.sim.Stats().ListSessions - before.ListSessions; n != 1 || st.ListCalls != 1 {
		e.t.Errorf("sweep made %d List calls (stats %d), want 1", n, st.ListCalls)
	}
	return st
}

func (e *sdEnv) record(id string) *arrops.Session {
	e.t.Helper()
	s, err := e.st.GetSession(e.ctx, id)
	if err != nil {
		e.t.Fatalf("record %s: %v", id, err)
	}
	return s
}

func (e *sdEnv) stopCalls() int64 { return e.sim.Stats().StopSession }

func TestShutdown(t *testing.T) {
	t.Run("MaxReady", func(t *testing.T) {
		testMaxReady(t, newSDEnv(t, map[string]string{"SHUTDOWN_MAX_READY_MINUTES": "60", "SHUTDOWN_WARNING_MINUTES": "10",
			"SHUTDOWN_ABSOLUTE_MAX_MINUTES": "120", "SHUTDOWN_CONCURRENCY": "2"}))
	})
	t.Run("DryRun", func(t *testing.T) {
		testDryRun(t, newSDEnv(t, map[string]string{"SHUTDOWN_MAX_READY_MINUTES": "30", "SHUTDOWN_WARNING_MINUTES": "0",
			"SHUTDOWN_DRY_RUN": "true"}))
	})
	t.Run("QuietHours", func(t *testing.T) {
		testQuietHours(t, newSDEnv(t, map[string]string{"SHUTDOWN_QUIET_HOURS": "19:00-07:00", "SHUTDOWN_TIME_ZONE": "Asia/Tokyo",
			"SHUTDOWN_WARNING_MINUTES": "0"}))
	})
	t.Run("Budget", func(t *testing.T) {
		testBudget(t, newSDEnv(t, map[string]string{"SHUTDOWN_DAILY_BUDGET_MINUTES": "90", "SHUTDOWN_WARNING_MINUTES": "0"}))
	})
	t.Run("StoppedElsewhere", func(t *testing.T) {
		testStoppedElsewhere(t, newSDEnv(t, map[string]string{"SHUTDOWN_MAX_READY_MINUTES": "10", "SHUTDOWN_WARNING_MINUTES": "0"}))
	})
	t.Run("Unauthorized", func(t *testing.T) {
		testUnauthorized(t, newSDEnv(t, map[string]string{"SHUTDOWN_MAX_READY_MINUTES": "10", "SHUTDOWN_WARNING_MINUTES": "0"}))
	})
	t.Run("Function", func(t *testing.T) {
		testShutdownFunction(t, newSDEnv(t, map[string]string{"SHUTDOWN_MAX_READY_MINUTES": "10"}))
	})
}

// Max age after Ready with a warning first, an opt-out tag honoured until
// the absolute cap, adopted sessions covered, and stops issued concurrently
// within the bound.
func testMaxReady(t *testing.T, e *sdEnv) {
	ids := []string{"m-1", "m-2", "m-3", "m-4", "m-5"}
	e.start("ann", nil, ids...)
	e.start("", nil, "m-adopted")
	e.start("kim", map[string]string{"keepAlive": "true"}, "m-keep")

	st := e.sweep() // first sighting: Ready now
	if st.Adopted != 1 || st.Listed != 7 || st.Stopped+st.Warned+st.WouldStop != 0 {
		t.Fatalf("first sweep %+v", st)
	}
	if s := e.record("m-adopted"); s.Origin != arrops.OriginExternal || !s.ReadyAt.Equal(e.now) {
		t.Errorf("adopted %#v", *s)
	}
	readyAt := e.now

	e.now = readyAt.Add(50 * time.Minute) // 10 minutes to go: warn, once
	if st := e.sweep(); st.Warned != 6 || st.Stopped != 0 {
		t.Errorf("warning sweep %+v, want 6 warned (not m-keep)", st)
	}
	warnings := e.bus.Events(t, config.EventsTopic, arrops.EventSessionStopWarning)
	if len(warnings) != 6 || warnings[0].StopAt == nil || !warnings[0].StopAt.Equal(readyAt.Add(60*time.Minute)) ||
		!strings.Contains(warnings[0].Reason, "maxReadyMinutes") {
		t.Fatalf("warnings %+v", warnings)
	}
	if r := e.bus.Events(t, "ann-replies", arrops.EventSessionStopWarning); len(r) != 5 {
		t.Errorf("%d warnings to ann's reply queue, want 5", len(r))
	}
	e.now = readyAt.Add(55 * time.Minute)
	if st := e.sweep(); st.Warned != 0 {
		t.Errorf("warned again: %+v", st)
	}

	e.now = readyAt.Add(60 * time.Minute) // exactly at the limit
	calls := e.stopCalls()
	st = e.sweep()
	if st.Stopped != 6 || st.StopCalls != 6 || e.stopCalls()-calls != 6 {
		t.Errorf("stop sweep %+v, ARR stops %d; want 6", st, e.stopCalls()-calls)
	}
	if m := e.gate.maxInflight.Load(); m != 2 {
		t.Errorf("at most %d stops in flight, want exactly the bound 2", m)
	}
	for _, id := range append(ids, "m-adopted") {
		s := e.record(id)
		if s.Status != arrops.SessionStopped || !strings.HasPrefix(s.StopReason, "policy maxReadyMinutes: ") ||
			!strings.Contains(s.StopReason, "60") || !s.StoppedAt.Equal(e.now) {
			t.Errorf("%s: %s %q at %v", id, s.Status, s.StopReason, s.StoppedAt)
		}
	}
	if s := e.record("m-keep"); s.Status != arrops.SessionReady {
		t.Errorf("keepAlive session stopped by max age: %s %q", s.Status, s.StopReason)
	}
	stopped := e.bus.Events(t, config.EventsTopic, arrops.EventSessionStopped)
	if len(stopped) != 6 {
		t.Errorf("%d SessionStopped events, want 6", len(stopped))
	}
	for _, ev := range stopped {
		if !strings.Contains(ev.Reason, "maxReadyMinutes") {
			t.Errorf("event %+v does not say why", ev)
		}
	}

	// The absolute cap applies to keepAlive sessions too.
	e.now = readyAt.Add(121 * time.Minute)
	if st := e.sweep(); st.Stopped != 1 {
		t.Errorf("cap sweep %+v", st)
	}
	if s := e.record("m-keep"); s.Status != arrops.SessionStopped || !strings.HasPrefix(s.StopReason, "policy absoluteMax") {
		t.Errorf("m-keep %s %q", s.Status, s.StopReason)
	}
	if !strings.Contains(e.logs.String(), `"msg":"policy stop"`) {
		t.Errorf("no policy stop logged: %s", e.logs.String())
	}
}

// Dry run: records and announces "would stop" once, stops nothing.
func testDryRun(t *testing.T, e *sdEnv) {
	e.start("ann", nil, "d-1", "d-2")
	e.sweep()
	e.now = e.now.Add(31 * time.Minute)
	if st := e.sweep(); st.WouldStop != 2 || st.Stopped != 0 || st.StopCalls != 0 {
		t.Errorf("dry-run sweep %+v", st)
	}
	e.now = e.now.Add(5 * time.Minute)
	if st := e.sweep(); st.WouldStop != 0 {
		t.Errorf("second dry-run sweep announced again: %+v", st)
	}
	if n := e.stopCalls(); n != 0 {
		t.Errorf("dry run made %d ARR stops", n)
	}
	for _, id := range []string{"d-1", "d-2"} {
		if s := e.record(id); s.Status != arrops.SessionReady || !strings.HasPrefix(s.StopReason, "would stop (dry run): policy maxReadyMinutes") {
			t.Errorf("%s: %s %q", id, s.Status, s.StopReason)
		}
	}
	if ev := e.bus.Events(t, config.EventsTopic, arrops.EventSessionWouldStop); len(ev) != 2 {
		t.Errorf("%d SessionWouldStop events, want 2", len(ev))
	}
}

// Quiet hours in a named zone, across midnight: 19:00-07:00 Tokyo is
// 10:00-22:00 UTC.
func testQuietHours(t *testing.T, e *sdEnv) {
	e.start("ann", nil, "q-1")
	e.now = time.Date(2026, 11, 24, 9, 59, 0, 0, time.UTC) // 18:59 in Tokyo
	if st := e.sweep(); st.Stopped != 0 {
		t.Fatalf("stopped before quiet hours: %+v", st)
	}
	e.now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC) // 19:00 in Tokyo
	if st := e.sweep(); st.Stopped != 1 {
		t.Fatalf("quiet-hours sweep %+v", st)
	}
	if s := e.record("q-1"); !strings.HasPrefix(s.StopReason, "policy quietHours") {
		t.Errorf("reason %q", s.StopReason)
	}
}

// The daily budget counts finished sessions of the day and running ones.
func testBudget(t *testing.T, e *sdEnv) {
	day := e.now
	// A session of ann's that ran 60 minutes earlier today.
	if _, _, err := e.st.CreateSession(e.ctx, &arrops.Session{ID: "b-old", Size: arrops.SizeStandard, Status: arrops.SessionStopped,
		RequestedBy: "ann", CreatedAt: day.Add(-3 * time.Hour), ReadyAt: day.Add(-3 * time.Hour), StoppedAt: day.Add(-2 * time.Hour),
		Announced: arrops.SessionStopped}); err != nil {
		t.Fatal(err)
	}
	e.start("ann", nil, "b-ann")
	e.start("bob", nil, "b-bob")
	e.sweep()
	e.now = day.Add(29 * time.Minute) // ann: 60 + 29 < 90
	if st := e.sweep(); st.Stopped != 0 {
		t.Fatalf("stopped under budget: %+v", st)
	}
	e.now = day.Add(30 * time.Minute) // ann: 60 + 30 = 90, bob: 30
	if st := e.sweep(); st.Stopped != 1 {
		t.Fatalf("budget sweep %+v", st)
	}
	if s := e.record("b-ann"); s.Status != arrops.SessionStopped || !strings.HasPrefix(s.StopReason, "policy dailyBudget") {
		t.Errorf("b-ann %s %q", s.Status, s.StopReason)
	}
	if s := e.record("b-bob"); s.Status != arrops.SessionReady {
		t.Errorf("b-bob %s", s.Status)
	}
}

// A session stopped by someone else between List and our stop is not an
// error, whether ARR answers the stop (a no-op) or has forgotten it (404).
func testStoppedElsewhere(t *testing.T, e *sdEnv) {
	e.start("ann", nil, "x-raced", "x-gone")
	e.sweep()
	e.gate.raced = map[string]bool{"x-raced": true}
	e.gate.gone = map[string]bool{"x-gone": true}
	e.now = e.now.Add(11 * time.Minute)
	st := e.sweep()
	if st.AlreadyStopped != 1 || st.Stopped != 1 {
		t.Errorf("stats %+v, want 1 already stopped (404) and 1 stopped", st)
	}
	for _, id := range []string{"x-raced", "x-gone"} {
		if s := e.record(id); s.Status != arrops.SessionStopped || !strings.HasPrefix(s.StopReason, "policy maxReadyMinutes") {
			t.Errorf("%s: %s %q", id, s.Status, s.StopReason)
		}
	}
}

// A stop refused for a credential or role (ARR 403, EUNAUTHORIZED) fails the
// sweep with that class (functions.Handle logs it at error level), records
// nothing as stopped, and does not keep the other stops from happening; the
// next sweep, after the operator's fix, stops the session.
func testUnauthorized(t *testing.T, e *sdEnv) {
	e.start("ann", nil, "u-denied", "u-ok")
	e.sweep()
	e.gate.forbidden = map[string]bool{"u-denied": true}
	e.now = e.now.Add(11 * time.Minute)
	st, err := shutdown.Sweep(e.ctx, e.deps, slog.New(slog.NewJSONHandler(e.logs, nil)))
	if arrops.ErrorCode(err) != arrops.EUNAUTHORIZED || !strings.Contains(err.Error(), "u-denied") {
		t.Fatalf("sweep: %v (class %q), want the 403 as %s", err, arrops.ErrorCode(err), arrops.EUNAUTHORIZED)
	}
	if st.Stopped != 1 {
		t.Errorf("stats %+v, want the other session stopped", st)
	}
	if s := e.record("u-denied"); s.Status.Terminal() || s.StopReason != "" {
		t.Errorf("refused stop recorded: %s %q", s.Status, s.StopReason)
	}
	e.gate.forbidden = nil
	if st := e.sweep(); st.Stopped != 1 {
		t.Errorf("after the fix: stats %+v, want 1 stopped", st)
	}
	if s := e.record("u-denied"); s.Status != arrops.SessionStopped {
		t.Errorf("after the fix: %s", s.Status)
	}
}

// Through the timer binding: a sweep's summary is logged, nil returned.
func testShutdownFunction(t *testing.T, e *sdEnv) {
	e.start("ann", nil, "f-1")
	logs := functest.RunTimer(t, e.ctx, shutdown.New(e.deps), shutdown.Binding, trigger.Timer{Sys: trigger.NewSys("shutdown", e.now)})
	if !strings.Contains(logs, "shutdown sweep") || !strings.Contains(logs, "listed=1") {
		t.Errorf("logs %s", logs)
	}
	// It warned: a sweep that changed something logs at info level.
	if !strings.Contains(logs, `level=INFO msg="shutdown sweep"`) || !strings.Contains(logs, "warned=1") {
		t.Errorf("a sweep that warned should log at info level: %s", logs)
	}
	// The next one finds nothing to do: routine, so debug.
	again := functest.RunTimer(t, e.ctx, shutdown.New(e.deps), shutdown.Binding, trigger.Timer{Sys: trigger.NewSys("shutdown", e.now)})
	if !strings.Contains(again, `level=DEBUG msg="shutdown sweep"`) || !strings.Contains(again, "warned=0") {
		t.Errorf("a sweep that changed nothing should log at debug level: %s", again)
	}
}
