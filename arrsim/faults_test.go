package arrsim

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestFaultsNext(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{Throttle429Next: 2, RetryAfterSeconds: 3, Error500Next: 1}})
	want := []int{429, 429, 500, 200}
	for i, w := range want {
		r := h.do("GET", "/sessions", "")
		if r.status != w {
			t.Fatalf("call %d: %d, want %d", i, r.status, w)
		}
		switch w {
		case 429:
			if r.header.Get("Retry-After") != "3" || len(r.body) != 0 || !msCV.MatchString(r.header.Get("MS-CV")) {
				t.Errorf("429: %v %q", r.header, r.body)
			}
		case 500:
			if string(r.body) != `{"error":{"code":"InternalServerError","message":"An internal server error occurred."}}` {
				t.Errorf("500 body %s", r.body)
			}
		}
	}
	st := h.sim.Stats()
	if st.Throttled != 2 || st.Injected500 != 1 || st.ListSessions != 4 {
		t.Errorf("stats %+v", st)
	}
	// STS is never faulted.
	h.sim.SetFaults(Faults{Throttle429Next: 5})
	h.fetchToken(testAccount + ":" + testKey)
}

func TestFaultRates(t *testing.T) {
	tests := []struct {
		name   string
		f      Faults
		status int
		lo, hi int // expected count out of 400 calls
	}{
		{"429 at 25%", Faults{Throttle429Rate: 0.25}, 429, 60, 140},
		{"500 at 10%", Faults{Error500Rate: 0.1}, 500, 15, 70},
		{"none", Faults{}, 429, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{Faults: tc.f, Seed: 42})
			n := 0
			for range 400 {
				if serveDirect(h, "GET", "/sessions", "") == tc.status {
					n++
				}
			}
			if n < tc.lo || n > tc.hi {
				t.Errorf("%d of 400 answered %d, want %d..%d", n, tc.status, tc.lo, tc.hi)
			}
		})
	}
}

func TestFaultLatency(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{Latency: 30 * time.Millisecond}})
	start := time.Now()
	h.do("GET", "/sessions", "")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("call took %v, want >= 30ms", d)
	}
}

func TestAdminEndpoints(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.doURL("POST", h.ts.URL+"/_sim/faults", `{"throttle429Next":1,"retryAfterSeconds":7,"latency":"1ms"}`, "")
	if r.status != 200 {
		t.Fatalf("set faults: %d %s", r.status, r.body)
	}
	if g := h.doURL("GET", h.ts.URL+"/_sim/faults", "", ""); !strings.Contains(string(g.body), `"latency":"1ms"`) {
		t.Errorf("get faults %s", g.body)
	}
	if r := h.do("GET", "/sessions", ""); r.status != 429 || r.header.Get("Retry-After") != "7" {
		t.Errorf("after admin faults: %d %v", r.status, r.header)
	}
	for _, bad := range []string{`{"throttle429Rate":2}`, `{"latency":"soon"}`, `{`} {
		if r := h.doURL("POST", h.ts.URL+"/_sim/faults", bad, ""); r.status != 400 {
			t.Errorf("faults %s: %d", bad, r.status)
		}
	}
	h.do("PUT", "/sessions/a", `{"maxLeaseTimeMinutes":10,"size":"Standard"}`)
	if r := h.doURL("POST", h.ts.URL+"/_sim/clock?advance=10s", "", ""); r.status != 200 {
		t.Fatalf("advance: %d", r.status)
	}
	if m := h.do("GET", "/sessions/a", "").json(t); m["status"] != "Ready" {
		t.Errorf("after advance: %v", m["status"])
	}
	var st Stats
	if err := json.Unmarshal(h.doURL("GET", h.ts.URL+"/_sim/stats", "", "").body, &st); err != nil {
		t.Fatal(err)
	}
	if st.CreateSession != 1 || st.GetSession != 1 || st.TokensIssued != 1 || st.Throttled != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestLogging checks one line per call and that no secret reaches the log.
func TestLogging(t *testing.T) {
	var buf bytes.Buffer
	h := newHarness(t, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	h.do("PUT", "/sessions/l", `{"maxLeaseTimeMinutes":10,"size":"Standard"}`)
	h.do("GET", "/sessions/l", "")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 { // token, create, get
		t.Fatalf("%d log lines:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[1], "op=sessions.create") || !strings.Contains(lines[1], "status=201") || !strings.Contains(lines[1], "ms_cv=") {
		t.Errorf("log line %s", lines[1])
	}
	for _, secret := range []string{testKey, h.token} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log contains a secret")
		}
	}
}
