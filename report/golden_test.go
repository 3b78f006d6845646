package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestGolden(t *testing.T) {
	tests := []struct {
		file  string
		q     Query
		rates Rates
	}{
		{"report.json", novemberQuery(FormatJSON, GroupRequester, ""), testRates},
		{"report.csv", novemberQuery(FormatCSV, GroupRequester, ""), testRates},
		{"report-norates-tag.json", novemberQuery(FormatJSON, GroupTag, "project"), Rates{}},
		{"report-norates-day.csv", novemberQuery(FormatCSV, GroupDay, ""), Rates{}},
		{"conversions.csv", conversionsQuery(FormatCSV), testRates},
		{"conversions.json", conversionsQuery(FormatJSON), testRates},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ss, cs := dataset()
			var buf bytes.Buffer
			if err := Render(context.Background(), &buf, tt.q, tt.rates, fixedNow, seq(ss), seq(cs)); err != nil {
				t.Fatal(err)
			}
			switch tt.q.Format {
			case FormatJSON:
				if !json.Valid(buf.Bytes()) {
					t.Fatalf("invalid JSON:\n%s", buf.String())
				}
			case FormatCSV:
				recs, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
				if err != nil {
					t.Fatalf("invalid CSV: %v", err)
				}
				header := CSVHeader
				if tt.q.Dataset == DatasetConversions {
					header = ConversionsCSVHeader
				}
				if !slices.Equal(recs[0], header) {
					t.Fatalf("header %q, want %q", recs[0], header)
				}
				for i, r := range recs {
					if len(r) != len(header) {
						t.Fatalf("record %d has %d fields, want %d", i, len(r), len(header))
					}
				}
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./report -run TestGolden -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the golden file; diff it or rerun with -update:\n%s", tt.file, buf.String())
			}
		})
	}
}

// TestJSONTotals pins the arithmetic of the golden dataset independently of
// the golden file, so an -update cannot bless a wrong sum.
func TestJSONTotals(t *testing.T) {
	ss, cs := dataset()
	var buf bytes.Buffer
	q := novemberQuery(FormatJSON, GroupRequester, "")
	if err := Render(context.Background(), &buf, q, testRates, fixedNow, seq(ss), seq(cs)); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Sessions   []SessionRow `json:"sessions"`
		Groups     []Group      `json:"groups"`
		Days       []Day        `json:"days"`
		Totals     Totals       `json:"totals"`
		Savings    Savings      `json:"savings"`
		Waste      Waste        `json:"waste"`
		StartTimes StartTimes   `json:"startTimes"`
		Conv       struct {
			Count       int           `json:"count"`
			SuccessRate float64       `json:"successRate"`
			Median      float64       `json:"medianSeconds"`
			P95         float64       `json:"p95Seconds"`
			Top         []FailureCode `json:"topFailureCodes"`
			Rejected    Rejected      `json:"rejected"`
		} `json:"conversions"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	// 90 (month end, clipped) + 240 (midnight) + 45 (error) + 30 (xss) + 45.5 (formula) + 90 (running)
	const wantMin = 90 + 240 + 45 + 30 + 45.5 + 90
	if got.Totals.Minutes != wantMin || got.Totals.Count != 9 || got.Totals.Running != 3 {
		t.Errorf("totals = %+v, want %v minutes, 9 sessions, 3 running", got.Totals, wantMin)
	}
	// Standard 255 min × 3/h + Premium 285.5 min × 12.5/h
	wantCost := round(255.0/60*3+285.5/60*12.5, 2)
	if got.Totals.Cost != wantCost {
		t.Errorf("cost = %v, want %v", got.Totals.Cost, wantCost)
	}
	if len(got.Sessions) != 9 {
		t.Errorf("%d session rows, want 9 (s-outside excluded)", len(got.Sessions))
	}
	for _, s := range got.Sessions {
		if s.ID == "s-outside" {
			t.Error("s-outside is listed")
		}
	}
	if len(got.Days) != 23 || got.Days[4].Hours["Premium"] != 2 || got.Days[5].Hours["Premium"] != 2 || got.Days[0].Hours["Standard"] != 1.5 {
		t.Errorf("days: %+v", got.Days[:6])
	}
	c := got.Conv
	// ARR ran 6: 3 succeeded (240, 600, 3600 s), 2 failed (60, 120 s), 1
	// running; the 2 rejected records never reached ARR and count apart.
	if c.Count != 6 || c.SuccessRate != 0.6 || c.Median != 240 || c.P95 != round(600+0.8*3000, 1) {
		t.Errorf("conversions = %+v", c)
	}
	if len(c.Top) != 1 || c.Top[0] != (FailureCode{"InvalidInput", 2}) {
		t.Errorf("top failures = %+v", c.Top)
	}
	if c.Rejected.Count != 2 || fmt.Sprint(c.Rejected.ByCode) != "[{UndecodableEvent 1} {UnsupportedFormat 1}]" {
		t.Errorf("rejected = %+v", c.Rejected)
	}

	// Savings: s-xss (Standard) 09:30 → its extension at 12:00 = 150 min;
	// s-formula (Premium) 10:50:30 → 10:05 + 60 min = 14.5 min.
	sv := got.Savings
	if sv.Count != 2 || sv.Minutes != 164.5 || sv.Cost != round(150.0/60*3+14.5/60*12.5, 2) || len(sv.ByPolicy) != 2 ||
		sv.ByPolicy[0].Key != "maxReadyMinutes" || sv.ByPolicy[0].Minutes != 14.5 ||
		sv.ByPolicy[1].Key != "quietHours" || sv.ByPolicy[1].Minutes != 150 || sv.ByPolicy[1].Cost != 7.5 {
		t.Errorf("savings = %+v", sv)
	}
	// Waste: s-midnight (Premium, Expired) billed 240 min.
	if w := got.Waste; w.Count != 1 || w.Minutes != 240 || w.Cost != 50 || len(w.ByRequester) != 1 || w.ByRequester[0].Key != "alice" {
		t.Errorf("waste = %+v", w)
	}
	// Start: Standard 300 s (error-ready), 120 s (xss), 300 s (running);
	// Premium 600 s (midnight), 300 s (formula). s-month-end was created
	// before the range; s-error-never never became Ready.
	st := got.StartTimes
	if st.Ready != 5 || *st.P50Seconds != 300 || len(st.BySize) != 2 ||
		st.BySize[0] != (StartGroup{"Standard", 3, 300, 300}) || st.BySize[1] != (StartGroup{"Premium", 2, 450, 585}) ||
		len(st.ByDay) != 5 || st.ByDay[0] != (StartGroup{"2026-11-05", 1, 600, 600}) ||
		st.NeverReady != 1 || fmt.Sprint(st.ByCode) != "[{CapacityExceeded 1}]" {
		t.Errorf("start times = %+v", st)
	}
}

func TestCSVDefusesFormulas(t *testing.T) {
	ss, _ := dataset()
	var buf bytes.Buffer
	if err := Render(context.Background(), &buf, novemberQuery(FormatCSV, GroupRequester, ""), Rates{}, fixedNow, seq(ss), nil); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		for _, f := range r {
			if strings.HasPrefix(f, "=") {
				t.Errorf("cell %q starts a formula", f)
			}
		}
	}
}

func conversionsQuery(f Format) Query {
	q := novemberQuery(f, GroupRequester, "")
	q.Dataset = DatasetConversions
	return q
}
