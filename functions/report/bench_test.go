package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/functest"
	rep "github.com/arrops/arrops/report"
)

// BenchmarkReportAzurite renders the report over ARROPS_BENCH_REPORT_ROWS
// (default 20,000) session records in Azurite and compares it with the raw
// range read of the same rows (ListEntities over the same partition range,
// bytes only: the floor any report has to pay). It reports the peak live
// heap of each, to show the report streams: its peak stays near the size of
// its output, not the rows read.
//
// The default is 20,000 rather than the 100,000 of the issue because
// Azurite's in-memory table store inserts in superlinear time (5,000 rows
// seed in about 3 s, 20,000 in about 90 s, 100,000 did not finish in 30
// minutes); the report's cost per row is flat, so the ratio carries over.
func BenchmarkReportAzurite(b *testing.B) {
	rows := 20_000
	if v := os.Getenv("ARROPS_BENCH_REPORT_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("ARROPS_BENCH_REPORT_ROWS=%q: want a positive integer", v)
		}
		rows = n
	}
	az := azuritetest.Start(b)
	ctx := context.Background()
	st := functest.Store(b, az.ConnectionString, nil)
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	seedStart := time.Now()
	if err := st.ImportSessions(ctx, benchSessions(rows, from)); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d sessions in %s", rows, time.Since(seedStart).Round(time.Millisecond))
	now := from.AddDate(0, 1, 0)
	q, err := rep.ParseQuery(map[string][]string{"from": {"2026-11-01"}, "to": {"2026-11-30"}, "format": {"json"}}, "", now)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := aztables.NewServiceClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		b.Fatal(err)
	}
	raw := svc.NewClient("ArrSessions")
	filter := fmt.Sprintf("PartitionKey ge '%s' and PartitionKey le '%s'",
		q.Start().Add(-rep.Lookback).Format("20060102"), q.End().Format("20060102"))

	b.Run("baseline=RangeRead", func(b *testing.B) {
		peak := watchHeap(b)
		for b.Loop() {
			n, size := 0, 0
			pager := raw.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
			for pager.More() {
				page, err := pager.NextPage(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range page.Entities {
					size += len(e)
				}
				n += len(page.Entities)
			}
			if n != rows {
				b.Fatalf("range read %d rows, want %d", n, rows)
			}
			b.ReportMetric(float64(size)/(1<<20), "rows-MB")
		}
		peak.report()
	})
	for _, format := range []rep.Format{rep.FormatJSON, rep.FormatCSV, rep.FormatHTML} {
		b.Run("Report/"+string(format), func(b *testing.B) {
			q := q
			q.Format = format
			peak := watchHeap(b)
			for b.Loop() {
				var buf bytes.Buffer
				if err := rep.Write(ctx, &buf, st, q, rep.Rates{Standard: 3, Premium: 12, Set: true, Currency: "USD"}, now); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(buf.Len())/(1<<20), "out-MB")
			}
			peak.report()
		})
	}
}

// benchSessions spreads n finished sessions over the 30 days from `from`:
// 50 requesters, both sizes, some across midnight, some stopped by a policy,
// some expired, some never Ready.
func benchSessions(n int, from time.Time) []*arrops.Session {
	out := make([]*arrops.Session, n)
	step := 30 * 24 * time.Hour / time.Duration(n)
	for i := range out {
		created := from.Add(time.Duration(i) * step)
		size := arrops.SizeStandard
		if i%4 == 0 {
			size = arrops.SizePremium
		}
		ready := created.Add(3 * time.Minute)
		s := &arrops.Session{
			ID: fmt.Sprintf("bench-%07d", i), Size: size, Status: arrops.SessionStopped, Origin: arrops.OriginCommand,
			RequestedBy: fmt.Sprintf("app-%02d", i%50), Tags: map[string]string{"project": fmt.Sprintf("plant-%d", i%20)},
			MaxLeaseMinutes: 120, CreatedAt: created, ReadyAt: ready, StoppedAt: ready.Add(time.Duration(20+i%100) * time.Minute),
			ElapsedMinutes: 20 + i%100, StopReason: "stopped by command",
		}
		// Every section of the report has work: policy stops (savings),
		// expired leases (waste), a start that failed (never Ready).
		switch i % 10 {
		case 1:
			s.StopReason = "policy maxReadyMinutes: ready for 60 min (SHUTDOWN_MAX_READY_MINUTES=60)"
		case 2:
			s.Status, s.StopReason = arrops.SessionExpired, ""
		case 3:
			s.Status, s.ReadyAt, s.ElapsedMinutes, s.ErrorCode = arrops.SessionError, time.Time{}, 0, "CapacityExceeded"
		}
		out[i] = s
	}
	return out
}

// heapWatch samples the live heap while a benchmark runs.
type heapWatch struct {
	b    *testing.B
	stop chan struct{}
	wg   sync.WaitGroup
	max  atomic.Uint64
}

func watchHeap(b *testing.B) *heapWatch {
	runtime.GC()
	w := &heapWatch{b: b, stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > w.max.Load() {
				w.max.Store(v)
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *heapWatch) report() {
	close(w.stop)
	w.wg.Wait()
	w.b.ReportMetric(float64(w.max.Load())/(1<<20), "peak-heap-MB")
}
