package main

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"testing"
	"time"

	"github.com/arrops/arrops"
	rep "github.com/arrops/arrops/report"
)

func seq[T any](l []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, v := range l {
			if !yield(v, nil) {
				return
			}
		}
	}
}

// TestReportTable renders the JSON report with the report package itself
// (what report.Write does) and checks the table made from it: golden
// layout, and every number taken from the JSON totals.
func TestReportTable(t *testing.T) {
	now := t0.Add(time.Hour)
	tests := []struct {
		name    string
		groupBy string
		rates   rep.Rates
	}{
		{"requester-rates", "requester", rep.Rates{Standard: 3, Premium: 12, Set: true, Currency: "EUR"}},
		{"size-norates", "size", rep.Rates{}},
		{"tag", "tag:project", rep.Rates{Standard: 3, Premium: 12, Set: true, Currency: "USD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := rep.ParseQuery(url.Values{"from": {"2026-11-20"}, "to": {"2026-11-24"}, "groupBy": {tt.groupBy}, "format": {"json"}}, "", now)
			if err != nil {
				t.Fatal(err)
			}
			var js bytes.Buffer
			if err := rep.Render(context.Background(), &js, q, tt.rates, now, seq(sampleSessions()), seq(sampleConversions())); err != nil {
				t.Fatal(err)
			}
			var r reportTotals
			if err := json.Unmarshal(js.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			if r.Totals.Count != 4 || len(r.Groups) == 0 || r.Conversions.Count != 3 || r.Conversions.Rejected.Count != 1 {
				t.Fatalf("decoded report lacks totals: %+v", r)
			}
			var b bytes.Buffer
			if err := writeReportTable(&b, &r); err != nil {
				t.Fatal(err)
			}
			golden(t, "report-"+tt.name+".table", b.Bytes())
		})
	}
}

var _ = arrops.SessionReady
