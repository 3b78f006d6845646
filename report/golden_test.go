package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
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
				for i, r := range recs {
					if len(r) != len(CSVHeader) {
						t.Fatalf("record %d has %d fields, want %d", i, len(r), len(CSVHeader))
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
		Sessions []SessionRow `json:"sessions"`
		Groups   []Group      `json:"groups"`
		Days     []Day        `json:"days"`
		Totals   Totals       `json:"totals"`
		Conv     struct {
			Count       int           `json:"count"`
			SuccessRate float64       `json:"successRate"`
			Median      float64       `json:"medianSeconds"`
			P95         float64       `json:"p95Seconds"`
			Top         []FailureCode `json:"topFailureCodes"`
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
	// finished: 3 succeeded (240, 600, 3600 s), 2 failed (60, 120 s), 1 rejected (0 s: no duration)
	if c.Count != 7 || c.SuccessRate != 0.5 || c.Median != 240 || c.P95 != round(600+0.8*3000, 1) {
		t.Errorf("conversions = %+v", c)
	}
	if len(c.Top) != 2 || c.Top[0] != (FailureCode{"InvalidInput", 2}) || c.Top[1] != (FailureCode{"(Rejected)", 1}) {
		t.Errorf("top failures = %+v", c.Top)
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
