package convert

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/internal/functest"
)

// BenchmarkConvert measures blob events per second through the function as
// the host calls it (invocation and event decoding, validation, the record
// read and insert in Azurite) against the bare table insert alone.
//
// Each iteration does one bare insert and one event, timed separately, so
// the baseline is measured in the same process at the same moment: on a
// shared machine the ratio x-insert (event time / insert time) is stable
// where absolute figures are not.
//
//	rejected:       an upload that fails validation (no ARR call)
//	started:        a valid upload: side-file checks (three blob reads when
//	                there are none), SAS signing and the PUT to the simulator
//	started-nocheck: the same without the side-file checks (Deps.Blobs nil),
//	                to price them
func BenchmarkConvert(b *testing.B) {
	e := newEnv(b, nil, arrsim.Options{})
	withChecks := functions.Handle("convert", e.f, io.Discard, slog.LevelWarn)
	noChecks := e.deps
	noChecks.Blobs = nil
	withoutChecks := functions.Handle("convert", New(noChecks), io.Discard, slog.LevelWarn)
	// seq numbers every record of the process, so sub-benchmarks run again
	// (-count, b.Loop's ramp-up) never repeat an id or an eTag.
	run, seq := time.Now().UnixNano(), 0
	insert := func(b *testing.B) {
		seq++
		c := &arrops.Conversion{ID: fmt.Sprintf("base-%d-%d", run, seq), InputContainer: "arr-input", InputPath: "bench/plant.obj",
			InputETag: "0x1", InputSize: 80, OutputContainer: "arr-output", Status: arrops.ConversionRejected,
			ErrorCode: RejectUnsupported, ErrorMessage: "extension .obj is not converted by ARR", CreatedAt: e.now, CompletedAt: e.now}
		if _, created, err := e.store.CreateConversion(e.ctx, c); err != nil || !created {
			b.Fatalf("insert: %v %v", created, err)
		}
	}
	for _, tc := range []struct {
		name string
		path string
		fn   http.HandlerFunc
	}{{"rejected", "bench/plant.obj", withChecks}, {"started", "bench/plant.glb", withChecks}, {"started-nocheck", "bench/plant.glb", withoutChecks}} {
		b.Run(tc.name, func(b *testing.B) {
			e.fn = tc.fn
			// Rendered once; each event gets its own eTag (a new upload).
			tmpl := functest.BlobEvent{Container: "arr-input", Path: tc.path, ETag: "ETAG", ID: "bench-ETAG", Size: 80}.JSON(b)
			var inserts, events time.Duration
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				insert(b)
				t1 := time.Now()
				seq++
				body := bytes.ReplaceAll(tmpl, []byte("ETAG"), fmt.Appendf(nil, "0x%x-%d", run, seq))
				if code := e.deliver(body); code != http.StatusOK {
					b.Fatalf("HTTP %d", code)
				}
				inserts, events = inserts+t1.Sub(t0), events+time.Since(t1)
			}
			n := float64(b.N)
			b.ReportMetric(n/events.Seconds(), "events/s")
			b.ReportMetric(n/inserts.Seconds(), "inserts/s")
			b.ReportMetric(float64(events)/float64(inserts), "x-insert")
		})
	}
}
