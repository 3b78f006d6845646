package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestAddQueueMessage(t *testing.T) {
	type ingest struct {
		Action string `json:"action"`
	}
	s := "eyJhIjoxfQ=="
	tests := []struct {
		name string
		v    any
		ok   bool
	}{
		{"struct", ingest{"ingest"}, true},
		{"map", map[string]any{"a": 1}, true},
		{"raw object", json.RawMessage(`{"a":1}`), true},
		{"raw array", json.RawMessage(`[1]`), true},
		{"string", s, false},
		{"string pointer", &s, false},
		{"bytes", []byte(s), false},
		{"raw string", json.RawMessage(`"eyJhIjoxfQ=="`), false},
		{"raw invalid", json.RawMessage(`{`), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Response
			err := r.AddQueueMessage("outQueue", tt.v)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if !tt.ok {
				if tt.v != nil && !errors.Is(err, ErrStringQueueMessage) {
					t.Errorf("err %v is not ErrStringQueueMessage", err)
				}
				if r.Outputs["outQueue"] != nil {
					t.Error("rejected message was added")
				}
			}
		})
	}
	var r Response
	for i := range 2 {
		if err := r.AddQueueMessage("outQueue", ingest{fmt.Sprint("a", i)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Outputs":{"outQueue":[{"action":"a0"},{"action":"a1"}]},"Logs":[],"ReturnValue":null}`; string(out) != want {
		t.Errorf("got %s\nwant %s", out, want)
	}
}

func TestHTTPOutput(t *testing.T) {
	want := HTTPResponse{StatusCode: 201, Headers: map[string]string{"Content-Type": "text/html", "ETag": `"0x1"`}, Body: "<p>a & b</p>"}
	var r Response
	r.SetHTTP("res", want)
	r.Logs = []string{"done"}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"statusCode":201`)) {
		t.Errorf("%s", out)
	}
	back, err := DecodeResponse(out)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := back.HTTPOutput("RES")
	if err != nil || !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("HTTPOutput = %+v %v %v", got, ok, err)
	}

	tests := []struct {
		name, body string
		want       HTTPResponse
		wantErr    bool
	}{
		{"keys any case, status as string", `{"Outputs":{"res":{"StatusCode":"404","Headers":{"X-N":1},"Body":"nope"}}}`,
			HTTPResponse{StatusCode: 404, Headers: map[string]string{"X-N": "1"}, Body: "nope"}, false},
		{"object body, default status", `{"Outputs":{"res":{"body":{"a":1}}}}`, HTTPResponse{StatusCode: 200, Body: `{"a":1}`}, false},
		{"bad status", `{"Outputs":{"res":{"statusCode":"ok"}}}`, HTTPResponse{}, true},
		{"not an object", `{"Outputs":{"res":"hello"}}`, HTTPResponse{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeResponse([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := r.HTTPOutput("res")
			if (err != nil) != tt.wantErr || !ok {
				t.Fatalf("err %v ok %v", err, ok)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v want %+v", got, tt.want)
			}
		})
	}
	if _, err := DecodeResponse([]byte(`{`)); err == nil {
		t.Error("DecodeResponse accepted bad JSON")
	}
}

// records decodes JSON log lines, failing on anything else.
func records(t *testing.T, lines []string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

func splitLines(s string) []string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestLogHandler(t *testing.T) {
	tests := []struct {
		name       string
		ok         bool // a 2xx reply: Lines, else Flush
		wantLogs   int
		wantStdout int
	}{
		{"2xx reply: Logs only", true, 2, 0},
		{"non-2xx reply: stdout only", false, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout bytes.Buffer
			invLog := NewInvocationLog(&stdout, 0, 0)
			logger := NewLogger(invLog, &slog.HandlerOptions{Level: slog.LevelDebug})
			logger.With("fn", "commands").WithGroup("sb").Warn("accepted", "id", "m1")
			logger.Debug("detail")
			if stdout.Len() != 0 {
				t.Fatalf("stdout written during the invocation: %q", stdout.String())
			}
			var logs []string
			if tt.ok {
				logs = invLog.Lines()
			} else if err := invLog.Flush(); err != nil {
				t.Fatal(err)
			}
			out := splitLines(stdout.String())
			if len(logs) != tt.wantLogs || len(out) != tt.wantStdout {
				t.Fatalf("Logs %q, stdout %q", logs, out)
			}
			recs := records(t, append(logs, out...))
			if r := recs[0]; r["msg"] != "accepted" || r["level"] != "WARN" || r["fn"] != "commands" || r["time"] == nil {
				t.Errorf("record %v", r)
			} else if g, _ := r["sb"].(map[string]any); g["id"] != "m1" {
				t.Errorf("group sb = %v", r["sb"])
			}
			if recs[1]["level"] != "DEBUG" || recs[1]["msg"] != "detail" {
				t.Errorf("record %v", recs[1])
			}
			// Work the invocation left running logs straight to stdout.
			stdout.Reset()
			logger.Info("late")
			if len(invLog.Lines()) != 0 || !strings.Contains(stdout.String(), `"msg":"late"`) {
				t.Errorf("late line: Logs %q stdout %q", invLog.Lines(), stdout.String())
			}
		})
	}

	// Level filtering; outside an invocation the logger writes to stdout.
	var quiet bytes.Buffer
	NewLogger(&quiet, nil).Debug("hidden")
	NewLogger(&quiet, nil).Info("shown")
	if recs := records(t, splitLines(quiet.String())); len(recs) != 1 || recs[0]["msg"] != "shown" {
		t.Errorf("stdout %q", quiet.String())
	}
}

func TestInvocationLogBounds(t *testing.T) {
	var stdout bytes.Buffer
	var mu sync.Mutex
	l := NewInvocationLog(lockedWriter{&mu, &stdout}, 3, 90)
	logger := NewLogger(l, nil)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { logger.Info("m", "i", i) })
	}
	wg.Wait()
	logger.Info("a line longer than ninety bytes with its time and level goes to stdout whole")
	lines := l.Lines()
	mu.Lock()
	out := splitLines(stdout.String())
	mu.Unlock()
	// Nothing is cut or dropped: 3 lines in Logs, 8 on stdout, and a note.
	if len(lines) != 4 || len(out) != 8 {
		t.Fatalf("Logs %q\nstdout %q", lines, out)
	}
	seen := map[float64]bool{}
	for _, r := range records(t, append(lines[:3:3], out...)) {
		if r["msg"] == "m" {
			seen[r["i"].(float64)] = true
		}
	}
	if len(seen) != 10 || !strings.Contains(out[len(out)-1], "goes to stdout whole") {
		t.Errorf("lines lost: seen %v, stdout %q", seen, out)
	}
	note := records(t, lines[3:])[0]
	if note["level"] != "WARN" || note["msg"] != "trigger: 8 log lines of this invocation went to stdout (limit 3 lines of 90 bytes)" {
		t.Errorf("note %v", note)
	}
}

// lockedWriter lets a test read a buffer that other goroutines write.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
