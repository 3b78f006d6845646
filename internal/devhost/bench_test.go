package devhost

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkInvocation compares one HTTP-triggered invocation through devhost
// (route match, payload build, POST to the handler, response translation) with
// the same invocation POSTed straight to the handler: the ratio is devhost's
// overhead. Both run against the same handler process, in this process.
func BenchmarkInvocation(b *testing.B) {
	root := app(b, baseHost, map[string]string{"Report": `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","authLevel":"anonymous","methods":["get"],"route":"report"},{"name":"res","type":"http","direction":"out"}]}`}, nil)
	r := start(b, root, map[string]string{"ECHO_RECORD": ""}, func(o *Options) { o.Stdout = io.Discard })
	r.h.log = discardLogger()
	r.h.inv.log = r.h.log
	base, err := r.h.sup.Ready(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	payload, err := HTTPPayload("Report", "req", httptest.NewRequest(http.MethodGet, r.url+"/api/report", nil), nil, nil, false, time.Now(), NewUUID())
	if err != nil {
		b.Fatal(err)
	}
	do := func(b *testing.B, req *http.Request) {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodPost, base+"/Report", bytes.NewReader(payload))
			req.Header.Set("Content-Type", contentType)
			req.Header.Set("X-Azure-Functions-InvocationId", NewUUID())
			do(b, req)
		}
	})
	b.Run("devhost", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodGet, r.url+"/api/report", nil)
			do(b, req)
		}
	})
}
