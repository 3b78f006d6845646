package report

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	now := ts("2026-11-23T12:44:12Z")
	tests := []struct {
		name      string
		raw       string
		accept    string
		from, to  string
		groupBy   string
		format    Format
		wantParam string // non-empty: a *ParamError naming it
	}{
		{"defaults: this month to today", "", "", "2026-11-01", "2026-11-23", "requester", FormatJSON, ""},
		{"explicit range", "from=2026-10-01&to=2026-10-31", "", "2026-10-01", "2026-10-31", "requester", FormatJSON, ""},
		{"from only: to today", "from=2026-11-10", "", "2026-11-10", "2026-11-23", "requester", FormatJSON, ""},
		{"from only in the future: one day", "from=2026-12-05", "", "2026-12-05", "2026-12-05", "requester", FormatJSON, ""},
		{"to only: its month", "to=2026-02-14", "", "2026-02-01", "2026-02-14", "requester", FormatJSON, ""},
		{"single day", "from=2026-11-05&to=2026-11-05", "", "2026-11-05", "2026-11-05", "requester", FormatJSON, ""},
		{"366 days", "from=2024-01-01&to=2024-12-31", "", "2024-01-01", "2024-12-31", "requester", FormatJSON, ""},
		{"groupBy size any case", "groupBy=SIZE", "", "2026-11-01", "2026-11-23", "size", FormatJSON, ""},
		{"groupBy day", "groupBy=day", "", "2026-11-01", "2026-11-23", "day", FormatJSON, ""},
		{"groupBy tag keeps key case", "groupBy=tag:Project", "", "2026-11-01", "2026-11-23", "tag:Project", FormatJSON, ""},
		{"format csv", "format=csv", "text/html", "2026-11-01", "2026-11-23", "requester", FormatCSV, ""},
		{"format HTML any case", "format=HTML", "", "2026-11-01", "2026-11-23", "requester", FormatHTML, ""},
		{"accept html (browser)", "", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "2026-11-01", "2026-11-23", "requester", FormatHTML, ""},
		{"accept csv", "", "text/csv", "2026-11-01", "2026-11-23", "requester", FormatCSV, ""},
		{"accept q values", "", "text/html;q=0.5, text/csv", "2026-11-01", "2026-11-23", "requester", FormatCSV, ""},
		{"accept wildcard", "", "*/*", "2026-11-01", "2026-11-23", "requester", FormatJSON, ""},
		{"accept q=0 refuses", "", "text/html;q=0", "2026-11-01", "2026-11-23", "requester", FormatJSON, ""},
		{"function key ignored", "code=abc&from=2026-11-01&format=csv", "text/csv", "2026-11-01", "2026-11-23", "requester", FormatCSV, ""},
		{"form: groupBy tag with tagKey", "groupBy=tag&tagKey=project", "", "2026-11-01", "2026-11-23", "tag:project", FormatJSON, ""},
		{"form: tagKey ignored for other groupings", "groupBy=size&tagKey=project", "", "2026-11-01", "2026-11-23", "size", FormatJSON, ""},
		{"dataset conversions", "dataset=Conversions&format=csv", "", "2026-11-01", "2026-11-23", "requester", FormatCSV, ""},
		{"form: groupBy tag without tagKey", "groupBy=tag&tagKey=", "", "", "", "", "", "groupBy"},
		{"bad dataset", "dataset=commands", "", "", "", "", "", "dataset"},
		{"tagKey twice", "groupBy=tag&tagKey=a&tagKey=b", "", "", "", "", "", "tagKey"},

		{"bad from", "from=2026-13-01", "", "", "", "", "", "from"},
		{"from not a date", "from=yesterday", "", "", "", "", "", "from"},
		{"from short form", "from=2026-1-5", "", "", "", "", "", "from"},
		{"from with time", "from=2026-11-01T00:00:00Z", "", "", "", "", "", "from"},
		{"from too old", "from=0001-01-01", "", "", "", "", "", "from"},
		{"from twice", "from=2026-11-01&from=2026-11-02", "", "", "", "", "", "from"},
		{"bad to", "to=2026-02-30", "", "", "", "", "", "to"},
		{"to before from", "from=2026-11-10&to=2026-11-09", "", "", "", "", "", "to"},
		{"range too long", "from=2025-01-01&to=2026-01-02", "", "", "", "", "", "to"},
		{"bad groupBy", "groupBy=color", "", "", "", "", "", "groupBy"},
		{"tag without key", "groupBy=tag:", "", "", "", "", "", "groupBy"},
		{"tag key too long", "groupBy=tag:" + strings.Repeat("k", 300), "", "", "", "", "", "groupBy"},
		{"tag key bad UTF-8", "groupBy=tag:%ff", "", "", "", "", "", "groupBy"},
		{"groupBy twice", "groupBy=size&groupBy=day", "", "", "", "", "", "groupBy"},
		{"bad format", "format=xml", "", "", "", "", "", "format"},
		{"format twice", "format=csv&format=json", "", "", "", "", "", "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			q, err := ParseQuery(v, tt.accept, now)
			if tt.wantParam != "" {
				var pe *ParamError
				if !errors.As(err, &pe) || pe.Param != tt.wantParam || pe.Problem == "" {
					t.Fatalf("err = %v, want a ParamError naming %s", err, tt.wantParam)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := q.From.Format(dateLayout); got != tt.from {
				t.Errorf("from = %s, want %s", got, tt.from)
			}
			if got := q.To.Format(dateLayout); got != tt.to {
				t.Errorf("to = %s, want %s", got, tt.to)
			}
			if q.GroupLabel() != tt.groupBy || q.Format != tt.format {
				t.Errorf("groupBy %s format %s, want %s %s", q.GroupLabel(), q.Format, tt.groupBy, tt.format)
			}
			wantDS := DatasetSessions
			if v.Get("dataset") != "" {
				wantDS = strings.ToLower(v.Get("dataset"))
			}
			if q.Dataset != wantDS || q.Code != v.Get("code") {
				t.Errorf("dataset %q code %q, want %q %q", q.Dataset, q.Code, wantDS, v.Get("code"))
			}
		})
	}
}

func TestErrorResponse(t *testing.T) {
	_, err := ParseQuery(url.Values{"from": {"2026-02-30"}}, "", fixedNow)
	status, h, body := ErrorResponse(err)
	if status != http.StatusBadRequest || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("status %d, headers %v", status, h)
	}
	var got struct {
		Error struct{ Code, Parameter, Message string } `json:"error"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Error.Code != "BadRequest" || got.Error.Parameter != "from" || !strings.Contains(got.Error.Message, "2026-02-30") {
		t.Errorf("body = %s", body)
	}

	status, _, body = ErrorResponse(errors.New("GET https://acct.table.core.windows.net/?sig=SECRET: 403"))
	if status != http.StatusInternalServerError || strings.Contains(string(body), "SECRET") {
		t.Errorf("internal error answer = %d %s", status, body)
	}
}

func TestFormatContentType(t *testing.T) {
	for f, want := range map[Format]string{FormatJSON: "application/json", FormatCSV: "text/csv", FormatHTML: "text/html"} {
		if got := f.ContentType(); !strings.HasPrefix(got, want) || !strings.Contains(got, "utf-8") {
			t.Errorf("%s: %s", f, got)
		}
	}
}
