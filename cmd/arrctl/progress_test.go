package main

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arrops/arrops/internal/syncbuf"
)

func TestProgressPlain(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	now := t0
	var out syncbuf.Buffer
	p := newProgress(&out, false, func() time.Time { return now })
	p.Set("sent")
	now = now.Add(3 * time.Second)
	p.Set("sent") // unchanged: no line
	p.Set("Starting")
	now = now.Add(62 * time.Second)
	p.Set("Ready")
	p.Done()
	want := " 0:00 sent\n 0:03 Starting\n 1:05 Ready\n"
	if got := out.String(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestProgressTerminal runs the spinner on synctest's clock: three redraw
// periods pass exactly, however busy the machine.
func TestProgressTerminal(t *testing.T) {
	synctest.Test(t, testProgressTerminal)
}

func testProgressTerminal(t *testing.T) {
	var out syncbuf.Buffer
	p := newProgress(&out, true, time.Now)
	p.Set("Starting")
	time.Sleep(3*spinnerEvery + spinnerEvery/2)
	synctest.Wait()
	p.Done()
	got := out.String()
	if !strings.HasPrefix(got, "\r") || !strings.Contains(got, "Starting") {
		t.Fatalf("spinner output %q lacks redraw or status", got)
	}
	if strings.Count(got, "\r") < 3 {
		t.Fatalf("spinner did not redraw while waiting: %q", got)
	}
	if !strings.HasSuffix(got, "\r\x1b[K") {
		t.Fatalf("Done did not clear the line: %q", got)
	}
	if strings.Contains(got, "\n") {
		t.Fatalf("spinner wrote a newline: %q", got)
	}
}

func TestProgressDoneTwice(t *testing.T) {
	var out syncbuf.Buffer
	p := newProgress(&out, true, time.Now)
	p.Set("x")
	p.Done()
	p.Done() // deferred cleanup after an explicit Done must not panic
}
