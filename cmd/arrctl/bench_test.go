package main

import (
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

func manySessions(n int) []*arrops.Session {
	base := sampleSessions()
	out := make([]*arrops.Session, n)
	for i := range out {
		s := *base[i%len(base)]
		s.ID = fmt.Sprintf("session-%06d", i)
		s.CreatedAt = s.CreatedAt.Add(time.Duration(i) * time.Second)
		out[i] = &s
	}
	return out
}

// BenchmarkSessionsBaselineJSON is the baseline: encoding/json of the raw
// records, the least work any listing does.
func BenchmarkSessionsBaselineJSON(b *testing.B) {
	list := manySessions(1000)
	b.ReportAllocs()
	for b.Loop() {
		if err := json.NewEncoder(io.Discard).Encode(list); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionsTable is `arrctl sessions` rendering 1000 records.
func BenchmarkSessionsTable(b *testing.B) {
	list := manySessions(1000)
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		sortSessions(list)
		if err := writeSessions(io.Discard, formatTable, list, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionsCSV is `arrctl sessions --format csv` for 1000 records.
func BenchmarkSessionsCSV(b *testing.B) {
	list := manySessions(1000)
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if err := writeSessions(io.Discard, formatCSV, list, now); err != nil {
			b.Fatal(err)
		}
	}
}
