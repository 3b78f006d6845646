package arrsim

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCreateSessionValidation(t *testing.T) {
	long := strings.Repeat("a", 257)
	tests := []struct {
		name, id, body string
		status         int
		code, message  string
	}{
		{"negative lease", "s1", `{"maxLeaseTimeMinutes":-4,"size":"Standard"}`, 400, "BadRequest", "The maxLeaseTimeMinutes value cannot be negative."},
		{"lease above 1440", "s1", `{"maxLeaseTimeMinutes":1441,"size":"Standard"}`, 400, "BadRequest", ""},
		{"fractional lease", "s1", `{"maxLeaseTimeMinutes":1.5,"size":"Standard"}`, 400, "BadRequest", "The request was malformed."},
		{"missing size", "s1", `{"maxLeaseTimeMinutes":5}`, 400, "BadRequest", "The request was malformed."},
		{"unknown size", "s1", `{"maxLeaseTimeMinutes":5,"size":"Huge"}`, 400, "BadRequest", ""},
		{"malformed json", "s1", `{"maxLeaseTimeMinutes":`, 400, "BadRequest", "The request was malformed."},
		{"bad id", "bad.id", `{"maxLeaseTimeMinutes":5,"size":"Standard"}`, 400, "BadRequest", ""},
		{"id too long", long, `{"maxLeaseTimeMinutes":5,"size":"Standard"}`, 400, "BadRequest", ""},
		{"lower-case size", "s1", `{"maxLeaseTimeMinutes":0,"size":"premium"}`, 201, "", ""},
		{"max lease and 256-char id", strings.Repeat("b", 256), `{"maxLeaseTimeMinutes":1440,"size":"Standard"}`, 201, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			r := h.do(http.MethodPut, "/sessions/"+tc.id, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			m := r.json(t)
			if tc.code == "" {
				if m["size"] != "Standard" && m["size"] != "Premium" {
					t.Errorf("size %v not canonical", m["size"])
				}
				return
			}
			e := m["error"].(map[string]any)
			if e["code"] != tc.code || (tc.message != "" && e["message"] != tc.message) {
				t.Errorf("error %v, want %s %q", e, tc.code, tc.message)
			}
		})
	}
}

func TestCreateSessionIdempotency(t *testing.T) {
	h := newHarness(t, Options{})
	const body = `{"maxLeaseTimeMinutes":30,"size":"Standard"}`
	if r := h.do("PUT", "/sessions/s1", body); r.status != 201 {
		t.Fatalf("create: %d", r.status)
	}
	tests := []struct {
		name   string
		body   string
		before func()
		status int
	}{
		{"same settings retried", `{"maxLeaseTimeMinutes":30,"size":"standard"}`, nil, 200},
		{"different lease", `{"maxLeaseTimeMinutes":31,"size":"Standard"}`, nil, 409},
		{"different size", `{"maxLeaseTimeMinutes":30,"size":"Premium"}`, nil, 409},
		{"same settings after stop", body, func() { h.do("POST", "/sessions/s1/:stop", "") }, 409},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			r := h.do("PUT", "/sessions/s1", tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 409 && r.json(t)["error"].(map[string]any)["code"] != "Conflict" {
				t.Errorf("409 body %s", r.body)
			}
		})
	}
	if got := h.sim.Stats().CreateSession; got != 5 {
		t.Errorf("CreateSession count %d, want 5", got)
	}
}

func TestSessionLifecycle(t *testing.T) {
	h := newHarness(t, Options{ReadyAfter: 10 * time.Second})
	r := h.do("PUT", "/sessions/life", `{"maxLeaseTimeMinutes":5,"size":"Standard"}`)
	m := r.json(t)
	if m["status"] != "Starting" || m["hostname"] != nil || m["teraflops"] != nil || m["error"] != nil {
		t.Fatalf("create body %s", r.body)
	}
	if _, ok := m["hostname"]; ok {
		t.Fatalf("hostname present while Starting: %s", r.body)
	}
	ct := m["creationTime"].(string)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$`).MatchString(ct) {
		t.Errorf("creationTime %q", ct)
	}
	h.sim.Advance(10 * time.Second)
	m = h.do("GET", "/sessions/life", "").json(t)
	host, _ := m["hostname"].(string)
	if m["status"] != "Ready" || !regexp.MustCompile(`^arrwu2standard[0-9a-f]{32}\.remoterendering\.vm\.eastus\.mixedreality\.azure\.com$`).MatchString(host) || m["teraflops"] != 8.1 {
		t.Fatalf("ready body %v", m)
	}
	for _, p := range []string{"handshakePort", "arrInspectorPort"} {
		if v, _ := m[p].(float64); v < 49152 || v > 65534 {
			t.Errorf("%s = %v", p, m[p])
		}
	}
	h.sim.Advance(3*time.Minute + 30*time.Second)
	if m = h.do("GET", "/sessions/life", "").json(t); m["elapsedTimeMinutes"] != 3.0 {
		t.Errorf("elapsed %v, want 3", m["elapsedTimeMinutes"])
	}
	// Extending the lease keeps the session alive past the original 5 minutes.
	if r := h.do("PATCH", "/sessions/life", `{"maxLeaseTimeMinutes":7}`); r.status != 200 || r.json(t)["maxLeaseTimeMinutes"] != 7.0 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	h.sim.Advance(2 * time.Minute)
	if m = h.do("GET", "/sessions/life", "").json(t); m["status"] != "Ready" {
		t.Fatalf("status after 5.5 min with lease 7: %v", m["status"])
	}
	h.sim.Advance(2 * time.Minute)
	m = h.do("GET", "/sessions/life", "").json(t)
	if m["status"] != "Expired" || m["elapsedTimeMinutes"] != 7.0 || m["teraflops"] != 8.1 {
		t.Fatalf("expired body %v", m)
	}
	if _, ok := m["hostname"]; ok {
		t.Errorf("hostname present after expiry")
	}
	if r := h.do("PATCH", "/sessions/life", `{"maxLeaseTimeMinutes":60}`); r.status != 422 {
		t.Errorf("patch expired: %d", r.status)
	}
	if r := h.do("POST", "/sessions/life/:stop", ""); r.status != 204 {
		t.Errorf("stop expired: %d", r.status)
	}
	if m = h.do("GET", "/sessions/life", "").json(t); m["status"] != "Expired" {
		t.Errorf("stop changed Expired to %v", m["status"])
	}
	h.sim.Advance(29 * 24 * time.Hour)
	h.token = h.fetchToken(testAccount + ":" + testKey) // tokens last 24 h
	if r := h.do("GET", "/sessions/life", ""); r.status != 200 {
		t.Errorf("GET after 29 days: %d", r.status)
	}
	h.sim.Advance(2 * 24 * time.Hour)
	h.token = h.fetchToken(testAccount + ":" + testKey)
	if r := h.do("GET", "/sessions/life", ""); r.status != 404 || len(r.body) != 0 {
		t.Errorf("GET after 31 days: %d %s", r.status, r.body)
	}
}

// TestLeaseExpiresOnFastClock uses the real clock at 6000x: a 1-minute lease
// (plus 10 s start-up) runs out in about 12 ms.
func TestLeaseExpiresOnFastClock(t *testing.T) {
	h := newHarness(t, Options{Clock: time.Now, ClockSpeed: 6000})
	h.do("PUT", "/sessions/fast", `{"maxLeaseTimeMinutes":1,"size":"Standard"}`)
	deadline := time.Now().Add(30 * time.Second)
	seen := map[string]bool{}
	for time.Now().Before(deadline) {
		st := h.do("GET", "/sessions/fast", "").json(t)["status"].(string)
		seen[st] = true
		if st == "Expired" {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !seen["Expired"] {
		t.Fatalf("never expired; saw %v", seen)
	}
	if r := h.do("GET", "/sessions", ""); len(r.json(t)["sessions"].([]any)) != 0 {
		t.Errorf("expired session listed: %s", r.body)
	}
}

func TestUpdateSession(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"longer", `{"maxLeaseTimeMinutes":20}`, 200, ""},
		{"same", `{"maxLeaseTimeMinutes":10}`, 422, "UnprocessableEntity"},
		{"shorter", `{"maxLeaseTimeMinutes":5}`, 422, "UnprocessableEntity"},
		{"above 1440", `{"maxLeaseTimeMinutes":1441}`, 422, "UnprocessableEntity"},
		{"negative", `{"maxLeaseTimeMinutes":-1}`, 400, "BadRequest"},
		{"malformed", `{"maxLease`, 400, "BadRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.do("PUT", "/sessions/u", `{"maxLeaseTimeMinutes":10,"size":"Standard"}`)
			r := h.do("PATCH", "/sessions/u", tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code != "" && r.json(t)["error"].(map[string]any)["code"] != tc.code {
				t.Errorf("body %s", r.body)
			}
		})
	}
	h := newHarness(t, Options{})
	if r := h.do("PATCH", "/sessions/missing", `{"maxLeaseTimeMinutes":20}`); r.status != 404 || len(r.body) != 0 {
		t.Errorf("patch unknown: %d %s", r.status, r.body)
	}
}

func TestStopSession(t *testing.T) {
	h := newHarness(t, Options{})
	h.do("PUT", "/sessions/st", `{"maxLeaseTimeMinutes":10,"size":"Standard"}`)
	h.sim.Advance(10 * time.Second)
	for i := range 2 { // a retried stop also succeeds
		r := h.do("POST", "/sessions/st/:stop", "")
		if r.status != 204 || len(r.body) != 0 || r.header.Get("Content-Type") != "" {
			t.Fatalf("stop %d: %d %q %v", i, r.status, r.body, r.header)
		}
	}
	m := h.do("GET", "/sessions/st", "").json(t)
	if m["status"] != "Stopped" || m["teraflops"] != 8.1 {
		t.Errorf("stopped body %v", m)
	}
	for _, k := range []string{"hostname", "handshakePort", "arrInspectorPort", "error"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s present on Stopped", k)
		}
	}
	if r := h.do("POST", "/sessions/nope/:stop", ""); r.status != 404 || len(r.body) != 0 || !msCV.MatchString(r.header.Get("MS-CV")) {
		t.Errorf("stop unknown: %d %q", r.status, r.body)
	}
}

func TestStyle2021Placeholders(t *testing.T) {
	h := newHarness(t, Options{Style2021Nulls: true})
	r := h.do("PUT", "/sessions/old", `{"maxLeaseTimeMinutes":4,"size":"Standard"}`)
	want := `"arrInspectorPort":0,"handshakePort":0,"elapsedTimeMinutes":0,"hostname":null,"maxLeaseTimeMinutes":4,"size":"Standard","status":"Starting","teraflops":0,"error":null}`
	if !strings.HasSuffix(string(r.body), want) {
		t.Errorf("2021 body %s", r.body)
	}
	if got := r.header.Get("api-supported-versions"); got != apiVersions2021 {
		t.Errorf("api-supported-versions %q", got)
	}
	h.sim.Advance(time.Minute)
	if g := h.do("GET", "/sessions/old", ""); g.header.Get("Cache-Control") != "" || g.json(t)["teraflops"] != 10.6 {
		t.Errorf("2021 GET: %v %s", g.header, g.body)
	}
	bad := h.do("PUT", "/sessions/neg", `{"maxLeaseTimeMinutes":-4,"size":"Standard"}`)
	if !strings.Contains(string(bad.body), `"details":null,"target":null,"innerError":null`) {
		t.Errorf("2021 400 body %s", bad.body)
	}
}

func TestListSessionsPaging(t *testing.T) {
	h := newHarness(t, Options{PageSize: 3})
	for i := range 8 {
		h.do("PUT", fmt.Sprintf("/sessions/p%d", i), `{"maxLeaseTimeMinutes":10,"size":"Standard"}`)
	}
	h.do("POST", "/sessions/p4/:stop", "") // finished sessions are not listed
	var ids []string
	url := h.ts.URL + "/accounts/" + testAccount + "/sessions?api-version=2021-01-01"
	pages := 0
	for url != "" {
		pages++
		r := h.doURL("GET", url, "", h.token)
		if r.status != 200 || r.header.Get("Cache-Control") != "no-store, no-cache" {
			t.Fatalf("page %d: %d %v", pages, r.status, r.header)
		}
		m := r.json(t)
		for _, s := range m["sessions"].([]any) {
			ids = append(ids, s.(map[string]any)["id"].(string))
		}
		next, has := m["@nextLink"]
		url = ""
		if has {
			url = next.(string)
			if !strings.HasPrefix(url, h.ts.URL+"/accounts/") {
				t.Fatalf("nextLink %q not absolute on the request host", url)
			}
		}
	}
	if got := strings.Join(ids, ","); got != "p0,p1,p2,p3,p5,p6,p7" || pages != 3 {
		t.Errorf("listed %s in %d pages", got, pages)
	}
	h2 := newHarness(t, Options{})
	if r := h2.do("GET", "/sessions", ""); string(r.body) != `{"sessions":[]}` {
		t.Errorf("empty list %s", r.body)
	}
}

func TestStartFailure(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{StartErrorNext: 1, StartErrorCode: "RenderingVMFailed", StartErrorMessage: "The VM failed to start."}})
	h.do("PUT", "/sessions/bad", `{"maxLeaseTimeMinutes":10,"size":"Standard"}`)
	h.do("PUT", "/sessions/good", `{"maxLeaseTimeMinutes":10,"size":"Standard"}`)
	if m := h.do("GET", "/sessions/bad", "").json(t); m["status"] != "Starting" {
		t.Fatalf("before ReadyAfter: %v", m)
	}
	h.sim.Advance(10 * time.Second)
	m := h.do("GET", "/sessions/bad", "").json(t)
	e, _ := m["error"].(map[string]any)
	if m["status"] != "Error" || e["code"] != "RenderingVMFailed" || e["message"] != "The VM failed to start." {
		t.Fatalf("failed session %v", m)
	}
	if _, ok := m["hostname"]; ok {
		t.Errorf("hostname on a failed start")
	}
	if m := h.do("GET", "/sessions/good", "").json(t); m["status"] != "Ready" {
		t.Errorf("second session %v", m["status"])
	}
	// Admin fail of a Ready session.
	r := h.doURL("POST", h.ts.URL+"/_sim/sessions/good/fail", `{"code":"VMLost","message":"lost"}`, "")
	if r.status != 204 {
		t.Fatalf("admin fail: %d %s", r.status, r.body)
	}
	if m := h.do("GET", "/sessions/good", "").json(t); m["status"] != "Error" || m["teraflops"] != 8.1 {
		t.Errorf("after admin fail %v", m)
	}
	if r := h.doURL("POST", h.ts.URL+"/_sim/sessions/good/fail", "", ""); r.status != 409 {
		t.Errorf("failing a finished session: %d", r.status)
	}
	if r := h.doURL("POST", h.ts.URL+"/_sim/sessions/none/fail", "", ""); r.status != 404 {
		t.Errorf("failing an unknown session: %d", r.status)
	}
}

// TestManySessionsNoGoroutines checks that sessions cost no goroutines.
func TestManySessions(t *testing.T) {
	h := newHarness(t, Options{PageSize: 1000})
	for i := range 3000 {
		rec := serveDirect(h, "PUT", fmt.Sprintf("/sessions/m%d", i), `{"maxLeaseTimeMinutes":1,"size":"Standard"}`)
		if rec != 201 {
			t.Fatalf("create %d: %d", i, rec)
		}
	}
	h.sim.Advance(10*time.Second + time.Minute)
	if r := h.do("GET", "/sessions", ""); string(r.body) != `{"sessions":[]}` {
		t.Errorf("all should have expired: %.200s", r.body)
	}
}
