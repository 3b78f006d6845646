package arr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/arrops/arrops/internal/modroot"
)

// fixturesDir is the shared ARR recordings folder (modroot.Shared: shared/ beside
// the module root, or $ARROPS_SHARED).
func fixturesDir(tb testing.TB) string {
	tb.Helper()
	shared, err := modroot.Shared()
	if err != nil {
		tb.Fatal(err)
	}
	fx := filepath.Join(shared, "fixtures", "arr")
	if _, err := os.Stat(fx); err != nil {
		tb.Fatalf("shared fixtures not found: %v", err)
	}
	return fx
}

type recEntry struct {
	RequestURI      string          `json:"RequestUri"`
	RequestMethod   string          `json:"RequestMethod"`
	RequestBody     json.RawMessage `json:"RequestBody"`
	StatusCode      int             `json:"StatusCode"`
	ResponseHeaders map[string]any  `json:"ResponseHeaders"`
	ResponseBody    json.RawMessage `json:"ResponseBody"`
}

type recording struct {
	Entries []recEntry `json:"Entries"`
}

func loadRecording(tb testing.TB, path string) recording {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var r recording
	if err := json.Unmarshal(b, &r); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return r
}

func (e recEntry) isSTS() bool { return strings.Contains(strings.ToLower(e.RequestURI), "/token") }

func (e recEntry) url(tb testing.TB) *url.URL {
	u, err := url.Parse(e.RequestURI)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func (e recEntry) header() http.Header {
	h := http.Header{}
	for k, v := range e.ResponseHeaders {
		if strings.EqualFold(k, "Content-Length") {
			continue // the sanitizers left stale lengths
		}
		switch v := v.(type) {
		case string:
			h.Add(k, v)
		case float64:
			h.Add(k, fmt.Sprint(v))
		case []any:
			for _, x := range v {
				h.Add(k, fmt.Sprint(x))
			}
		}
	}
	return h
}

func (e recEntry) body() []byte {
	b := bytes.TrimSpace(e.ResponseBody)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return b
}

// fakeSTSToken is the upstream placeholder JWT (payload {"exp":2147483647}).
const fakeSTSToken = "fake.eyJleHAiOjIxNDc0ODM2NDd9.fake"

// replayTransport answers requests with recorded entries, strictly in order,
// matching method, path and api-version (any host). When the recording has no STS
// entry (the .NET records) STS requests get a synthetic token.
type replayTransport struct {
	mu       sync.Mutex
	entries  []recEntry
	next     int
	synthSTS bool
	errs     []string
	stsCalls atomic.Int32
	arrCalls atomic.Int32
	authSeen []string
}

func newReplay(entries []recEntry) *replayTransport {
	rt := &replayTransport{entries: entries, synthSTS: true}
	for _, e := range entries {
		if e.isSTS() {
			rt.synthSTS = false
		}
	}
	return rt
}

func (rt *replayTransport) Do(req *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	isSTS := strings.HasSuffix(req.URL.Path, "/token")
	if isSTS {
		rt.stsCalls.Add(1)
	} else {
		rt.arrCalls.Add(1)
		rt.authSeen = append(rt.authSeen, req.Header.Get("Authorization"))
	}
	if isSTS && rt.synthSTS {
		return respond(req, 200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"AccessToken":"`+fakeSTSToken+`"}`)), nil
	}
	if rt.next >= len(rt.entries) {
		rt.errs = append(rt.errs, fmt.Sprintf("unexpected extra request %s %s", req.Method, req.URL.Path))
		return nil, fmt.Errorf("replay: no more entries for %s %s", req.Method, req.URL.Path)
	}
	e := rt.entries[rt.next]
	rt.next++
	u, _ := url.Parse(e.RequestURI)
	if e.RequestMethod != req.Method || u.Path != req.URL.Path ||
		u.Query().Get("api-version") != req.URL.Query().Get("api-version") {
		rt.errs = append(rt.errs, fmt.Sprintf("request %d: got %s %s?%s, recorded %s %s?%s", rt.next-1,
			req.Method, req.URL.Path, req.URL.RawQuery, e.RequestMethod, u.Path, u.RawQuery))
	}
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
	}
	return respond(req, e.StatusCode, e.header(), e.body()), nil
}

func (rt *replayTransport) check(tb testing.TB) {
	tb.Helper()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, e := range rt.errs {
		tb.Error(e)
	}
	if rt.next != len(rt.entries) {
		tb.Errorf("replayed %d of %d entries", rt.next, len(rt.entries))
	}
}

func respond(req *http.Request, status int, h http.Header, body []byte) *http.Response {
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}

// countingTransport counts requests and answers them with fn.
type countingTransport struct {
	n  atomic.Int32
	fn func(n int32, req *http.Request) *http.Response
}

func (c *countingTransport) Do(req *http.Request) (*http.Response, error) {
	n := c.n.Add(1)
	if c.fn == nil {
		return nil, fmt.Errorf("countingTransport: no responder for %s %s", req.Method, req.URL.Path)
	}
	return c.fn(n, req), nil
}
