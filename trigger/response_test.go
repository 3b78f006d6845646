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

func TestLogHandler(t *testing.T) {
	var stdout bytes.Buffer
	invLog := NewInvocationLog(0, 0)
	logger := NewLogger(&stdout, invLog, &slog.HandlerOptions{Level: slog.LevelDebug})
	logger.With("fn", "commands").WithGroup("sb").Info("accepted", "id", "m1")
	logger.Debug("detail")

	lines := invLog.Lines()
	if want := []string{`level=INFO msg=accepted fn=commands sb.id=m1`, `level=DEBUG msg=detail`}; !reflect.DeepEqual(lines, want) {
		t.Errorf("Logs = %q\nwant %q", lines, want)
	}
	outLines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(outLines) != 2 {
		t.Fatalf("stdout = %q", stdout.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(outLines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "accepted" || rec["fn"] != "commands" || rec["time"] == nil {
		t.Errorf("stdout record %v", rec)
	}
	if g, _ := rec["sb"].(map[string]any); g["id"] != "m1" {
		t.Errorf("group sb = %v", rec["sb"])
	}

	// Level filtering applies to both sinks.
	var quiet bytes.Buffer
	ql := NewInvocationLog(0, 0)
	NewLogger(&quiet, ql, nil).Debug("hidden")
	if quiet.Len() != 0 || len(ql.Lines()) != 0 {
		t.Error("debug record written at info level")
	}
	// Either sink may be absent.
	NewLogger(nil, ql, nil).Info("only logs")
	NewLogger(&quiet, nil, nil).Info("only stdout")
	if len(ql.Lines()) != 1 || !strings.Contains(quiet.String(), "only stdout") {
		t.Errorf("%q %q", ql.Lines(), quiet.String())
	}
}

func TestInvocationLogBounds(t *testing.T) {
	l := NewInvocationLog(3, 8)
	logger := slog.New(NewLogHandler(nil, l, nil))
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { logger.Info("m", "i", i) })
	}
	wg.Wait()
	lines := l.Lines()
	if len(lines) != 4 || lines[3] != "trigger: 7 more log lines dropped (limit 3)" {
		t.Fatalf("lines = %q", lines)
	}
	for _, line := range lines[:3] {
		if line != "level=IN…" {
			t.Errorf("line %q not cut to 8 bytes", line)
		}
	}
	// Cutting never splits a UTF-8 sequence.
	u := NewInvocationLog(1, 4)
	_, _ = u.Write([]byte("aéé\n"))
	if got := u.Lines()[0]; got != "aé…" {
		t.Errorf("cut = %q", got)
	}
	// Lines returns a copy.
	lines[0] = "changed"
	if l.Lines()[0] == "changed" {
		t.Error("Lines shares its slice")
	}
}
