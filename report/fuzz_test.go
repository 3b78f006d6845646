package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/modroot"
)

// httpFixtureQuery returns the raw query and Accept header of the captured
// report request in the shared Functions fixtures.
func httpFixtureQuery(t testing.TB) (string, string) {
	shared, err := modroot.Shared()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(shared, "fixtures", "functions", "http-trigger-get.json"))
	if err != nil {
		t.Fatal(err)
	}
	var inv struct {
		Data struct {
			Req struct {
				URL     string              `json:"Url"`
				Headers map[string][]string `json:"Headers"`
			} `json:"req"`
		} `json:"Data"`
	}
	if err := json.Unmarshal(b, &inv); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(inv.Data.Req.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.RawQuery, strings.Join(inv.Data.Req.Headers["Accept"], ",")
}

func TestParseQueryFixture(t *testing.T) {
	raw, accept := httpFixtureQuery(t)
	v, _ := url.ParseQuery(raw)
	q, err := ParseQuery(v, accept, ts("2026-11-23T12:44:12Z"))
	if err != nil {
		t.Fatal(err)
	}
	if q.Format != FormatCSV || q.From.Format(dateLayout) != "2026-11-01" || q.To.Format(dateLayout) != "2026-11-23" {
		t.Errorf("query = %+v", q)
	}
}

func FuzzParseQuery(f *testing.F) {
	raw, accept := httpFixtureQuery(f)
	f.Add(raw, accept)
	f.Add("", "")
	f.Add("from=2026-11-10&to=2026-11-09", "text/html")
	f.Add("groupBy=tag:project&format=html", "*/*")
	f.Add("from=2024-01-01&to=2024-12-31&groupBy=DAY", "text/html;q=0.5, text/csv")
	f.Add("groupBy=tag:%ff&from=9999-12-31", "text/csv;q=x")
	now := ts("2026-11-23T12:44:12Z")
	f.Fuzz(func(t *testing.T, raw, accept string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseQuery(v, accept, now)
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParamError", err)
			}
			switch pe.Param {
			case "from", "to", "groupBy", "format":
			default:
				t.Fatalf("ParamError names %q", pe.Param)
			}
			_, _, body := ErrorResponse(err)
			if !json.Valid(body) || !utf8.Valid(body) {
				t.Fatalf("error body %q", body)
			}
			return
		}
		if q.To.Before(q.From) || q.Days() < 1 || q.Days() > MaxRangeDays {
			t.Fatalf("range %v..%v", q.From, q.To)
		}
		if q.From.Location() != time.UTC || !q.From.Equal(q.From.Truncate(24*time.Hour)) || !q.To.Equal(q.To.Truncate(24*time.Hour)) {
			t.Fatalf("from/to not UTC midnights: %v %v", q.From, q.To)
		}
		switch q.Format {
		case FormatJSON, FormatCSV, FormatHTML:
		default:
			t.Fatalf("format %q", q.Format)
		}
		switch q.GroupBy {
		case GroupRequester, GroupSize, GroupDay:
		case GroupTag:
			if q.TagKey == "" {
				t.Fatal("tag grouping without key")
			}
		default:
			t.Fatalf("groupBy %q", q.GroupBy)
		}
	})
}

func FuzzRender(f *testing.F) {
	f.Add(xss, "project", `<img src=x onerror=alert(2)>`, "javascript:alert(3)", "Standard", "Stopped", int64(-90), int64(240), int64(60), true)
	f.Add("=cmd|' /C calc'!A0", "k", "", "", "Premium", "Ready", int64(600), int64(0), int64(0), false)
	f.Add("\xff\xfe", "\x00", "\"", "\r\n,\"", "huge", "Error", int64(-1<<40), int64(1<<40), int64(-5), true)
	f.Fuzz(func(t *testing.T, requester, tagKey, tagValue, errMsg, size, status string, readyOff, minutes, convSecs int64, rates bool) {
		base := ts("2026-11-10T12:00:00Z")
		clampMin := func(m int64) time.Duration { // stay inside time.Time's range
			if m > 1e8 {
				m = 1e8
			} else if m < -1e8 {
				m = -1e8
			}
			return time.Duration(m) * time.Minute
		}
		ready := base.Add(clampMin(readyOff))
		ss := []*arrops.Session{
			{ID: "s1", Size: arrops.SessionSize(size), Status: arrops.SessionStatus(status), RequestedBy: requester,
				Tags: map[string]string{tagKey: tagValue}, CreatedAt: ready.Add(-time.Minute), ReadyAt: ready,
				StoppedAt: ready.Add(clampMin(minutes)), ErrorMessage: errMsg, ErrorCode: errMsg,
				StopReason: "policy " + tagKey + ": " + errMsg, MaxLeaseMinutes: int(convSecs % 1441), ExtendedUntil: ready.Add(clampMin(readyOff))},
			{ID: "s2", Size: arrops.SizeStandard, Status: arrops.SessionStatus(status), RequestedBy: tagValue, CreatedAt: base},
		}
		cs := []*arrops.Conversion{
			{ID: "c1", InputContainer: tagKey, InputPath: tagValue, Status: arrops.ConversionFailed, ErrorCode: errMsg, ErrorMessage: errMsg,
				CreatedAt: base, CompletedAt: base.Add(time.Duration(convSecs%1e6) * time.Second)},
			{ID: "c2", Status: arrops.ConversionRejected, ErrorCode: errMsg, ErrorMessage: requester, CreatedAt: base, CompletedAt: base},
			{ID: "c3", InputPath: requester, OutputURI: errMsg, Status: arrops.ConversionSucceeded, CreatedAt: base, CompletedAt: base.Add(time.Minute)},
		}
		r := Rates{}
		if rates {
			r = Rates{Standard: 2.5, Premium: 10, Set: true, Currency: tagValue}
		}
		for _, groupBy := range []string{GroupRequester, GroupTag, GroupDay} {
			for _, format := range []Format{FormatJSON, FormatCSV, FormatHTML} {
				q := novemberQuery(format, groupBy, tagKey)
				var buf bytes.Buffer
				if err := Render(context.Background(), &buf, q, r, fixedNow, seq(ss), seq(cs)); err != nil {
					t.Fatalf("%s %s: %v", format, groupBy, err)
				}
				out := buf.Bytes()
				if !utf8.Valid(out) {
					t.Fatalf("%s %s: invalid UTF-8", format, groupBy)
				}
				switch format {
				case FormatJSON:
					if !json.Valid(out) {
						t.Fatalf("invalid JSON:\n%s", out)
					}
				case FormatCSV:
					recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
					if err != nil {
						t.Fatalf("invalid CSV: %v\n%s", err, out)
					}
					if recs[len(recs)-1][0] != "total" {
						t.Fatalf("last CSV row is %q", recs[len(recs)-1])
					}
				case FormatHTML:
					if bytes.Contains(out, []byte("<script")) || bytes.Contains(out, []byte("<img")) ||
						bytes.Contains(bytes.ToLower(out), []byte(`href="javascript:`)) {
						t.Fatalf("record text became markup:\n%s", out)
					}
				}
			}
		}
		for _, format := range []Format{FormatJSON, FormatCSV} {
			q := novemberQuery(format, GroupRequester, "")
			q.Dataset = DatasetConversions
			var buf bytes.Buffer
			if err := Render(context.Background(), &buf, q, r, fixedNow, seq(ss), seq(cs)); err != nil {
				t.Fatalf("conversions %s: %v", format, err)
			}
			if format == FormatJSON && !json.Valid(buf.Bytes()) {
				t.Fatalf("invalid JSON:\n%s", buf.Bytes())
			}
			if format == FormatCSV {
				recs, err := csv.NewReader(&buf).ReadAll()
				if err != nil || len(recs) != 4 {
					t.Fatalf("conversions CSV: %d records, %v", len(recs), err)
				}
			}
		}
	})
}
