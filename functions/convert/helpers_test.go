package convert

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/functest"
	"github.com/arrops/arrops/internal/syncbuf"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/store"
	"github.com/arrops/arrops/trigger"
)

// bodyTap records the create-conversion bodies the simulator receives, as
// sent on the wire (with the SAS), so a test can see what ARR was given.
type bodyTap struct {
	next http.Handler
	mu   sync.Mutex
	puts [][]byte
}

func (b *bodyTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/conversions/") {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		b.mu.Lock()
		b.puts = append(b.puts, body)
		b.mu.Unlock()
	}
	b.next.ServeHTTP(w, r)
}

func (b *bodyTap) bodies() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.puts...)
}

// env is one test's real collaborators: a private Azurite (records, blobs,
// the local event bus) and the ARR simulator over HTTP on 127.0.0.1.
type env struct {
	t     testing.TB
	ctx   context.Context
	cfg   *config.Config
	az    *azuritetest.Instance
	sim   *arrsim.Server
	tap   *bodyTap
	arr   *arr.Client
	store *store.Store
	bus   *notify.Local
	blobs *azblob.Client
	logs  *syncbuf.Buffer // the simulator's lines and those of failed invocations
	// replyLogs are the Logs of the last reply (a 2xx reply's lines are there,
	// not on stdout).
	replyLogs []string
	now       time.Time
	deps      Deps
	reader    *Blobs           // the app's blob reader (side files, ARR's output files)
	f         functions.Func   // the function under test
	fn        http.HandlerFunc // f behind the custom-handler protocol, logging to logs
}

// newEnv starts Azurite and the simulator and builds the function with the
// default settings plus settings.
func newEnv(t testing.TB, settings map[string]string, simOpts arrsim.Options) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, az: azuritetest.Start(t), logs: &syncbuf.Buffer{}, now: time.Now().UTC().Truncate(time.Millisecond)}
	simOpts.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	if simOpts.ConversionAfter == 0 {
		simOpts.ConversionAfter = time.Hour // tests advance the clock when they want an end
	}
	var url string
	e.sim, url = functest.Sim(t, simOpts, func(h http.Handler) http.Handler {
		e.tap = &bodyTap{next: h}
		return e.tap
	})
	e.cfg = functest.Config(t, e.az.ConnectionString, functest.SimSettings(url),
		map[string]string{"ARR_STORAGE_ACCESS": config.AccessAccountSas}, settings)
	// One quick retry: the injected 500s of the transient case should not
	// cost the default back-off.
	e.arr = functest.ARR(t, url, azcoreOptions())
	e.store = functest.Store(t, e.az.ConnectionString, nil)
	qs, err := notify.QueueService(e.az.ConnectionString, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.bus = notify.NewLocal(qs, config.EventsTopic)
	if e.blobs, err = azblob.NewClientFromConnectionString(e.az.ConnectionString, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{e.cfg.InputContainer, e.cfg.OutputContainer, "elsewhere"} {
		if _, err := e.blobs.CreateContainer(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	acc, err := NewAccess(e.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := NewBlobs(e.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.reader = reader
	e.deps = Deps{Config: e.cfg, ARR: functions.Value(e.arr), Now: func() time.Time { return e.now },
		Records: functions.Value[functions.ConversionRecords](e.store),
		Bus:     functions.Value[functions.Publisher](e.bus), Access: functions.Value(acc),
		Blobs: functions.Value[functions.BlobReader](reader)}
	e.f = New(e.deps)
	e.fn = functions.Handle("convert", e.f, e.logs, slog.LevelDebug)
	return e
}

func azcoreOptions() (o policy.ClientOptions) {
	o.Retry = policy.RetryOptions{MaxRetries: 1, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond}
	return o
}

// upload writes a blob and returns its eTag as storage reports it.
func (e *env) upload(container, path string, data []byte) string {
	e.t.Helper()
	resp, err := e.blobs.UploadBuffer(e.ctx, container, path, data, nil)
	if err != nil {
		e.t.Fatalf("upload %s/%s: %v", container, path, err)
	}
	return string(*resp.ETag)
}

// deliver hands body to the function as the host would (a queue trigger
// invocation over HTTP) and returns the HTTP status of the answer.
func (e *env) deliver(body []byte) int {
	e.t.Helper()
	inv, err := trigger.EncodeQueueInvocation(Binding, trigger.QueueMessage{Body: body, DequeueCount: 1,
		ID: "queue-message-id", PopReceipt: "pop", InsertionTime: e.now, ExpirationTime: e.now.Add(7 * 24 * time.Hour),
		NextVisibleTime: e.now.Add(30 * time.Second), Sys: trigger.NewSys("convert", e.now)})
	if err != nil {
		e.t.Fatal(err)
	}
	req := httptest.NewRequestWithContext(e.ctx, http.MethodPost, "/convert", bytes.NewReader(inv))
	req.Header.Set(trigger.HeaderInvocationID, "inv-1")
	rec := httptest.NewRecorder()
	e.fn(rec, req)
	var resp trigger.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		e.t.Fatalf("reply %q: %v", rec.Body.String(), err)
	}
	e.replyLogs = resp.Logs
	return rec.Code
}

// record reads the conversion record id (nil when there is none).
func (e *env) record(id string) *arrops.Conversion {
	e.t.Helper()
	c, err := e.store.GetConversion(e.ctx, id)
	return functest.Found(e.t, c, err)
}

// records returns every conversion record of today and yesterday.
func (e *env) records() []*arrops.Conversion {
	e.t.Helper()
	var out []*arrops.Conversion
	for c, err := range e.store.ConversionsByDay(e.ctx, e.now.Add(-24*time.Hour), e.now.Add(time.Hour)) {
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// events drains the local arr-events queue.
func (e *env) events() []arrops.Event {
	e.t.Helper()
	msgs, err := e.bus.Receive(e.ctx, config.EventsTopic, 32, 200*time.Millisecond)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []arrops.Event
	for _, m := range msgs {
		var ev arrops.Event
		if err := json.Unmarshal(m.Body, &ev); err != nil {
			e.t.Fatalf("event %s: %v", m.Body, err)
		}
		out = append(out, ev)
	}
	return out
}
