package arrsim

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Benchmarks report calls/s and a ratio against a baseline measured in the
// same process: a trivial handler that writes a session-sized JSON body
// with the same headers, so the ratio is the simulator's own cost over the
// HTTP floor of this machine.

var baselineBody = []byte(`{"id":"bench","creationTime":"2026-01-02T03:04:05.1234567+00:00","arrInspectorPort":50000,"handshakePort":50001,"elapsedTimeMinutes":0,"hostname":"arrwu2standard0123456789abcdef0123456789abcdef.remoterendering.vm.eastus.mixedreality.azure.com","maxLeaseTimeMinutes":60,"size":"Standard","status":"Ready","teraflops":8.1}`)

func baselineHandler(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["MS-CV"] = []string{"AAAAAAAAAAAAAAAAAAAAAA.0"}
	h["Content-Type"] = []string{"application/json; charset=utf-8"}
	_, _ = w.Write(baselineBody)
}

// baseline times fn over the same b.N with the timer stopped (nesting
// testing.Benchmark inside a benchmark deadlocks on the testing package's
// benchmark lock) and returns its ns/op.
func baseline(b *testing.B, fn func(b *testing.B)) float64 {
	b.StopTimer()
	defer b.StartTimer()
	start := time.Now()
	fn(b)
	return float64(time.Since(start).Nanoseconds()) / float64(b.N)
}

func loopGet(b *testing.B, client *http.Client, url, token string) {
	for range b.N {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func report(b *testing.B, simElapsed time.Duration, baseNs float64) {
	ns := float64(simElapsed.Nanoseconds()) / float64(b.N)
	b.ReportMetric(1e9/ns, "calls/s")
	b.ReportMetric(ns/baseNs, "x-baseline")
}

// BenchmarkGetSessionLoopback: GET session over a real loopback connection
// (keep-alive, one client goroutine).
func BenchmarkGetSessionLoopback(b *testing.B) {
	h := newHarness(b, Options{})
	h.do("PUT", "/sessions/bench", `{"maxLeaseTimeMinutes":60,"size":"Standard"}`)
	url := h.ts.URL + "/accounts/" + testAccount + "/sessions/bench?api-version=2021-01-01"
	b.ReportAllocs()
	b.ResetTimer()
	loopGet(b, h.ts.Client(), url, h.token)
	elapsed := b.Elapsed()
	report(b, elapsed, baseline(b, func(b *testing.B) {
		ts := httptest.NewServer(http.HandlerFunc(baselineHandler))
		defer ts.Close()
		loopGet(b, ts.Client(), ts.URL+"/x", "")
	}))
}

// BenchmarkGetSessionLoopbackParallel: as above with GOMAXPROCS clients.
func BenchmarkGetSessionLoopbackParallel(b *testing.B) {
	h := newHarness(b, Options{})
	h.do("PUT", "/sessions/bench", `{"maxLeaseTimeMinutes":60,"size":"Standard"}`)
	url := h.ts.URL + "/accounts/" + testAccount + "/sessions/bench?api-version=2021-01-01"
	b.ReportAllocs()
	b.ResetTimer()
	parallelGet(b, h.ts.Client(), url, h.token)
	elapsed := b.Elapsed()
	report(b, elapsed, baseline(b, func(b *testing.B) {
		ts := httptest.NewServer(http.HandlerFunc(baselineHandler))
		defer ts.Close()
		parallelGetN(b.N, ts.Client(), ts.URL+"/x")
	}))
}

func parallelGet(b *testing.B, client *http.Client, url, token string) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// BenchmarkGetSessionInProcess: ServeHTTP directly, among 10 000 sessions.
func BenchmarkGetSessionInProcess(b *testing.B) {
	h := newHarness(b, Options{})
	for i := range 10000 {
		serveDirect(h, "PUT", fmt.Sprintf("/sessions/s%d", i), `{"maxLeaseTimeMinutes":60,"size":"Standard"}`)
	}
	req := httptest.NewRequest("GET", "/accounts/"+testAccount+"/sessions/s5000?api-version=2021-01-01", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec := httptest.NewRecorder()
		h.sim.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
	elapsed := b.Elapsed()
	report(b, elapsed, baseline(b, inProcessBaseline))
}

// BenchmarkCreateSessionInProcess: PUT of new sessions.
func BenchmarkCreateSessionInProcess(b *testing.B) {
	h := newHarness(b, Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest("PUT", fmt.Sprintf("/accounts/%s/sessions/c%d?api-version=2021-01-01", testAccount, i),
			strings.NewReader(`{"maxLeaseTimeMinutes":60,"size":"Standard"}`))
		req.Header.Set("Authorization", "Bearer "+h.token)
		rec := httptest.NewRecorder()
		h.sim.ServeHTTP(rec, req)
		if rec.Code != 201 {
			b.Fatalf("status %d", rec.Code)
		}
	}
	elapsed := b.Elapsed()
	report(b, elapsed, baseline(b, inProcessBaseline))
}

func inProcessBaseline(b *testing.B) {
	req := httptest.NewRequest("GET", "/x", nil)
	for range b.N {
		baselineHandler(httptest.NewRecorder(), req)
	}
}

// parallelGetN spreads n GETs over 2 goroutines (RunParallel cannot be
// used while the timer is stopped for the baseline).
func parallelGetN(n int, client *http.Client, url string) {
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 2 {
				resp, err := client.Get(url)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
}
