package arr

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

const (
	testAccount = "30ea64bd-100f-4bf0-adc9-29fa45d4880c"
	testKey     = "dGVzdC1hY2NvdW50LWtleS1tdXN0LW5ldmVyLWxlYWs="
)

func makeJWT(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(payload)) + ".sig"
}

// stsServer is a minimal STS + ARR GET session endpoint on 127.0.0.1 whose token
// issuance can be observed and steered; the simulator test covers the full API.
type stsServer struct {
	*httptest.Server
	stsCalls, arrCalls atomic.Int32
	stsDelay           time.Duration
	// stsHold, when set, holds every token request until it is closed.
	stsHold chan struct{}
	exp     func() time.Time
	// accept says whether ARR accepts the token issued by STS call number n.
	accept func(n int) bool

	mu       sync.Mutex
	lastAuth string
}

func newSTSServer(t *testing.T) *stsServer {
	s := &stsServer{exp: func() time.Time { return time.Now().Add(24 * time.Hour) }, accept: func(int) bool { return true }}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("MS-CV", "test-cv.0")
		if strings.HasSuffix(r.URL.Path, "/token") {
			n := s.stsCalls.Add(1)
			time.Sleep(s.stsDelay)
			if s.stsHold != nil {
				<-s.stsHold
			}
			s.mu.Lock()
			s.lastAuth = r.Header.Get("Authorization")
			s.mu.Unlock()
			if r.URL.Path != "/Accounts/"+testAccount+"/token" || r.URL.Query().Get("api-version") != stsAPIVersion {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			if a := r.Header.Get("Authorization"); a != "Bearer "+testAccount+":"+testKey && a != "Bearer entra-token" {
				w.WriteHeader(http.StatusUnauthorized) // empty body, as recorded
				return
			}
			tok := makeJWT(fmt.Sprintf(`{"n":%d,"exp":%d}`, n, s.exp().Unix()))
			_ = json.NewEncoder(w).Encode(map[string]string{"AccessToken": tok})
			return
		}
		s.arrCalls.Add(1)
		n, ok := tokenNumber(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if !ok || !s.accept(n) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, `{"id":"s1","size":"Standard","status":"Ready","hostname":"h","handshakePort":50051,"arrInspectorPort":50052,"creationTime":"2021-03-22T17:11:23.214787+00:00","maxLeaseTimeMinutes":%d}`, n)
	}))
	t.Cleanup(s.Close)
	return s
}

// tokenNumber reads the "n" claim the test STS put into a token.
func tokenNumber(tok string) (int, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return 0, false
	}
	var c struct{ N int }
	if json.Unmarshal(b, &c) != nil || c.N == 0 {
		return 0, false
	}
	return c.N, true
}

func (s *stsServer) client(t testing.TB, cred Credential, mod func(*ClientOptions)) *Client {
	o := &ClientOptions{AccountDomain: "eastus.mixedreality.azure.com", STSEndpoint: s.URL}
	o.Retry = policy.RetryOptions{RetryDelay: time.Millisecond}
	if mod != nil {
		mod(o)
	}
	c, err := NewClient(s.URL, testAccount, cred, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func keyCred(t testing.TB, k string) *AccountKeyCredential {
	c, err := NewAccountKeyCredential(k)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSTSOneFetchForConcurrentCallers(t *testing.T) {
	s := newSTSServer(t)
	s.stsDelay = 100 * time.Millisecond
	c := s.client(t, keyCred(t, testKey), nil)
	const callers = 64
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.GetSession(context.Background(), "s1", nil)
			if err == nil && *r.MaxLeaseTimeMinutes != 1 {
				err = fmt.Errorf("used token %d, want 1", *r.MaxLeaseTimeMinutes)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.stsCalls.Load(); n != 1 {
		t.Errorf("STS called %d times for %d concurrent callers, want 1", n, callers)
	}
	if n := s.arrCalls.Load(); n != callers {
		t.Errorf("ARR called %d times, want %d", n, callers)
	}
}

func TestSTSRefreshNearExpiry(t *testing.T) {
	s := newSTSServer(t)
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var now atomic.Int64
	now.Store(base.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	s.exp = func() time.Time { return clock().Add(time.Hour) }
	c := s.client(t, keyCred(t, testKey), nil)
	c.sts.now = clock

	steps := []struct {
		at        time.Duration
		wantToken int32
	}{
		{0, 1},
		{30 * time.Minute, 1},
		{54 * time.Minute, 1},             // 6 min left: still cached
		{55*time.Minute + time.Second, 2}, // under 5 min left: refreshed
		{56 * time.Minute, 2},             // the new token (exp +1h) is cached
		{2*time.Hour + 10*time.Minute, 3}, // long idle: token expired, refetched
	}
	for _, st := range steps {
		now.Store(base.Add(st.at).UnixNano())
		r, err := c.GetSession(context.Background(), "s1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := *r.MaxLeaseTimeMinutes; got != st.wantToken {
			t.Errorf("at +%v used token %d, want %d", st.at, got, st.wantToken)
		}
	}
	if n := s.stsCalls.Load(); n != 3 {
		t.Errorf("STS calls %d, want 3", n)
	}
}

func TestRefreshTime(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		left, want time.Duration
	}{
		{24 * time.Hour, 24*time.Hour - refreshMargin},
		{10 * time.Minute, 5 * time.Minute},
		{6 * time.Minute, 3 * time.Minute},
		{0, 0},
		{-time.Hour, 0},
	}
	for _, tt := range tests {
		if got := refreshTime(now, now.Add(tt.left)).Sub(now); got != tt.want {
			t.Errorf("refreshTime(left %v) = +%v, want +%v", tt.left, got, tt.want)
		}
	}
}

func TestSTS401RefreshesOnce(t *testing.T) {
	t.Run("second token accepted", func(t *testing.T) {
		s := newSTSServer(t)
		s.accept = func(n int) bool { return n >= 2 } // the first token was revoked
		c := s.client(t, keyCred(t, testKey), nil)
		r, err := c.GetSession(context.Background(), "s1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if *r.MaxLeaseTimeMinutes != 2 || s.stsCalls.Load() != 2 || s.arrCalls.Load() != 2 {
			t.Errorf("token %d, STS %d, ARR %d; want 2, 2, 2", *r.MaxLeaseTimeMinutes, s.stsCalls.Load(), s.arrCalls.Load())
		}
		// The fresh token is cached for the next call.
		if _, err := c.GetSession(context.Background(), "s1", nil); err != nil || s.stsCalls.Load() != 2 {
			t.Errorf("second call: err %v, STS calls %d", err, s.stsCalls.Load())
		}
	})
	t.Run("always rejected", func(t *testing.T) {
		s := newSTSServer(t)
		s.accept = func(int) bool { return false }
		c := s.client(t, keyCred(t, testKey), nil)
		_, err := c.GetSession(context.Background(), "s1", nil)
		var re *ResponseError
		if !errors.As(err, &re) || re.StatusCode != 401 {
			t.Fatalf("got %v, want a 401 *ResponseError", err)
		}
		if s.stsCalls.Load() != 2 || s.arrCalls.Load() != 2 {
			t.Errorf("STS %d ARR %d, want exactly one refresh and one resend (2, 2)", s.stsCalls.Load(), s.arrCalls.Load())
		}
	})
}

func TestSTSWrongKey(t *testing.T) {
	s := newSTSServer(t)
	const wrong = "d3Jvbmcta2V5LXRoYXQtbXVzdC1ub3QtYXBwZWFy"
	c := s.client(t, keyCred(t, wrong), nil)
	_, err := c.GetSession(context.Background(), "s1", nil)
	if err == nil {
		t.Fatal("wrong key accepted")
	}
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != 401 {
		t.Fatalf("got %v, want a 401 *ResponseError", err)
	}
	msg := err.Error()
	if strings.Contains(msg, wrong) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), wrong) {
		t.Errorf("error reveals the key: %s", msg)
	}
	if !strings.Contains(msg, "STS rejected the credential") || !strings.Contains(msg, testAccount) {
		t.Errorf("error does not explain the failure: %s", msg)
	}
	if s.arrCalls.Load() != 0 {
		t.Errorf("ARR called %d times without a token", s.arrCalls.Load())
	}
	if s.stsCalls.Load() != 1 {
		t.Errorf("STS called %d times: a rejected credential must not be retried", s.stsCalls.Load())
	}
}

func TestSTSWaiterCancellation(t *testing.T) {
	s := newSTSServer(t)
	// The token fetch is held until the impatient caller has given up, so
	// its return proves it did not wait for the fetch, on any machine.
	s.stsHold = make(chan struct{})
	c := s.client(t, keyCred(t, testKey), nil)
	patient := make(chan error, 1)
	go func() {
		_, err := c.GetSession(context.Background(), "s1", nil)
		patient <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.GetSession(ctx, "s1", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("impatient caller got %v, want DeadlineExceeded", err)
	}
	close(s.stsHold)
	if err := <-patient; err != nil {
		t.Errorf("patient caller failed: %v", err)
	}
	if s.stsCalls.Load() != 1 {
		t.Errorf("STS calls %d, want 1", s.stsCalls.Load())
	}
}

type fakeEntra struct {
	mu     sync.Mutex
	scopes []string
}

func (f *fakeEntra) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = append(f.scopes, o.Scopes...)
	return azcore.AccessToken{Token: "entra-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestSTSWithEntraToken(t *testing.T) {
	s := newSTSServer(t)
	fe := &fakeEntra{}
	cred, err := NewTokenCredential(fe)
	if err != nil {
		t.Fatal(err)
	}
	c := s.client(t, cred, nil)
	if _, err := c.GetSession(context.Background(), "s1", nil); err != nil {
		t.Fatal(err)
	}
	if len(fe.scopes) != 1 || fe.scopes[0] != "https://sts.eastus.mixedreality.azure.com/.default" {
		t.Errorf("scopes %q", fe.scopes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastAuth != "Bearer entra-token" {
		t.Errorf("STS Authorization %q", s.lastAuth)
	}
}

// TestSTSRecordings replays the recorded STS exchanges through the token source.
func TestSTSRecordings(t *testing.T) {
	fx := fixturesDir(t)
	tests := []struct {
		file string
		exp  int64
	}{
		{"dotnet-2020-GetToken.json", 1607978983},       // exp is a string
		{"python-2021-test_get_token.json", 1607978983}, // payload has '=' padding
		{"python-2022-test_get_token.json", 2147483647}, // the upstream fake
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rec := loadRecording(t, filepath.Join(fx, "recordings", "sts", tt.file))
			rt := newReplay(rec.Entries)
			u := rec.Entries[0].url(t)
			account := strings.Split(strings.Trim(u.Path, "/"), "/")[1]
			c, err := NewClient("https://remoterendering.eastus.mixedreality.azure.com", account, keyCred(t, "k"),
				&ClientOptions{ClientOptions: azcore.ClientOptions{Transport: rt}, STSEndpoint: u.Scheme + "://" + u.Host})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := c.sts.token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var want struct{ AccessToken string }
			_ = json.Unmarshal(rec.Entries[0].ResponseBody, &want)
			if tok != want.AccessToken {
				t.Errorf("token %q want %q", tok, want.AccessToken)
			}
			c.sts.mu.Lock()
			exp := c.sts.exp
			c.sts.mu.Unlock()
			if exp.Unix() != tt.exp {
				t.Errorf("exp %d want %d", exp.Unix(), tt.exp)
			}
			rt.check(t)
		})
	}
}

func TestJWTExpiry(t *testing.T) {
	tests := []struct {
		name, tok string
		want      int64
		ok        bool
	}{
		{"number", makeJWT(`{"exp":1700000000}`), 1700000000, true},
		{"string", makeJWT(`{"exp":"1700000000"}`), 1700000000, true},
		{"float", makeJWT(`{"exp":1700000000.5}`), 1700000000, true},
		{"padded", "h." + base64.URLEncoding.EncodeToString([]byte(`{"exp":17}`)) + ".s", 17, true},
		{"std alphabet", "h." + base64.RawStdEncoding.EncodeToString([]byte(`{"exp":1700000000,"x":"??>"}`)) + ".s", 1700000000, true},
		{"no exp", makeJWT(`{"iat":1}`), 0, false},
		{"null exp", makeJWT(`{"exp":null}`), 0, false},
		{"negative", makeJWT(`{"exp":-5}`), 0, false},
		{"huge", makeJWT(`{"exp":1e300}`), 0, false},
		{"not base64", "a.!!!.c", 0, false},
		{"not json", "a." + base64.RawURLEncoding.EncodeToString([]byte("nope")) + ".c", 0, false},
		{"one segment", "abc", 0, false},
		{"sanitized", "******", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jwtExpiry(tt.tok)
			if (err == nil) != tt.ok || (tt.ok && got.Unix() != tt.want) {
				t.Errorf("jwtExpiry = %v, %v; want %d ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}
