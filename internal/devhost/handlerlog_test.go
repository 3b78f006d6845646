package devhost

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops/internal/syncbuf"
)

// Each line the handler logs is printed once, with its level, whether it came
// on stdout or in the Logs of a 2xx reply; the Logs of a failed reply are
// dropped, as the host drops them.
func TestHandlerLogLinesOnceWithLevel(t *testing.T) {
	bin := echoHandler(t)
	out := &syncbuf.Buffer{}
	sup := NewSupervisor(ProcessConfig{Path: bin, Env: []string{"PATH=/usr/bin:/bin"}, Output: out,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	iv := NewInvoker(sup, 30*time.Second, slog.New(slog.NewTextHandler(out, nil)))
	payload := func(text string) []byte { return []byte(`{"Data":{"msg":"\"` + text + `\""},"Metadata":{}}`) }

	tests := []struct {
		name    string
		text    string
		fails   bool
		want    []string // each printed exactly once
		dropped string   // never printed
	}{
		{"2xx reply", "LEVELS", false, []string{
			`[handler] WARN {"level":"WARN","msg":"in Logs"}`,
			`[handler] plain line`,
			`[handler] ERROR {"level":"ERROR","msg":"on stdout"}`,
		}, ""},
		{"failed reply", "LEVELFAIL", true, []string{
			`[handler] WARN {"level":"WARN","msg":"failed, on stdout"}`,
		}, "in a failed reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := iv.Invoke(ctx, "convert", "queueTrigger", payload(tt.text))
			var ie *InvocationError
			if tt.fails != (err != nil) || tt.fails && (!errors.As(err, &ie) || ie.Status != 500) {
				t.Fatalf("Invoke: %v", err)
			}
			// stdout is forwarded as it comes: wait for the lines.
			count := func(want string) int {
				n := 0
				for _, line := range strings.Split(out.String(), "\n") {
					if line == want {
						n++
					}
				}
				return n
			}
			deadline := time.Now().Add(10 * time.Second)
			for _, want := range tt.want {
				for count(want) == 0 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if n := count(want); n != 1 {
					t.Errorf("%q printed %d times, want once; output:\n%s", want, n, out.String())
				}
			}
			if tt.dropped != "" && strings.Contains(out.String(), tt.dropped) {
				t.Errorf("the Logs of a failed reply were printed:\n%s", out.String())
			}
		})
	}
}
