package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/store"
	"github.com/arrops/arrops/trigger"
)

// The benchmarks here drive the handler's real routes (newApp + addRoutes, the
// same mux main serves) in-process through httptest, against a private
// Azurite and the ARR simulator on loopback. cmd/benchtable reads their
// metrics; a metric name change must be made there too.

// benchEnv is the handler app wired to real backends.
type benchEnv struct {
	tb     testing.TB
	ctx    context.Context
	sim    *arrsim.Server
	app    *app
	mux    *http.ServeMux
	tables functest.Requests // the app's table client: every request, and the writes
	// run keeps ids unique across -count repeats in the same Azurite.
	run int64
	seq atomic.Int64
}

func newBenchEnv(tb testing.TB) *benchEnv {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	az := azuritetest.Start(tb)
	sim, url := functest.Sim(tb, arrsim.Options{ReadyAfter: time.Second}, nil)
	cfg := functest.Config(tb, az.ConnectionString, functest.SimSettings(url), map[string]string{"ARR_STORAGE_ACCESS": "accountSas"})
	e := &benchEnv{tb: tb, ctx: ctx, sim: sim, run: time.Now().UnixNano() % 1e9}
	// Logs are formatted as in production, then dropped: the cost of writing
	// them to the host's pipe is not the handler's.
	e.app = newApp(cfg, io.Discard, slog.LevelInfo)
	// The app's own store constructor plus the counting policy.
	e.app.store.New = func(ctx context.Context) (*store.Store, error) {
		s, err := store.NewFromConnectionString(cfg.StorageConnectionString, &store.Options{
			ClientOptions: azcore.ClientOptions{PerCallPolicies: []azpolicy.Policy{&e.tables}}})
		if err != nil {
			return nil, err
		}
		return s, s.EnsureTables(ctx)
	}
	e.mux = http.NewServeMux()
	addRoutes(e.mux, e.app)
	return e
}

// invoke POSTs an invocation to the route as the host does and returns the
// HTTP status and response body.
func (e *benchEnv) invoke(name string, body []byte) (int, []byte) {
	req := httptest.NewRequestWithContext(e.ctx, http.MethodPost, "/"+name, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(trigger.HeaderInvocationID, fmt.Sprintf("inv-%d", e.seq.Add(1)))
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func (e *benchEnv) mustInvoke(tb testing.TB, name string, body []byte) {
	if code, out := e.invoke(name, body); code != http.StatusOK {
		tb.Fatalf("POST /%s: %d %s", name, code, out)
	}
}

func (e *benchEnv) id(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, e.run, e.seq.Add(1))
}

func commandInvocation(tb testing.TB, messageID, body string) []byte {
	tb.Helper()
	now := time.Now().UTC()
	b, err := trigger.EncodeServiceBusInvocation("cmd", trigger.ServiceBusMessage{
		Body: []byte(body), MessageID: messageID, DeliveryCount: 1, ContentType: "application/json",
		EnqueuedTime: now, SequenceNumber: 1, Sys: trigger.NewSys("commands", now)})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func startInvocation(tb testing.TB, id string) []byte {
	return commandInvocation(tb, "m-"+id, fmt.Sprintf(`{"action":"start","sessionId":%q,"size":"Standard","maxLeaseTimeMinutes":60,"requestedBy":"bench"}`, id))
}

func stopInvocation(tb testing.TB, id string) []byte {
	return commandInvocation(tb, "stop-"+id, fmt.Sprintf(`{"action":"stop","sessionId":%q,"requestedBy":"bench"}`, id))
}

func timerInvocation(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := trigger.EncodeTimerInvocation("timer", trigger.Timer{Sys: trigger.NewSys(name, time.Now().UTC())})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// convertInvocation is a BlobCreated event for a file type ARR does not
// convert: decoded, validated and recorded as rejected, with no ARR call.
func convertInvocation(tb testing.TB, etag string) []byte {
	tb.Helper()
	now := time.Now().UTC()
	ev := []map[string]any{{
		"topic":   "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",
		"subject": "/blobServices/default/containers/arr-input/blobs/bench/plant.obj", "eventType": trigger.BlobCreatedType,
		"id": "ev-" + etag, "eventTime": now.Format(time.RFC3339Nano), "dataVersion": "", "metadataVersion": "1",
		"data": map[string]any{"api": "PutBlob", "eTag": `"` + etag + `"`, "contentType": "model/obj", "contentLength": 80,
			"blobType": "BlockBlob", "url": "http://127.0.0.1:10000/devstoreaccount1/arr-input/bench/plant.obj", "sequencer": "0001"},
	}}
	body, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := trigger.EncodeQueueInvocation("msg", trigger.QueueMessage{Body: body, DequeueCount: 1, ID: "q-" + etag,
		PopReceipt: "pop", InsertionTime: now, ExpirationTime: now.Add(7 * 24 * time.Hour), NextVisibleTime: now.Add(30 * time.Second),
		Sys: trigger.NewSys("convert", now)})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func reportInvocation(tb testing.TB) []byte {
	tb.Helper()
	now := time.Now().UTC()
	from, to := now.AddDate(0, 0, -1).Format(time.DateOnly), now.Format(time.DateOnly)
	b, err := trigger.EncodeHTTPInvocation("req", trigger.HTTPRequest{
		URL: "http://127.0.0.1:7071/api/report?from=" + from + "&to=" + to + "&format=json", Method: http.MethodGet,
		Query: map[string]string{"from": from, "to": to, "format": "json"}, Headers: map[string][]string{"Accept": {"application/json"}},
		Sys: trigger.NewSys("report", now)})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// seed starts n sessions through the route, lets them become Ready and
// records that with one watch sweep, so later sweeps find nothing to change.
func (e *benchEnv) seed(tb testing.TB, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.id("seed")
		e.mustInvoke(tb, "commands", startInvocation(tb, ids[i]))
	}
	e.sim.Advance(2 * time.Second)
	e.mustInvoke(tb, "watch", timerInvocation(tb, "watch"))
	return ids
}

// decodeOnly is the bare decode of an invocation: the envelope and the
// binding the function reads (for commands, the command too).
func decodeOnly(tb testing.TB, ctx context.Context, route string, body []byte) {
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/"+route, bytes.NewReader(body))
	inv, _, err := trigger.ReadInvocation(req, 0)
	if err != nil {
		tb.Fatal(err)
	}
	switch route {
	case "commands":
		m, err := inv.ServiceBusMessage("cmd")
		if err != nil {
			tb.Fatal(err)
		}
		arrops.ParseCommand(m.Body) // a rejected command is still a decoded one
	case "watch", "shutdown":
		if _, err := inv.Timer("timer"); err != nil {
			tb.Fatal(err)
		}
	case "convert":
		m, err := inv.QueueMessage("msg")
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := trigger.DecodeBlobEvents(m.Body); err != nil {
			tb.Fatal(err)
		}
	case "report":
		if _, err := inv.HTTPRequest("req"); err != nil {
			tb.Fatal(err)
		}
	}
}

func perSecond(b *testing.B) float64 {
	return float64(b.N) / b.Elapsed().Seconds()
}

// BenchmarkRoutes measures invocations per second of each function path
// through the handler's route with real backends (route/<path>), and the bare
// decode of the same payload (decode/<path>), measured in the same process;
// the ratio is route over decode time. route/watch also reports the table
// writes of an unchanged sweep (must be 0).
func BenchmarkRoutes(b *testing.B) {
	e := newBenchEnv(b)
	e.seed(b, 20)
	paths := []struct {
		name, route string
		body        func(b *testing.B) []byte
	}{
		{"watch", "watch", func(b *testing.B) []byte { return timerInvocation(b, "watch") }},
		{"shutdown", "shutdown", func(b *testing.B) []byte { return timerInvocation(b, "shutdown") }},
		{"report", "report", func(b *testing.B) []byte { return reportInvocation(b) }},
		{"convert-rejected", "convert", func(b *testing.B) []byte { return convertInvocation(b, fmt.Sprintf("0x%d-%d", e.run, e.seq.Add(1))) }},
		{"commands-rejected", "commands", func(b *testing.B) []byte {
			return commandInvocation(b, e.id("bad"), `{"action":"reboot","sessionId":"x"}`)
		}},
		{"commands-start", "commands", func(b *testing.B) []byte { return startInvocation(b, e.id("start")) }},
	}
	for _, p := range paths {
		b.Run("decode/"+p.name, func(b *testing.B) {
			body := p.body(b)
			b.ReportAllocs()
			for b.Loop() {
				decodeOnly(b, e.ctx, p.route, body)
			}
			b.ReportMetric(perSecond(b), "inv/s")
		})
		b.Run("route/"+p.name, func(b *testing.B) {
			// Each invocation gets a fresh payload (a new session id, a new
			// upload), as in production; building it costs microseconds
			// against the milliseconds of the backend calls.
			writes := e.tables.Writes.Load()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				e.mustInvoke(b, p.route, p.body(b))
				n++
			}
			b.ReportMetric(perSecond(b), "inv/s")
			if p.name == "watch" {
				w := e.tables.Writes.Load() - writes
				b.ReportMetric(float64(w)/float64(n), "table-writes/sweep")
				if w != 0 {
					b.Errorf("unchanged watch sweeps wrote %d table entities", w)
				}
			}
		})
	}
}

// bareStart makes, directly with the handler's own ARR, table and queue
// clients, the calls the commands start path makes: ARR create, record
// insert, Starting event, claim clear, audit row. TestOverheadBaseline checks
// that the call counts match the route's.
func (e *benchEnv) bareStart(tb testing.TB, id string) {
	ctx := e.ctx
	arrc, err := e.app.arr.Get(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := e.app.store.Get(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	bus, err := e.app.bus.Get(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UTC()
	// Intent first: the record, then ARR, then what ARR answered.
	s := &arrops.Session{ID: id, Size: arrops.SizeStandard, Status: arrops.SessionRequested, Origin: arrops.OriginCommand,
		RequestedBy: "bench", MaxLeaseMinutes: 60, CreatedAt: now, CorrelationID: "m-" + id}
	s, _, err = st.CreateSession(ctx, s)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := arrc.CreateSession(ctx, id, arr.SessionSettings{MaxLeaseTimeMinutes: 60, Size: "Standard"}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	s.Status, s.Announced, s.AnnounceClaimedAt = arrops.SessionStatus(resp.Status), arrops.SessionStatus(resp.Status), now
	if err := st.UpdateSession(ctx, s); err != nil {
		tb.Fatal(err)
	}
	ev := arrops.SessionEvent(s, now)
	body, _ := json.Marshal(ev)
	if err := bus.Publish(ctx, config.EventsTopic, notify.Message{MessageID: functions.MessageID(id, string(ev.Type), "bare"),
		Subject: string(ev.Type), ContentType: "application/json", Body: body}); err != nil {
		tb.Fatal(err)
	}
	s.AnnounceClaimedAt = time.Time{}
	if err := st.UpdateSession(ctx, s); err != nil {
		tb.Fatal(err)
	}
	functions.KickFollowUps(ctx, e.app.followUps, now, slog.New(slog.DiscardHandler))
	if err := st.AppendAudit(ctx, arrops.CommandAudit{MessageID: "m-" + id, DeliveryCount: 1, Action: arrops.ActionStart,
		SessionID: id, RequestedBy: "bench", Outcome: arrops.OutcomeAccepted, Reason: "session starting", At: now}); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkHandlerOverhead compares the commands start path through the
// handler (HTTP request, decode, ARR create, record, event, audit) with the
// same ARR, table and queue calls made directly (the baseline). Azurite's
// latency drifts on a shared machine, so the two run in turn, one pair per
// iteration with the order alternating, and are timed separately; the ratio
// is route time over bare time, pair by pair (median) and in total.
// Target: route ≤ 1.10 × baseline.
func BenchmarkHandlerOverhead(b *testing.B) {
	e := newBenchEnv(b)
	e.seed(b, 1) // builds the clients and takes the STS token outside the timing
	var route, bare time.Duration
	var ratios []float64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		body := startInvocation(b, e.id("route"))
		bareID := e.id("bare")
		var r, w time.Duration
		timed := func(f func()) time.Duration { t := time.Now(); f(); return time.Since(t) }
		if i%2 == 0 {
			w = timed(func() { e.bareStart(b, bareID) })
			r = timed(func() { e.mustInvoke(b, "commands", body) })
		} else {
			r = timed(func() { e.mustInvoke(b, "commands", body) })
			w = timed(func() { e.bareStart(b, bareID) })
		}
		route, bare = route+r, bare+w
		ratios = append(ratios, float64(r)/float64(w))
	}
	n := float64(b.N)
	b.ReportMetric(float64(route.Nanoseconds())/n, "route-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/n, "bare-ns/op")
	b.ReportMetric(float64(route)/float64(bare), "x-bare")
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "x-bare-median-pair")
}

// lifecycle runs one session through the handler: start, a watch sweep that
// sees it Ready, stop, and a watch sweep after it left ARR's list.
func (e *benchEnv) lifecycle(tb testing.TB, id string) {
	e.mustInvoke(tb, "commands", startInvocation(tb, id))
	e.sim.Advance(2 * time.Second)
	e.mustInvoke(tb, "watch", timerInvocation(tb, "watch"))
	e.mustInvoke(tb, "commands", stopInvocation(tb, id))
	e.mustInvoke(tb, "watch", timerInvocation(tb, "watch"))
}

// lifecycleCalls are the ARR calls per session lifecycle (List calls are per
// sweep, not per session, and counted apart).
type lifecycleCalls struct{ create, stop, get, list float64 }

func callsSince(before, after arrsim.Stats, sessions int) lifecycleCalls {
	n := float64(sessions)
	return lifecycleCalls{create: float64(after.CreateSession-before.CreateSession) / n,
		stop: float64(after.StopSession-before.StopSession) / n, get: float64(after.GetSession-before.GetSession) / n,
		list: float64(after.ListSessions - before.ListSessions)}
}

// BenchmarkLifecycle reports the ARR calls one session costs over its whole
// life through the handler (target: create 1, stop 1, final GET 1) and the
// lifecycle time.
func BenchmarkLifecycle(b *testing.B) {
	e := newBenchEnv(b)
	e.seed(b, 1)
	before := e.sim.Stats()
	n := 0
	for b.Loop() {
		e.lifecycle(b, e.id("life"))
		n++
	}
	c := callsSince(before, e.sim.Stats(), n)
	b.ReportMetric(c.create, "arr-create/session")
	b.ReportMetric(c.stop, "arr-stop/session")
	b.ReportMetric(c.get, "arr-get/session")
	b.ReportMetric(c.list/float64(2*n), "arr-list/sweep")
}

// TestBenchAccounting checks what the benchmarks rely on: the bare baseline
// makes the same table and ARR calls as the route it is compared with, a
// lifecycle costs create 1, stop 1, final GET 1, and an unchanged watch sweep
// writes no table entity.
func TestBenchAccounting(t *testing.T) {
	e := newBenchEnv(t)
	e.seed(t, 3)

	calls := func(f func()) (tables int64, arrCalls arrsim.Stats) {
		before, sim := e.tables.All.Load(), e.sim.Stats()
		f()
		after := e.sim.Stats()
		return e.tables.All.Load() - before, arrsim.Stats{CreateSession: after.CreateSession - sim.CreateSession,
			GetSession: after.GetSession - sim.GetSession, ListSessions: after.ListSessions - sim.ListSessions}
	}
	routeTables, routeARR := calls(func() { e.mustInvoke(t, "commands", startInvocation(t, e.id("acct-route"))) })
	bareTables, bareARR := calls(func() { e.bareStart(t, e.id("acct-bare")) })
	if routeTables != bareTables || routeARR != bareARR || routeARR.CreateSession != 1 {
		t.Errorf("route start made %d table calls and ARR %+v; the bare baseline %d and %+v", routeTables, routeARR, bareTables, bareARR)
	}

	before := e.sim.Stats()
	const n = 3
	for range n {
		e.lifecycle(t, e.id("acct-life"))
	}
	if c := callsSince(before, e.sim.Stats(), n); c.create != 1 || c.stop != 1 || c.get != 1 || c.list != 2*n {
		t.Errorf("per session lifecycle: %+v, want create 1, stop 1, get 1 and one List per sweep (%d)", c, 2*n)
	}

	e.sim.Advance(2 * time.Second)
	e.mustInvoke(t, "watch", timerInvocation(t, "watch")) // the route start above is Ready now
	writes := e.tables.Writes.Load()
	for range 3 {
		e.mustInvoke(t, "watch", timerInvocation(t, "watch"))
	}
	if w := e.tables.Writes.Load() - writes; w != 0 {
		t.Errorf("3 unchanged watch sweeps wrote %d table entities, want 0", w)
	}
}
