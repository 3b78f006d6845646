package arr

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/arrops/arrops"
)

const readySession = `{"id":"s1","size":"Standard","status":"Ready","creationTime":"2021-03-22T17:11:23.214787+00:00"}`

// scriptedClient answers STS with the fake token and ARR with script[i] for the
// i-th ARR request (the last one repeats).
func scriptedClient(t *testing.T, retry policy.RetryOptions, script ...func(*http.Request) *http.Response) (*Client, *countingTransport) {
	t.Helper()
	arr := &countingTransport{}
	tr := &countingTransport{fn: func(_ int32, req *http.Request) *http.Response {
		if req.URL.Path == "/Accounts/"+testAccount+"/token" {
			return respond(req, 200, http.Header{}, []byte(`{"AccessToken":"`+fakeSTSToken+`"}`))
		}
		n := arr.n.Add(1)
		i := min(int(n)-1, len(script)-1)
		return script[i](req)
	}}
	c, err := NewClient("https://remoterendering.eastus.mixedreality.azure.com", testAccount, keyCred(t, testKey),
		&ClientOptions{ClientOptions: azcore.ClientOptions{Transport: tr, Retry: retry}})
	if err != nil {
		t.Fatal(err)
	}
	return c, arr
}

func status(code int, h ...string) func(*http.Request) *http.Response {
	return func(req *http.Request) *http.Response {
		hd := http.Header{"Ms-Cv": {"cv.0"}}
		for i := 0; i+1 < len(h); i += 2 {
			hd.Set(h[i], h[i+1])
		}
		var body []byte
		switch code {
		case 200:
			body = []byte(readySession)
		case 500:
			body = []byte(`{"error":{"code":"InternalServerError","message":"An internal server error occurred."}}`)
		}
		return respond(req, code, hd, body)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	// RetryDelay is huge so that only Retry-After can explain a ~1 s wait.
	c, arr := scriptedClient(t, policy.RetryOptions{RetryDelay: time.Hour}, status(429, "Retry-After", "1"), status(200))
	start := time.Now()
	r, err := c.GetSession(context.Background(), "s1", nil)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != SessionStatusReady {
		t.Errorf("status %q", r.Status)
	}
	if arr.n.Load() != 2 {
		t.Errorf("%d ARR requests, want 2 (one retry)", arr.n.Load())
	}
	if elapsed < time.Second || elapsed > 10*time.Second {
		t.Errorf("waited %v, want about the 1 s Retry-After", elapsed)
	}
}

func TestRetryAfterAboveBoundIsReturned(t *testing.T) {
	c, arr := scriptedClient(t, policy.RetryOptions{}, status(429, "Retry-After", strconv.Itoa(int(defaultMaxRetryDelay/time.Second)+60)), status(200))
	start := time.Now()
	_, err := c.GetSession(context.Background(), "s1", nil)
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != 429 {
		t.Fatalf("got %v, want the 429", err)
	}
	if arr.n.Load() != 1 || time.Since(start) > 5*time.Second {
		t.Errorf("%d requests in %v: a Retry-After above MaxRetryDelay must not be waited for", arr.n.Load(), time.Since(start))
	}
}

func TestServerErrorsRetried(t *testing.T) {
	fast := policy.RetryOptions{RetryDelay: time.Millisecond, MaxRetryDelay: 10 * time.Millisecond}
	tests := []struct {
		name     string
		script   []func(*http.Request) *http.Response
		wantN    int32
		wantCode int // 0: success
	}{
		{"500 then ok", []func(*http.Request) *http.Response{status(500), status(200)}, 2, 0},
		{"503 then ok", []func(*http.Request) *http.Response{status(503), status(200)}, 2, 0},
		{"500 four times", []func(*http.Request) *http.Response{status(500)}, 4, 500},
		{"404 not retried", []func(*http.Request) *http.Response{status(404)}, 1, 404},
		{"400 not retried", []func(*http.Request) *http.Response{status(400)}, 1, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, arr := scriptedClient(t, fast, tt.script...)
			_, err := c.GetSession(context.Background(), "s1", nil)
			var re *ResponseError
			switch {
			case tt.wantCode == 0 && err != nil:
				t.Fatal(err)
			case tt.wantCode != 0 && (!errors.As(err, &re) || re.StatusCode != tt.wantCode):
				t.Fatalf("got %v, want %d", err, tt.wantCode)
			}
			if tt.wantCode == 500 && (re.ErrorCode != "InternalServerError" || re.MSCV != "cv.0") {
				t.Errorf("error fields %+v", re)
			}
			wantClass := map[int]string{0: "", 500: arrops.EINTERNAL, 404: arrops.ENOTFOUND, 400: arrops.EINVALID}[tt.wantCode]
			if got := arrops.ErrorCode(err); got != wantClass || arrops.Permanent(err) != (tt.wantCode == 404 || tt.wantCode == 400) {
				t.Errorf("arrops.ErrorCode = %q, want %q", got, wantClass)
			}
			if arr.n.Load() != tt.wantN {
				t.Errorf("%d requests, want %d", arr.n.Load(), tt.wantN)
			}
		})
	}
}

func TestRetriedPutResendsBody(t *testing.T) {
	var bodies []string
	record := func(next func(*http.Request) *http.Response) func(*http.Request) *http.Response {
		return func(req *http.Request) *http.Response {
			b := make([]byte, 512)
			n, _ := req.Body.Read(b)
			bodies = append(bodies, string(b[:n]))
			return next(req)
		}
	}
	created := func(req *http.Request) *http.Response {
		return respond(req, 201, http.Header{}, []byte(`{"id":"s1","size":"Standard","status":"Starting","maxLeaseTimeMinutes":30}`))
	}
	c, _ := scriptedClient(t, policy.RetryOptions{RetryDelay: time.Millisecond}, record(status(503)), record(created))
	r, err := c.CreateSession(context.Background(), "s1", SessionSettings{MaxLeaseTimeMinutes: 30, Size: "standard"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"maxLeaseTimeMinutes":30,"size":"Standard"}`
	if len(bodies) != 2 || bodies[0] != want || bodies[1] != want {
		t.Errorf("bodies %q, want the same %s twice", bodies, want)
	}
	if !r.Created || r.Status != SessionStatusStarting {
		t.Errorf("%+v", r)
	}
}
