package commands_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/commands"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/trigger"
)

// The decode+dispatch benchmark measures what the handler itself spends on a
// command: the custom-handler envelope, the Service Bus message, the command,
// the dispatch and the record/audit/event logic, with the simulator called
// in-process (no socket) and the records kept in memory. Those two stand-ins
// are the point of this benchmark, not a shortcut: with Azurite in the loop
// the figure would be Azurite's latency (handler/bench_test.go measures that
// path, and the handler's overhead over the bare calls, against the real
// services). cmd/benchtable reads its metrics.

// simTransport hands each request to the simulator's http.Handler directly.
type simTransport struct{ h http.Handler }

func (t simTransport) Do(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// memRecords keeps records in memory with the store's semantics the function
// relies on: create-if-absent, ETag-conditional update, one audit row per
// message id and delivery.
type memRecords struct {
	mu       sync.Mutex
	sessions map[string]arrops.Session
	audits   map[string]arrops.CommandAudit
	etag     int
}

func newMemRecords() *memRecords {
	return &memRecords{sessions: map[string]arrops.Session{}, audits: map[string]arrops.CommandAudit{}}
}

func (m *memRecords) GetSession(_ context.Context, id string) (*arrops.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return nil, arrops.Errorf(arrops.ENOTFOUND, "no session record %s", id)
	}
	return &s, nil
}

func (m *memRecords) CreateSession(_ context.Context, s *arrops.Session) (*arrops.Session, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.sessions[s.ID]; ok {
		return &old, false, nil
	}
	m.etag++
	c := *s
	c.ETag = fmt.Sprint(m.etag)
	m.sessions[s.ID] = c
	return &c, true, nil
}

func (m *memRecords) UpdateSession(_ context.Context, s *arrops.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.sessions[s.ID]; !ok || old.ETag != s.ETag {
		return fmt.Errorf("update session %s: %w", s.ID, functions.ErrConcurrentUpdate)
	}
	m.etag++
	s.ETag = fmt.Sprint(m.etag)
	m.sessions[s.ID] = *s
	return nil
}

func (m *memRecords) AppendAudit(_ context.Context, a arrops.CommandAudit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audits[fmt.Sprintf("%s/%d", a.MessageID, a.DeliveryCount)] = a
	return nil
}

// memBus counts published messages.
type memBus struct {
	mu sync.Mutex
	n  map[string]int
}

func (b *memBus) Publish(_ context.Context, entity string, msgs ...notify.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n[entity] += len(msgs)
	return nil
}

type dispatchEnv struct {
	sim  *arrsim.Server
	recs *memRecords
	bus  *memBus
	fn   http.HandlerFunc
	ctx  context.Context
}

func newDispatchEnv(tb testing.TB) *dispatchEnv {
	tb.Helper()
	sim := arrsim.New(arrsim.Options{AccountID: functest.AccountID, AccountKey: functest.AccountKey, ReadyAfter: time.Second})
	tb.Cleanup(sim.Close)
	// The address is never dialled: the transport calls the simulator.
	arrc := functest.ARR(tb, "http://127.0.0.1:9", azcore.ClientOptions{Transport: simTransport{sim}})
	cfg := functest.Config(tb, "UseDevelopmentStorage=true")
	e := &dispatchEnv{sim: sim, recs: newMemRecords(), bus: &memBus{n: map[string]int{}}, ctx: context.Background()}
	f := commands.New(commands.Deps{Config: cfg, ARR: functions.Value(arrc), Bus: functions.Value[functions.Publisher](e.bus),
		Records: functions.Value[commands.Records](e.recs), Now: time.Now})
	// Logs are formatted as in production and dropped.
	e.fn = functions.Handle("commands", f, io.Discard, slog.LevelInfo)
	return e
}

func (e *dispatchEnv) invoke(tb testing.TB, body []byte) {
	req := httptest.NewRequestWithContext(e.ctx, http.MethodPost, "/commands", bytes.NewReader(body))
	req.Header.Set(trigger.HeaderInvocationID, "inv")
	rec := httptest.NewRecorder()
	e.fn(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
}

func benchInvocation(tb testing.TB, messageID, body string) []byte {
	tb.Helper()
	now := time.Now().UTC()
	b, err := trigger.EncodeServiceBusInvocation(commands.Binding, trigger.ServiceBusMessage{
		Body: []byte(body), MessageID: messageID, DeliveryCount: 1, ContentType: "application/json",
		EnqueuedTime: now, SequenceNumber: 1, Sys: trigger.NewSys("commands", now)})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// startBodies renders n start invocations, each a new session.
func startBodies(tb testing.TB, prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		id := fmt.Sprintf("%s-%d", prefix, i)
		out[i] = benchInvocation(tb, "m-"+id, fmt.Sprintf(`{"action":"start","sessionId":%q,"size":"Standard","requestedBy":"bench"}`, id))
	}
	return out
}

// BenchmarkDecodeDispatch reports invocations per second of the commands
// path through the custom-handler adapter (target ≥ 5,000/s on one core: run
// with -cpu 1), and the bare decode (envelope, message, command) measured
// first in the same process.
//
//	baseline=decode: trigger.ReadInvocation + ServiceBusMessage + ParseCommand
//	rejected:        an unknown action: decoded, audited, acknowledged
//	start:           a new session: ARR create (simulator in-process), record, Starting event, audit
func BenchmarkDecodeDispatch(b *testing.B) {
	e := newDispatchEnv(b)
	run := time.Now().UnixNano()
	// Rendered ahead: encoding the payload is the host's work, not ours.
	const pool = 1 << 12
	starts := startBodies(b, fmt.Sprintf("s%d", run), pool)
	rejected := benchInvocation(b, "m-bad", `{"action":"reboot","sessionId":"x","requestedBy":"bench"}`)
	b.Run("baseline=decode", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		cpu := startCPU(b)
		for b.Loop() {
			req := httptest.NewRequestWithContext(e.ctx, http.MethodPost, "/commands", bytes.NewReader(starts[i%pool]))
			inv, _, err := trigger.ReadInvocation(req, 0)
			if err != nil {
				b.Fatal(err)
			}
			msg, err := inv.ServiceBusMessage(commands.Binding)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := arrops.ParseCommand(msg.Body); err != nil {
				b.Fatal(err)
			}
			i++
		}
		cpu.report()
	})
	b.Run("rejected", func(b *testing.B) {
		b.ReportAllocs()
		cpu := startCPU(b)
		for b.Loop() {
			e.invoke(b, rejected)
		}
		cpu.report()
	})
	b.Run("start", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		cpu := startCPU(b)
		for b.Loop() {
			if i > 0 && i%pool == 0 { // past the pool: render fresh ids, untimed
				b.StopTimer()
				starts = startBodies(b, fmt.Sprintf("s%d-%d", run, i), pool)
				b.StartTimer()
			}
			e.invoke(b, starts[i%pool])
			i++
		}
		cpu.report()
	})
}

// cpuMeter reports, beside wall-clock invocations per second, invocations
// per CPU-second of the whole process (user + system, from getrusage): on a
// shared machine the wall clock counts time this process waited for a core,
// so the per-core figure is the CPU one.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
}

func startCPU(b *testing.B) cpuMeter { return cpuMeter{b, processCPU(b)} }

func (m cpuMeter) report() {
	used := processCPU(m.b) - m.start
	m.b.ReportMetric(float64(m.b.N)/m.b.Elapsed().Seconds(), "inv/s")
	if used > 0 {
		m.b.ReportMetric(float64(m.b.N)/used.Seconds(), "inv/cpu-s")
	}
}

func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestDecodeDispatchBench checks the benchmark's set-up does what it says:
// a start creates one session in the simulator, one record, one audit row
// and one Starting event; a rejected command only an audit row.
func TestDecodeDispatchBench(t *testing.T) {
	e := newDispatchEnv(t)
	for _, body := range startBodies(t, "check", 3) {
		e.invoke(t, body)
	}
	e.invoke(t, benchInvocation(t, "m-bad", `{"action":"reboot","sessionId":"x"}`))
	if st := e.sim.Stats(); st.CreateSession != 3 {
		t.Errorf("simulator saw %d creates, want 3", st.CreateSession)
	}
	if len(e.recs.sessions) != 3 || len(e.recs.audits) != 4 || e.bus.n[config.EventsTopic] != 3 {
		t.Errorf("%d records, %d audit rows, %d events; want 3, 4, 3", len(e.recs.sessions), len(e.recs.audits), e.bus.n[config.EventsTopic])
	}
	for _, s := range e.recs.sessions {
		if s.Status != arrops.SessionStarting || !s.AnnounceClaimedAt.IsZero() {
			t.Errorf("record %s: status %s, claim %v", s.ID, s.Status, s.AnnounceClaimedAt)
		}
	}
}
