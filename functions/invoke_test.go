package functions_test

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
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/internal/syncbuf"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/trigger"
)

// captureStderr redirects file descriptor 2 (not just os.Stderr: the
// default logger and the runtime write to the descriptor) for the duration
// of f and returns what was written to it.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(w.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, r); close(done) }()
	func() {
		defer func() {
			syscall.Dup3(saved, 2, 0)
			syscall.Close(saved)
			w.Close()
		}()
		f()
	}()
	<-done
	r.Close()
	return out.String()
}

func post(t *testing.T, url string, body []byte, invocationID string) (int, trigger.Response) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set(trigger.HeaderInvocationID, invocationID)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out trigger.Response
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("reply (%d) is not a custom-handler response: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// TestHandle drives the adapter over real HTTP, as the host does.
func TestHandle(t *testing.T) {
	stdout := &syncbuf.Buffer{}
	var calls atomic.Int64
	f := func(ctx context.Context, inv *trigger.Invocation, out *trigger.Response, log *slog.Logger) error {
		calls.Add(1)
		tm, err := inv.Timer("timer")
		if err != nil {
			return err
		}
		switch tm.Sys.MethodName {
		case "ok":
			log.Info("did the work", "n", 1)
			functions.Logger(ctx).Info("via ctx", "invocation", functions.InvocationID(ctx))
			out.ReturnValue = "done"
		case "fail":
			return fmt.Errorf("read session: %w", arrops.Errorf(arrops.EINTERNAL, "table service timed out"))
		case "panic":
			var m map[string]int
			//lint:ignore SA5000 the test needs a real runtime panic (nil map write)
			m["boom"]++
		}
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("POST /probe", functions.Handle("probe", f, stdout, slog.LevelInfo))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	body := func(method string) []byte {
		b, err := trigger.EncodeTimerInvocation("timer", trigger.Timer{Sys: trigger.NewSys(method, time.Now())})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	// Each line reaches the host exactly once: in Logs of a 2xx reply (which
	// the host logs), on stdout for any other (whose Logs the host drops).
	cases := []struct {
		name string
		body []byte
		code int
		msgs map[string]string // message -> level, each expected exactly once
	}{
		{"ok", body("ok"), 200, map[string]string{"did the work": "INFO", "via ctx": "INFO"}},
		{"bad envelope", []byte(`{"Data": 7`), 400, map[string]string{"invalid invocation envelope": "ERROR"}},
		{"no data", []byte(`{"Metadata":{}}`), 400, map[string]string{"invalid invocation envelope": "ERROR"}},
		{"fail", body("fail"), 500, map[string]string{"invocation failed; the host will retry": "WARN"}},
		{"panic", body("panic"), 500, map[string]string{"invocation failed; the host will retry": "WARN"}},
		{"after panic", body("ok"), 200, map[string]string{"did the work": "INFO", "via ctx": "INFO"}},
	}
	got := make([]struct {
		code   int
		resp   trigger.Response
		stdout []string
	}, len(cases))
	stderr := captureStderr(t, func() {
		for i, c := range cases {
			stdout.Reset()
			got[i].code, got[i].resp = post(t, srv.URL+"/probe", c.body, "inv-"+strings.ReplaceAll(c.name, " ", "-"))
			if out := strings.TrimSpace(stdout.String()); out != "" {
				got[i].stdout = strings.Split(out, "\n")
			}
		}
	})
	for i, c := range cases {
		g := got[i]
		if g.code != c.code {
			t.Errorf("%s: status %d, want %d (stdout %q)", c.name, g.code, c.code, g.stdout)
		}
		if ok := c.code == 200; ok && len(g.stdout) != 0 || !ok && len(g.resp.Logs) != 0 {
			t.Errorf("%s: HTTP %d with Logs %q and stdout %q: a line took the path the host drops or took both", c.name, g.code, g.resp.Logs, g.stdout)
		}
		seen := map[string]int{}
		for _, line := range append(g.resp.Logs, g.stdout...) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Errorf("%s: log line is not JSON: %q", c.name, line)
				continue
			}
			if rec["function"] != "probe" || rec["invocationId"] != "inv-"+strings.ReplaceAll(c.name, " ", "-") {
				t.Errorf("%s: line without function/invocationId: %q", c.name, line)
			}
			msg, _ := rec["msg"].(string)
			seen[msg]++
			if want, ok := c.msgs[msg]; !ok || rec["level"] != want {
				t.Errorf("%s: unexpected line (want level %q): %q", c.name, want, line)
			}
		}
		for msg := range c.msgs {
			if seen[msg] != 1 {
				t.Errorf("%s: %q logged %d times, want once (Logs %q, stdout %q)", c.name, msg, seen[msg], g.resp.Logs, g.stdout)
			}
		}
	}
	if got[0].resp.ReturnValue != "done" {
		t.Errorf("ReturnValue %v", got[0].resp.ReturnValue)
	}
	for i, want := range map[int][]string{
		0: {`"invocation":"inv-ok"`},
		1: {"invalid invocation envelope"},
		3: {"table service timed out", `"code":"internal"`},
		4: {"panic", "nil map"},
	} {
		all := strings.Join(append(got[i].resp.Logs, got[i].stdout...), "\n")
		for _, w := range want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: lines lack %q: %s", cases[i].name, w, all)
			}
		}
	}
	if calls.Load() != 4 {
		t.Errorf("f called %d times, want 4 (not for broken envelopes)", calls.Load())
	}
	if stderr != "" {
		t.Errorf("wrote to stderr (the host logs it as errors): %q", stderr)
	}
}

// The stderr capture itself works, so an empty capture above means something.
func TestCaptureStderr(t *testing.T) {
	got := captureStderr(t, func() { fmt.Fprintln(os.Stderr, "to fd 2") })
	if got != "to fd 2\n" {
		t.Fatalf("captured %q", got)
	}
}

func TestLazy(t *testing.T) {
	var builds atomic.Int64
	fail := true
	l := &functions.Lazy[int]{New: func(context.Context) (int, error) {
		builds.Add(1)
		if fail {
			return 0, errors.New("storage down")
		}
		return 42, nil
	}}
	if _, ok := l.Peek(); ok {
		t.Fatal("built before first use")
	}
	if _, err := l.Get(context.Background()); err == nil {
		t.Fatal("want the build error")
	}
	fail = false // a failure is not remembered: the next call builds again
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := l.Get(context.Background()); v != 42 || err != nil {
				t.Errorf("Get %d %v", v, err)
			}
		}()
	}
	wg.Wait()
	if builds.Load() != 2 {
		t.Errorf("%d builds, want 2 (one failed, one kept)", builds.Load())
	}
	m := functions.Map(l, func(v int) string { return fmt.Sprint(v) })
	if v, err := m.Get(context.Background()); v != "42" || err != nil {
		t.Errorf("Map: %q %v", v, err)
	}
	if v, ok := functions.Value("x").Peek(); !ok || v != "x" {
		t.Error("Value is not built")
	}
}

func TestMessageID(t *testing.T) {
	long := strings.Repeat("s", 200)
	cases := []struct {
		parts []string
		want  string
	}{
		{[]string{"sess-1", "SessionReady", "Ready"}, "sess-1.SessionReady.Ready"},
		{[]string{"reply", "m-1"}, "reply.m-1"},
	}
	for _, c := range cases {
		if got := functions.MessageID(c.parts...); got != c.want {
			t.Errorf("MessageID(%q) = %q, want %q", c.parts, got, c.want)
		}
	}
	a, b := functions.MessageID(long, "SessionReady", "Ready"), functions.MessageID(long, "SessionStopped", "Stopped")
	if len(a) > 128 || len(b) > 128 || a == b || a != functions.MessageID(long, "SessionReady", "Ready") {
		t.Errorf("long ids: %q %q", a, b)
	}
}

// pubRec records publishes and fails on the entities in failOn.
type pubRec struct {
	mu     sync.Mutex
	sent   map[string][]notify.Message
	failOn map[string]error
}

func (p *pubRec) Publish(_ context.Context, entity string, msgs ...notify.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.failOn[entity]; err != nil {
		return err
	}
	if p.sent == nil {
		p.sent = map[string][]notify.Message{}
	}
	p.sent[entity] = append(p.sent[entity], msgs...)
	return nil
}

func TestAnnounce(t *testing.T) {
	ctx := context.Background()
	ev := arrops.Event{Type: arrops.EventSessionReady, SessionID: "s-1", RequestedBy: "ann", Size: arrops.SizePremium, Status: "Ready"}
	p := &pubRec{}
	if err := functions.Announce(ctx, p, ev, "ann-replies", "corr-1", "Ready"); err != nil {
		t.Fatal(err)
	}
	topic, reply := p.sent[config.EventsTopic], p.sent["ann-replies"]
	if len(topic) != 1 || len(reply) != 1 {
		t.Fatalf("sent %v", p.sent)
	}
	m := topic[0]
	if m.Subject != "SessionReady" || m.MessageID != "s-1.SessionReady.Ready" || m.ContentType != "application/json" ||
		m.ApplicationProperties["sessionId"] != "s-1" || m.ApplicationProperties["requestedBy"] != "ann" || m.ApplicationProperties["size"] != "Premium" {
		t.Errorf("topic message %+v", m)
	}
	if reply[0].CorrelationID != "corr-1" || reply[0].MessageID == m.MessageID {
		t.Errorf("reply %+v", reply[0])
	}
	// A deleted reply queue is not worth retrying; a failing topic is.
	p = &pubRec{failOn: map[string]error{"gone": fmt.Errorf("send: %w", notify.ErrNoSuchEntity)}}
	if err := functions.Announce(ctx, p, ev, "gone", "c", "Ready"); err != nil {
		t.Errorf("reply queue gone: %v", err)
	}
	p = &pubRec{failOn: map[string]error{config.EventsTopic: errors.New("amqp: link detached")}}
	if err := functions.Announce(ctx, p, ev, "", "", "Ready"); err == nil || !strings.Contains(err.Error(), "link detached") ||
		!strings.Contains(err.Error(), "s-1") {
		t.Errorf("topic failure: %v", err)
	}
}

func TestApply(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	i32 := func(v int32) *int32 { return &v }
	s := &arrops.Session{ID: "a", Status: arrops.SessionStarting, Size: arrops.SizeStandard, MaxLeaseMinutes: 60}
	ready := &arr.Session{ID: "a", Status: "Ready", Size: "Standard", MaxLeaseTimeMinutes: i32(60), ElapsedTimeMinutes: i32(1)}
	if !functions.Apply(s, ready, now) || !s.ReadyAt.Equal(now) || s.Status != arrops.SessionReady {
		t.Fatalf("first Ready: %#v", *s)
	}
	ready.ElapsedTimeMinutes = i32(5) // minutes tick while running: not a change
	if functions.Apply(s, ready, now.Add(4*time.Minute)) || !s.ReadyAt.Equal(now) {
		t.Errorf("ticking elapsed minutes counted as a change: %#v", *s)
	}
	stopped := &arr.Session{ID: "a", Status: "Stopped", ElapsedTimeMinutes: i32(7)}
	if !functions.Apply(s, stopped, now.Add(7*time.Minute)) || s.ElapsedMinutes != 7 || !s.StoppedAt.Equal(now.Add(7*time.Minute)) {
		t.Errorf("stop: %#v", *s)
	}
	if functions.Apply(s, stopped, now.Add(9*time.Minute)) || !s.StoppedAt.Equal(now.Add(7*time.Minute)) {
		t.Errorf("second terminal sighting changed the record: %#v", *s)
	}
}

// TestHandleErrorClasses: every error a function returns answers 500 (the
// host retries, and finally keeps the message on its poison or dead-letter
// queue). A credential or role failure anywhere in the error's tree (a sweep
// joins one error per session) is logged at error level, since retrying will
// not help until the operator acts; other failures at warning level.
func TestHandleErrorClasses(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		level string
	}{
		{"transient", errors.New("table service timed out"), "WARN"},
		{"coded transient", arrops.WithCode(arrops.EINTERNAL, errors.New("bus busy")), "WARN"},
		{"unauthorized", fmt.Errorf("list sessions: %w", arrops.Errorf(arrops.EUNAUTHORIZED, "403 Forbidden")), "ERROR"},
		{"unauthorized in a join", errors.Join(errors.New("stop s1: timeout"),
			arrops.WithCode(arrops.EINTERNAL, errors.New("stop s2: busy")),
			fmt.Errorf("stop s3: %w", arrops.Errorf(arrops.EUNAUTHORIZED, "401 Unauthorized"))), "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout := &syncbuf.Buffer{}
			f := func(context.Context, *trigger.Invocation, *trigger.Response, *slog.Logger) error { return tt.err }
			srv := httptest.NewServer(functions.Handle("probe", f, stdout, slog.LevelInfo))
			defer srv.Close()
			body, err := trigger.EncodeTimerInvocation("timer", trigger.Timer{Sys: trigger.NewSys("probe", time.Now())})
			if err != nil {
				t.Fatal(err)
			}
			if code, _ := post(t, srv.URL, body, "inv-1"); code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500", code)
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(strings.TrimSpace(stdout.String())), &rec); err != nil {
				t.Fatalf("stdout %q: %v", stdout.String(), err)
			}
			if rec["level"] != tt.level || rec["msg"] != "invocation failed; the host will retry" {
				t.Errorf("logged %v, want level %s", rec, tt.level)
			}
		})
	}
}

// An invocation that runs long has its lines on stdout before it ends (a
// function timeout kills the handler, and lines held for the reply would die
// with it), each once; its reply carries none of them.
func TestHandleSlowInvocationLogsOnStdout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stdout := &syncbuf.Buffer{}
		var early string
		f := func(ctx context.Context, _ *trigger.Invocation, _ *trigger.Response, log *slog.Logger) error {
			log.Info("early")
			time.Sleep(functions.LogsOnStdoutAfter + time.Second)
			early = stdout.String()
			log.Info("late")
			return nil
		}
		body, err := trigger.EncodeTimerInvocation("timer", trigger.Timer{Sys: trigger.NewSys("probe", time.Now())})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		functions.Handle("probe", f, stdout, slog.LevelInfo)(rec, httptest.NewRequest(http.MethodPost, "/probe", bytes.NewReader(body)))
		resp, err := trigger.DecodeResponse(rec.Body.Bytes())
		if rec.Code != http.StatusOK || err != nil || len(resp.Logs) != 0 {
			t.Fatalf("HTTP %d %v, Logs %q: want 200 without Logs", rec.Code, err, resp.Logs)
		}
		if !strings.Contains(early, `"msg":"early"`) {
			t.Errorf("stdout before the reply: %q", early)
		}
		out := stdout.String()
		if strings.Count(out, `"msg":"early"`) != 1 || strings.Count(out, `"msg":"late"`) != 1 {
			t.Errorf("stdout %q: want each line once", out)
		}
	})
}
