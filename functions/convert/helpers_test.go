package convert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	"github.com/arrops/arrops/internal/modroot"
	"github.com/arrops/arrops/internal/syncbuf"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/store"
	"github.com/arrops/arrops/trigger"
)

// The simulator's account: a made-up id and a throwaway key only it accepts.
const (
	testAccountID  = "11111111-2222-4333-8444-555555555555"
	testAccountKey = "local-simulator-key-not-a-secret"
)

// sampleGLB is a minimal binary glTF: magic "glTF", version 2, total length
// 12, padded (the simulator only hashes it).
var sampleGLB = append([]byte("glTF\x02\x00\x00\x00\x0c\x00\x00\x00"), bytes.Repeat([]byte{0x20}, 64)...)

// fixture reads a file of the shared Functions fixtures.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	dir, err := modroot.Shared()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "fixtures", "functions", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// blobEvent describes a storage event; json renders it from the captured
// Event Grid or CloudEvents example, so every field the service sends is
// there, with ours replacing the example's values.
type blobEvent struct {
	cloud     bool   // CloudEvents 1.0 schema instead of the Event Grid schema
	eventType string // default Microsoft.Storage.BlobCreated
	api       string // default PutBlob
	container string
	path      string
	etag      string // as storage returns it, with or without quotes
	size      int64
	id        string // default derived from container, path and etag
}

func (e blobEvent) json(t testing.TB) []byte {
	t.Helper()
	name := "eventgrid-blobcreated-event.json"
	if e.cloud {
		name = "cloudevents-blobcreated-event.json"
	}
	var arr []map[string]any
	if err := json.Unmarshal(fixture(t, name), &arr); err != nil || len(arr) != 1 {
		t.Fatalf("fixture %s: %v", name, err)
	}
	ev := arr[0]
	if e.eventType == "" {
		e.eventType = trigger.BlobCreatedType
	}
	if e.api == "" {
		e.api = "PutBlob"
	}
	if e.id == "" {
		e.id = fmt.Sprintf("ev-%x", []byte(e.container+e.path+e.etag+e.api))
		if len(e.id) > 60 {
			e.id = e.id[:60]
		}
	}
	if e.cloud {
		ev["type"] = e.eventType
	} else {
		ev["eventType"] = e.eventType
	}
	ev["id"] = e.id
	ev["subject"] = "/blobServices/default/containers/" + e.container + "/blobs/" + e.path
	data := ev["data"].(map[string]any)
	data["api"] = e.api
	data["eTag"] = `"` + strings.Trim(e.etag, `"`) + `"`
	data["contentLength"] = e.size
	data["contentType"] = "model/gltf-binary"
	data["url"] = "https://my-storage-account.blob.core.windows.net/" + e.container + "/" + e.path
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decoded renders and decodes e: the one event the function would see.
func (e blobEvent) decoded(t testing.TB) trigger.BlobEvent {
	t.Helper()
	evs, err := trigger.DecodeBlobEvents(e.json(t))
	if err != nil || len(evs) != 1 {
		t.Fatalf("decode %+v: %v", e, err)
	}
	return evs[0]
}

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
	logs  *syncbuf.Buffer // everything the function and the simulator logged
	now   time.Time
	f     functions.Func   // the function under test
	fn    http.HandlerFunc // f behind the custom-handler protocol, logging to logs
}

// newEnv starts Azurite and the simulator and builds the function with the
// default settings plus settings.
func newEnv(t testing.TB, settings map[string]string, simOpts arrsim.Options) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, az: azuritetest.Start(t), logs: &syncbuf.Buffer{}, now: time.Now().UTC().Truncate(time.Millisecond)}
	simOpts.AccountID, simOpts.AccountKey = testAccountID, testAccountKey
	simOpts.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	if simOpts.ConversionAfter == 0 {
		simOpts.ConversionAfter = time.Hour // tests advance the clock when they want an end
	}
	e.sim = arrsim.New(simOpts)
	t.Cleanup(e.sim.Close)
	e.tap = &bodyTap{next: e.sim}
	srv := httptest.NewServer(e.tap)
	t.Cleanup(srv.Close)

	env := map[string]string{
		"ARR_ACCOUNT_ID":      testAccountID,
		"ARR_ACCOUNT_DOMAIN":  "eastus.mixedreality.azure.com",
		"ARR_ENDPOINT":        srv.URL,
		"ARR_STS_ENDPOINT":    srv.URL,
		"ARR_ACCOUNT_KEY":     testAccountKey,
		"AzureWebJobsStorage": e.az.ConnectionString,
		"ARR_STORAGE_ACCESS":  config.AccessAccountSas,
	}
	for k, v := range settings {
		env[k] = v
	}
	var err error
	if e.cfg, err = config.Load(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	key, err := arr.NewAccountKeyCredential(testAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	// One quick retry: the injected 500s of the transient case should not
	// cost the default back-off.
	e.arr, err = arr.NewClient(srv.URL, testAccountID, key, &arr.ClientOptions{AccountDomain: e.cfg.AccountDomain,
		STSEndpoint: srv.URL, ClientOptions: azcoreOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if e.store, err = store.NewFromConnectionString(e.az.ConnectionString, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.store.EnsureTables(ctx); err != nil {
		t.Fatal(err)
	}
	qs, err := notify.QueueService(e.az.ConnectionString, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.bus = notify.NewLocal(qs)
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
	e.f = New(Deps{Config: e.cfg, ARR: functions.Value(e.arr), Now: func() time.Time { return e.now },
		Records: functions.Value[functions.ConversionRecords](e.store),
		Bus:     functions.Value[functions.Publisher](e.bus), Access: functions.Value(acc)})
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
	return rec.Code
}

// record reads the conversion record id (nil when there is none).
func (e *env) record(id string) *arrops.Conversion {
	e.t.Helper()
	c, err := e.store.GetConversion(e.ctx, id)
	if arrops.ErrorCode(err) == arrops.ENOTFOUND {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return c
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
