package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

const benchSessions = 100_000

var (
	benchRequesters = func() []string {
		rs := make([]string, 50)
		for i := range rs {
			rs[i] = fmt.Sprintf("app-%02d", i)
		}
		return rs
	}()
	benchTags = func() []map[string]string {
		ts := make([]map[string]string, 20)
		for i := range ts {
			ts[i] = map[string]string{"project": fmt.Sprintf("plant-%d", i)}
		}
		return ts
	}()
)

// synthetic yields n sessions spread over November 2026 as the store would:
// a fresh record per row, some spanning midnight, some running, some never
// Ready, some stopped by a policy, some expired. probe, when set, is called every 10,000 rows.
func synthetic(n int, probe func()) iter.Seq2[*arrops.Session, error] {
	return func(yield func(*arrops.Session, error) bool) {
		start := ts("2026-10-30T00:00:00Z")
		step := 25 * 24 * time.Hour / time.Duration(n)
		for i := range n {
			if probe != nil && i%10_000 == 0 {
				probe()
			}
			created := start.Add(time.Duration(i) * step)
			s := &arrops.Session{
				ID: fmt.Sprintf("s-%06d", i), Size: arrops.SizeStandard, Status: arrops.SessionStopped,
				RequestedBy: benchRequesters[i%len(benchRequesters)], Tags: benchTags[i%len(benchTags)],
				CreatedAt: created, ReadyAt: created.Add(3 * time.Minute),
				StoppedAt: created.Add(time.Duration(10+i%300) * time.Minute),
			}
			switch i % 10 {
			case 0:
				s.Size = arrops.SizePremium
			case 1:
				s.Status, s.StoppedAt = arrops.SessionReady, time.Time{}
			case 2:
				s.Status, s.ReadyAt = arrops.SessionError, time.Time{}
			case 3: // savings
				s.StopReason, s.MaxLeaseMinutes = "policy maxReadyMinutes: ready for 60 min", 480
			case 4: // waste
				s.Status = arrops.SessionExpired
			}
			if !yield(s, nil) {
				return
			}
		}
	}
}

var benchNow = ts("2026-11-24T12:00:00Z")

func benchQuery(f Format) Query {
	return Query{From: ts("2026-11-01T00:00:00Z"), To: ts("2026-11-30T00:00:00Z"), GroupBy: GroupTag, TagKey: "project", Format: f}
}

func benchIterate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if iterateOnce() == 0 {
			b.Fatal("nothing iterated")
		}
	}
}

var benchSink *arrops.Session

var (
	baselineOnce sync.Once
	baselineNs   float64
)

// iterateOnce generates and ranges over the benchmark sessions.
func iterateOnce() int {
	n := 0
	for s := range synthetic(benchSessions, nil) {
		// A store decodes every record onto the heap; the sink keeps the
		// compiler from stack-allocating them and flattering the baseline.
		benchSink = s
		n += len(s.ID)
	}
	return n
}

// reportRatio adds "x-iterate": the run time per op over that of merely
// generating and iterating the same sessions (the best of five runs, timed
// in this process). testing.Benchmark cannot be used here: it waits for the
// lock the running benchmark holds.
func reportRatio(b *testing.B, elapsed time.Duration) {
	baselineOnce.Do(func() {
		best := time.Duration(1<<63 - 1)
		for range 5 {
			start := time.Now()
			if iterateOnce() == 0 {
				b.Fatal("nothing iterated")
			}
			best = min(best, time.Since(start))
		}
		baselineNs = float64(best.Nanoseconds())
	})
	if baselineNs > 0 && b.N > 0 {
		b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N)/baselineNs, "x-iterate")
	}
}

// BenchmarkIterate is the baseline: generating and ranging over the records.
func BenchmarkIterate(b *testing.B) { benchIterate(b) }

func BenchmarkBuild(b *testing.B) {
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, err := Build(context.Background(), benchQuery(FormatJSON), testRates, benchNow, synthetic(benchSessions, nil), nil); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	reportRatio(b, elapsed)
}

func BenchmarkRender(b *testing.B) {
	for _, f := range []Format{FormatJSON, FormatCSV, FormatHTML} {
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if err := Render(context.Background(), io.Discard, benchQuery(f), testRates, benchNow, synthetic(benchSessions, nil), nil); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			reportRatio(b, elapsed)
		})
	}
}

// TestMemoryBounded streams 100,000 sessions through Build and Render and
// samples the live heap as they go: holding the records (some 40 MB) instead
// of the aggregates would break the bound.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 100,000 sessions")
	}
	for _, f := range []Format{FormatJSON, FormatCSV, FormatHTML} {
		t.Run(string(f), func(t *testing.T) {
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base, peak := ms.HeapAlloc, ms.HeapAlloc
			probe := func() {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
			if err := Render(context.Background(), io.Discard, benchQuery(f), testRates, benchNow, synthetic(benchSessions, probe), nil); err != nil {
				t.Fatal(err)
			}
			probe()
			const bound = 4 << 20
			if grow := int64(peak) - int64(base); grow > bound {
				t.Errorf("live heap grew by %d bytes while streaming, want under %d", grow, bound)
			}
		})
	}
}

func TestBuildStopsOnErrorAndCancel(t *testing.T) {
	boom := fmt.Errorf("table query failed")
	failing := func(yield func(*arrops.Session, error) bool) {
		if yield(&arrops.Session{ID: "a", CreatedAt: ts("2026-11-02T00:00:00Z")}, nil) {
			yield(nil, boom)
		}
	}
	var sb strings.Builder
	err := Render(context.Background(), &sb, benchQuery(FormatJSON), testRates, benchNow, failing, nil)
	if err == nil || !errors.Is(err, boom) {
		t.Errorf("err = %v, want it to wrap the iterator's error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, benchQuery(FormatJSON), testRates, benchNow, synthetic(1000, nil), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
