package arrsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	testAccount = "11111111-2222-3333-4444-555555555555"
	testKey     = "sim-test-key" // a simulator-only key, not a real secret
)

// t0 is the frozen base time of tests that drive the clock with Advance.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456700, time.UTC)

func frozen() time.Time { return t0 }

// harness is a simulator behind a loopback httptest server.
type harness struct {
	t     testing.TB
	sim   *Server
	ts    *httptest.Server
	token string
}

// newHarness starts a simulator with a frozen clock (time moves only by
// Advance) unless opts sets Clock, and fetches an STS token.
func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	if opts.AccountID == "" {
		opts.AccountID = testAccount
	}
	if opts.AccountKey == "" {
		opts.AccountKey = testKey
	}
	if opts.Clock == nil {
		opts.Clock = frozen
	}
	sim := New(opts)
	ts := httptest.NewServer(sim)
	t.Cleanup(func() { ts.Close(); sim.Close() })
	h := &harness{t: t, sim: sim, ts: ts}
	h.token = h.fetchToken(opts.AccountID + ":" + opts.AccountKey)
	return h
}

func (h *harness) fetchToken(bearer string) string {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/Accounts/"+h.sim.opts.AccountID+"/token?api-version=2019-02-28-preview", nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("STS: status %d", resp.StatusCode)
	}
	var body struct{ AccessToken string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		h.t.Fatal(err)
	}
	return body.AccessToken
}

// result is a response read completely.
type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// do sends an ARR call with the harness token; path is under the account.
func (h *harness) do(method, path, body string) result {
	h.t.Helper()
	return h.doURL(method, h.ts.URL+"/accounts/"+h.sim.opts.AccountID+path, body, h.token)
}

func (h *harness) doURL(method, url, body, token string) result {
	h.t.Helper()
	if !strings.Contains(url, "api-version=") {
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		url += sep + "api-version=2021-01-01"
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

// sessionStatus reads a session's status without an HTTP call.
func (s *Server) peekSession(id string) string {
	now := s.clock.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	x, ok := s.sessions[id]
	if !ok {
		return ""
	}
	st, _ := x.state(now)
	return st
}

// peekConversion reports the status a GET would show now, whether the
// conversion is due (a GET would finish it) and whether the worker is busy
// with it.
func (s *Server) peekConversion(id string) (status string, due, busy bool) {
	now := s.clock.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.conversions[id]
	if !ok {
		return "", false, false
	}
	v := s.convView(c, now)
	return v.Status, c.phase == phasePending && !now.Before(c.created.Add(s.opts.ConversionAfter)), c.phase == phaseProcessing
}
