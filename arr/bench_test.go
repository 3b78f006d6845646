package arr_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops/arr"
)

// readyBody is a recorded Ready session (python-2022 test_simple_session).
const readyBody = `{"id":"rr-test-id","creationTime":"2022-09-14T01:05:32.4773534+00:00","arrInspectorPort":64487,"handshakePort":54639,"elapsedTimeMinutes":0,"hostname":"arrwu2standard25246cf9a70f4d6dbd3be7af6dac6bf7.remoterendering.vm.eastus.mixedreality.azure.com","maxLeaseTimeMinutes":15,"size":"Standard","status":"Ready","teraflops":8.1}`

func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("MS-CV", "im2ukJwjQUqUIx7AGkJqFg.0")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if strings.HasSuffix(r.URL.Path, "/token") {
			fmt.Fprintf(w, `{"AccessToken":%q}`, stsToken)
			return
		}
		io.WriteString(w, readyBody)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchBaseline is the floor: a bare net/http GET of the same body, decoded into
// the same type, over the same kept-alive connection pool.
func benchBaseline(b *testing.B, srv *httptest.Server) {
	hc := srv.Client()
	u := srv.URL + "/accounts/" + account + "/sessions/rr-test-id?api-version=2021-01-01"
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+stsToken)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var s arr.Session
		if err := json.Unmarshal(body, &s); err != nil || s.Status != arr.SessionStatusReady {
			b.Fatal(err)
		}
	}
}

func benchClient(b *testing.B, srv *httptest.Server) {
	c := newClient(b, srv.URL, accountKey, func(o *arr.ClientOptions) {
		o.Transport = srv.Client()
		o.Telemetry.Disabled = true
	})
	ctx := context.Background()
	if _, err := c.GetSession(ctx, "rr-test-id", nil); err != nil { // fetch the STS token once
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r, err := c.GetSession(ctx, "rr-test-id", nil)
		if err != nil || r.Status != arr.SessionStatusReady {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetSession(b *testing.B) {
	srv := benchServer(b)
	b.Run("nethttp", func(b *testing.B) { benchBaseline(b, srv) })
	b.Run("client", func(b *testing.B) { benchClient(b, srv) })
}

// BenchmarkGetSessionRatio interleaves one bare net/http GET and one client
// GetSession per iteration against the same server and reports the ratio of their
// total times (target ≤ 1.10). Interleaving cancels drift on a shared machine.
func BenchmarkGetSessionRatio(b *testing.B) {
	srv := benchServer(b)
	hc := srv.Client()
	u := srv.URL + "/accounts/" + account + "/sessions/rr-test-id?api-version=2021-01-01"
	c := newClient(b, srv.URL, accountKey, func(o *arr.ClientOptions) {
		o.Transport = hc
		o.Telemetry.Disabled = true
	})
	ctx := context.Background()
	if _, err := c.GetSession(ctx, "rr-test-id", nil); err != nil {
		b.Fatal(err)
	}
	var base, client time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+stsToken)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var s arr.Session
		if err := json.Unmarshal(body, &s); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := c.GetSession(ctx, "rr-test-id", nil); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		base += t1.Sub(t0)
		client += t2.Sub(t1)
	}
	b.ReportMetric(float64(client)/float64(base), "client/nethttp")
}
