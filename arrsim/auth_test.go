package arrsim

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSTS(t *testing.T) {
	tests := []struct {
		name      string
		anyBearer bool
		path      string
		authz     string
		status    int
	}{
		{"account key, capital A", false, "/Accounts/" + testAccount + "/token?api-version=2019-02-28-preview", "Bearer " + testAccount + ":" + testKey, 200},
		{"account key, lower a, no api-version", false, "/accounts/" + testAccount + "/token", "Bearer " + testAccount + ":" + testKey, 200},
		{"wrong key", false, "/Accounts/" + testAccount + "/token", "Bearer " + testAccount + ":nope", 401},
		{"other account in path", false, "/Accounts/99999999-2222-3333-4444-555555555555/token", "Bearer " + testAccount + ":" + testKey, 401},
		{"no authorization", false, "/Accounts/" + testAccount + "/token", "", 401},
		{"entra token refused without AcceptAnyBearer", false, "/Accounts/" + testAccount + "/token", "Bearer eyJ0eXAiOiJKV1QifQ.e30.sig", 401},
		{"entra token accepted with AcceptAnyBearer", true, "/Accounts/" + testAccount + "/token", "Bearer eyJ0eXAiOiJKV1QifQ.e30.sig", 200},
		{"wrong key still refused with AcceptAnyBearer", true, "/Accounts/" + testAccount + "/token", "Bearer " + testAccount + ":nope", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{AcceptAnyBearer: tc.anyBearer})
			req, _ := http.NewRequest("GET", h.ts.URL+tc.path, nil)
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			resp, err := h.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]string
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == 401 {
				if resp.Header.Get("Content-Length") != "0" || resp.Header.Get("WWW-Authenticate") != "" || resp.Header.Get("Content-Type") != "" {
					t.Errorf("401 headers %v", resp.Header)
				}
				return
			}
			if resp.Header.Get("Cache-Control") != "no-store, no-cache" || resp.Header.Get("Pragma") != "no-cache" {
				t.Errorf("200 headers %v", resp.Header)
			}
			parts := strings.Split(body["AccessToken"], ".")
			if len(parts) != 3 {
				t.Fatalf("token %q", body["AccessToken"])
			}
			hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var claims struct {
				Exp int64 `json:"exp"`
				Aid string
			}
			if err := json.Unmarshal(payload, &claims); err != nil {
				t.Fatal(err)
			}
			if string(hdr) != `{"alg":"HS256","typ":"JWT"}` || claims.Aid != testAccount {
				t.Errorf("token header %s payload %s", hdr, payload)
			}
			if life := time.Unix(claims.Exp, 0).Sub(t0); life < 23*time.Hour || life > 25*time.Hour {
				t.Errorf("token lifetime %v", life)
			}
			if strings.Contains(string(payload), testKey) {
				t.Errorf("token carries the account key")
			}
		})
	}
}

func TestARRAuth(t *testing.T) {
	h := newHarness(t, Options{})
	other := New(Options{AccountID: testAccount, AccountKey: testKey, Clock: frozen})
	defer other.Close()
	foreign := other.issueToken(stsClaims{AccountID: testAccount, Expires: t0.Add(time.Hour).Unix()})
	otherAccount := h.sim.issueToken(stsClaims{AccountID: "someone-else", Expires: t0.Add(time.Hour).Unix()})
	tests := []struct {
		name, token string
		advance     time.Duration
		status      int
	}{
		{"valid", h.token, 0, 200},
		{"no token", "", 0, 401},
		{"account key instead of token", testAccount + ":" + testKey, 0, 401},
		{"signed by another simulator", foreign, 0, 401},
		{"token for another account", otherAccount, 0, 401},
		{"garbage", "a.b.c", 0, 401},
		{"expired after 24 h", h.token, 25 * time.Hour, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.sim.Advance(tc.advance)
			r := h.doURL("GET", h.ts.URL+"/accounts/"+testAccount+"/sessions", "", tc.token)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d", r.status, tc.status)
			}
			if tc.status == 401 && (r.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` || len(r.body) != 0) {
				t.Errorf("401 %v %q", r.header, r.body)
			}
		})
	}
	if got := h.sim.Stats().Unauthorized; got != 6 {
		t.Errorf("Unauthorized = %d, want 6", got)
	}
}

func TestAPIVersion(t *testing.T) {
	h := newHarness(t, Options{})
	base := h.ts.URL + "/accounts/" + testAccount + "/sessions"
	for q, want := range map[string]int{
		"?api-version=2021-01-01":         200,
		"?api-version=2021-01-01-preview": 200,
		"?api-version=2019-02-28-preview": 400,
		"?api-version=":                   400,
		"?x=1":                            400,
	} {
		req, _ := http.NewRequest("GET", base+q, nil)
		req.Header.Set("Authorization", "Bearer "+h.token)
		resp, err := h.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", q, resp.StatusCode, want)
		}
	}
}

// TestWireHeaderCasing reads the raw response: MS-CV and
// api-supported-versions must keep the service's casing on the wire.
func TestWireHeaderCasing(t *testing.T) {
	h := newHarness(t, Options{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("GET /accounts/" + testAccount + "/sessions?api-version=2021-01-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + h.token + "\r\nConnection: close\r\n\r\n"))
	br := bufio.NewReader(conn)
	var head []string
	for {
		line, err := br.ReadString('\n')
		if err != nil || line == "\r\n" {
			break
		}
		head = append(head, strings.TrimSpace(line))
	}
	raw := strings.Join(head, "\n")
	for _, want := range []string{"\nMS-CV: ", "\napi-supported-versions: 2021-01-01-preview, 2021-01-01, 2021-08-01-preview", "\nCache-Control: no-store, no-cache", "\nPragma: no-cache", "\nX-Content-Type-Options: nosniff", "\nContent-Type: application/json; charset=utf-8"} {
		if !strings.Contains(raw, want) {
			t.Errorf("raw head lacks %q:\n%s", want, raw)
		}
	}
}

func TestUnknownRoutes(t *testing.T) {
	h := newHarness(t, Options{})
	for _, tc := range []struct{ method, path string }{
		{"GET", "/nothing"},
		{"DELETE", "/accounts/" + testAccount + "/sessions/x"},
		{"GET", "/accounts/" + testAccount + "/sessions/x/:stop"},
		{"GET", "/_sim/nothing"},
	} {
		r := h.doURL(tc.method, h.ts.URL+tc.path, "", h.token)
		if r.status != 404 || len(r.body) != 0 {
			t.Errorf("%s %s: %d %q", tc.method, tc.path, r.status, r.body)
		}
	}
}
