package devhost

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrops/arrops/internal/syncbuf"

	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/modroot"
)

// Shared, lazily prepared test resources: the echo handler binary and one
// Azurite for the package (each test uses its own queue names). Lazy so that
// unit tests and fuzz workers do not pay for them.
var (
	tmpDir string

	echoOnce sync.Once
	echoBin  string
	echoErr  error
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	if tmpDir, err = os.MkdirTemp("", "devhost-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(tmpDir)
	defer azuritetest.StopShared()
	return m.Run()
}

// echoHandler builds testdata/echohandler once.
func echoHandler(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds or starts processes: skipped under -short")
	}
	echoOnce.Do(func() {
		bin := filepath.Join(tmpDir, "echohandler")
		out, err := exec.Command("go", "build", "-o", bin, "./testdata/echohandler").CombinedOutput()
		if err != nil {
			echoErr = fmt.Errorf("build echohandler: %v\n%s", err, out)
			return
		}
		echoBin = bin
	})
	if echoErr != nil {
		t.Fatal(echoErr)
	}
	return echoBin
}

// needStorage returns the connection string of the package's Azurite,
// started on first use (skipped under -short, or when Azurite is not
// installed outside CI).
func needStorage(t testing.TB) string {
	t.Helper()
	return azuritetest.Shared(t).ConnectionString
}

// fixture reads a file of the shared Functions fixtures.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	shared, err := modroot.Shared()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(shared, "fixtures", "functions", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// app writes a deployment root: host.json plus functions/<name>/function.json.
func app(t testing.TB, hostJSON string, functions map[string]string, settings map[string]string) string {
	t.Helper()
	root := t.TempDir()
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "host.json"), hostJSON)
	for name, fj := range functions {
		write(filepath.Join(root, "functions", name, "function.json"), fj)
	}
	if settings != nil {
		b, _ := json.Marshal(map[string]any{"IsEncrypted": false, "Values": settings})
		write(filepath.Join(root, "local.settings.json"), string(b))
	}
	return root
}

const baseHost = `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"},"enableForwardingHttpRequest":false},
 "extensions":{"queues":{"maxDequeueCount":5,"visibilityTimeout":"00:00:00","batchSize":8,"maxPollingInterval":"00:00:00.200"}}}`

type running struct {
	h      *Host
	url    string
	out    *syncbuf.Buffer
	record string
}

// start runs a devhost on root with the echo handler; env is the process
// environment seen through Getenv (and passed to the handler).
func start(t testing.TB, root string, env map[string]string, mod func(*Options)) *running {
	t.Helper()
	record := filepath.Join(t.TempDir(), "record.jsonl")
	env = mapsClone(env)
	if _, set := env["ECHO_RECORD"]; !set { // an explicit "" turns recording off
		env["ECHO_RECORD"] = record
	}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	environ = append(environ, "PATH="+os.Getenv("PATH"))
	out := &syncbuf.Buffer{}
	opts := Options{Root: root, Handler: echoHandler(t), Getenv: func(k string) string { return env[k] },
		Environ: environ, Stdout: out, StartTimeout: 20 * time.Second, MinPollInterval: 20 * time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("devhost did not stop")
		}
		if t.Failed() {
			t.Logf("devhost output:\n%s", out.String())
		}
	})
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	if _, err := h.sup.Ready(rctx); err != nil {
		t.Fatalf("handler not ready: %v\n%s", err, out.String())
	}
	return &running{h: h, url: "http://" + ln.Addr().String(), out: out, record: record}
}

func mapsClone(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

type record struct {
	Path    string              `json:"path"`
	Headers map[string][]string `json:"headers"`
	Body    json.RawMessage     `json:"body"`
	PID     int                 `json:"pid"`
}

func (r *running) records(t testing.TB) []record {
	t.Helper()
	f, err := os.Open(r.record)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 10<<20)
	for sc.Scan() {
		var rec record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			continue // a line being written
		}
		out = append(out, rec)
	}
	return out
}

// waitRecords waits until at least n invocations were recorded.
func (r *running) waitRecords(t testing.TB, n int, within time.Duration) []record {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		recs := r.records(t)
		if len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d invocations within %s, want %d\n%s", len(recs), within, n, r.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func metaString(t testing.TB, body []byte, key string) string {
	t.Helper()
	var inv struct {
		Metadata map[string]json.RawMessage
	}
	if err := json.Unmarshal(body, &inv); err != nil {
		t.Fatal(err)
	}
	var s string
	_ = json.Unmarshal(inv.Metadata[key], &s)
	return s
}

var tokenRun = regexp.MustCompile(`[0-9A-Za-z+/=]+`)

// shape keeps the punctuation of a volatile value (quotes, separators, offset
// or Z, fraction dot) and hides its digits and letters, so "modulo ids and times"
// still checks how a value is encoded: an Id quoted twice stays distinct from a
// bare one, and a +00:00 time from a Z time.
func shape(s string) string { return tokenRun.ReplaceAllString(s, "x") }

// normalize replaces the values of the named keys (anywhere) with their shape and
// lower-cases header names, so payloads compare modulo ids and times.
func normalize(v any, keys map[string]bool) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			switch {
			case keys[k]:
				if s, ok := e.(string); ok && !keys["!"+k] {
					out[k] = shape(s)
				} else {
					out[k] = "<normalized>"
				}
			case k == "Headers":
				hm, _ := e.(map[string]any)
				lower := map[string]any{}
				for hk, hv := range hm {
					lower[strings.ToLower(hk)] = hv
				}
				out[k] = lower
			default:
				out[k] = normalize(e, keys)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e, keys)
		}
		return out
	}
	return v
}

func assertPayload(t testing.TB, got, want []byte, keys ...string) {
	t.Helper()
	set := map[string]bool{}
	for _, k := range keys {
		set[k] = true
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("payload is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	g, w = normalize(g, set), normalize(w, set)
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.MarshalIndent(g, "", "  ")
		wb, _ := json.MarshalIndent(w, "", "  ")
		t.Fatalf("payload differs from fixture\n--- got\n%s\n--- want\n%s", gb, wb)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
