package watch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	"github.com/arrops/arrops/functions/watch"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/store"
	"github.com/arrops/arrops/trigger"
)

const (
	watchTestAccount = "11111111-2222-4333-8444-555555555555"
	watchTestKey     = "watch-test-account-key"
)

// watchRecBus records published messages (Service Bus cannot run locally).
type watchRecBus struct {
	mu   sync.Mutex
	sent map[string][]notify.Message
}

func (b *watchRecBus) Publish(_ context.Context, entity string, msgs ...notify.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sent == nil {
		b.sent = map[string][]notify.Message{}
	}
	b.sent[entity] = append(b.sent[entity], msgs...)
	return nil
}

func (b *watchRecBus) subjects(entity string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.sent[entity] {
		out = append(out, m.Subject+":"+fmt.Sprint(m.ApplicationProperties["sessionId"]))
	}
	return out
}

// watchWriteCounter counts table requests that are not reads, independently
// of the function's own Stats.
type watchWriteCounter struct{ n atomic.Int64 }

func (c *watchWriteCounter) Do(req *azpolicy.Request) (*http.Response, error) {
	if req.Raw().Method != http.MethodGet {
		c.n.Add(1)
	}
	return req.Next()
}

type watchEnv struct {
	t      *testing.T
	ctx    context.Context
	sim    *arrsim.Server
	arrc   *arr.Client
	st     *store.Store
	bus    *watchRecBus
	writes *watchWriteCounter
	deps   watch.Deps
	now    time.Time
}

var watchTableSeq atomic.Int64

func newWatchEnv(t *testing.T, az *azuritetest.Instance) *watchEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	sim := arrsim.New(arrsim.Options{AccountID: watchTestAccount, AccountKey: watchTestKey, ReadyAfter: time.Second})
	t.Cleanup(sim.Close)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cred, err := arr.NewAccountKeyCredential(watchTestKey)
	if err != nil {
		t.Fatal(err)
	}
	arrc, err := arr.NewClient(srv.URL, watchTestAccount, cred, &arr.ClientOptions{
		AccountDomain: "eastus.mixedreality.azure.com", STSEndpoint: srv.URL,
		ClientOptions: azpolicy.ClientOptions{Retry: azpolicy.RetryOptions{RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	n := watchTableSeq.Add(1)
	wc := &watchWriteCounter{}
	st, err := store.NewFromConnectionString(az.ConnectionString, &store.Options{
		SessionsTable: fmt.Sprintf("WatchS%d", n), ConversionsTable: fmt.Sprintf("WatchC%d", n), CommandsTable: fmt.Sprintf("WatchA%d", n),
		ClientOptions: azpolicy.ClientOptions{PerCallPolicies: []azpolicy.Policy{wc}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureTables(ctx); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"ARR_ACCOUNT_ID": watchTestAccount, "ARR_ACCOUNT_DOMAIN": "eastus.mixedreality.azure.com",
			"AzureWebJobsStorage": az.ConnectionString, "WATCH_CONCURRENCY": "3"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &watchEnv{t: t, ctx: ctx, sim: sim, arrc: arrc, st: st, bus: &watchRecBus{}, writes: wc, now: time.Now().UTC().Truncate(time.Millisecond)}
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

func (e *watchEnv) sweep() watch.Stats {
	e.t.Helper()
	st, err := watch.Sweep(e.ctx, e.deps)
	if err != nil {
		e.t.Fatalf("sweep: %v", err)
	}
	return st
}

func TestWatch(t *testing.T) {
	az := azuritetest.Start(t)
	t.Run("Sweep", func(t *testing.T) { testWatchSweep(t, newWatchEnv(t, az)) })
	t.Run("Function", func(t *testing.T) { testWatchFunction(t, newWatchEnv(t, az)) })
	t.Run("ListFails", func(t *testing.T) { testWatchListFails(t, newWatchEnv(t, az)) })
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
	events := strings.Join(e.bus.subjects(config.EventsTopic), " ")
	for _, want := range []string{"SessionReady:w-listed", "SessionStopped:w-stopped", "SessionError:w-ghost", "SessionReady:w-external"} {
		if strings.Count(events, want) != 1 {
			t.Errorf("events %q: want %s once", events, want)
		}
	}
	if strings.Contains(events, "w-done") {
		t.Errorf("finished record announced again: %s", events)
	}
	if r := e.bus.subjects("ann-replies"); len(r) != 1 || r[0] != "SessionReady:w-listed" {
		t.Errorf("requester's reply queue got %v", r)
	}

	// Nothing changed: the next sweep writes nothing and announces nothing,
	// although ARR's elapsed minutes tick.
	e.sim.Advance(3 * time.Minute)
	e.now = e.now.Add(3 * time.Minute)
	etag := e.record("w-listed").ETag
	sent := len(e.bus.subjects(config.EventsTopic))
	w0 := e.writes.n.Load()
	st = e.sweep()
	if n := e.writes.n.Load() - w0; n != 0 || st.Writes != 0 {
		t.Errorf("unchanged sweep made %d table writes (stats %d), want 0", n, st.Writes)
	}
	if got := e.record("w-listed").ETag; got != etag {
		t.Error("unchanged sweep rewrote w-listed")
	}
	if n := len(e.bus.subjects(config.EventsTopic)); n != sent {
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
	body, err := trigger.EncodeTimerInvocation(watch.Binding, trigger.Timer{IsPastDue: true, Sys: trigger.NewSys("watch", e.now)})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := trigger.DecodeInvocation(body)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var out trigger.Response
	if err := watch.New(e.deps)(e.ctx, inv, &out, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "past due") || !strings.Contains(logs.String(), "listed=1") {
		t.Errorf("logs: %s", logs.String())
	}
}

// A failing List fails the sweep (the next timer run retries) and writes nothing.
func testWatchListFails(t *testing.T, e *watchEnv) {
	e.startRecorded("wl-1", "ann", "")
	e.sim.SetFaults(arrsim.Faults{Error500Next: 10})
	w0 := e.writes.n.Load()
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	_, err := watch.Sweep(ctx, e.deps)
	var re *arr.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusInternalServerError || !strings.Contains(err.Error(), "list sessions") {
		t.Fatalf("err %v, want the ARR 500 wrapped with context", err)
	}
	if n := e.writes.n.Load() - w0; n != 0 {
		t.Errorf("%d writes after a failed List", n)
	}
}
