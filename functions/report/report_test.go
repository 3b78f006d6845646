package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/report"
	"github.com/arrops/arrops/internal/functest"
	rep "github.com/arrops/arrops/report"
	"github.com/arrops/arrops/trigger"
)

// reportNow is the report's "today".
var reportNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

type reportEnv struct {
	t    *testing.T
	ctx  context.Context
	fn   functions.Func
	logs *bytes.Buffer
}

func newReportEnv(t *testing.T, recs *functions.Lazy[report.Records]) *reportEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	cfg := functest.Config(t, "UseDevelopmentStorage=true", map[string]string{"ARR_RATE_STANDARD_PER_HOUR": "3", "ARR_RATE_PREMIUM_PER_HOUR": "12",
		"ARR_CURRENCY": "EUR"})
	return &reportEnv{t: t, ctx: ctx, logs: &bytes.Buffer{},
		fn: report.New(report.Deps{Config: cfg, Records: recs, Now: func() time.Time { return reportNow }})}
}

// get invokes the function with an HTTP trigger payload as the host builds it
// and returns the http output.
func (e *reportEnv) get(query map[string]string, accept string) trigger.HTTPResponse {
	e.t.Helper()
	h := map[string][]string{}
	if accept != "" {
		h["Accept"] = []string{accept}
	}
	body, err := trigger.EncodeHTTPInvocation(report.Binding, trigger.HTTPRequest{
		URL: "http://localhost:7071/api/report", Method: http.MethodGet, Query: query, Headers: h, Sys: trigger.NewSys("report", reportNow)})
	if err != nil {
		e.t.Fatal(err)
	}
	inv, err := trigger.DecodeInvocation(body)
	if err != nil {
		e.t.Fatal(err)
	}
	var out trigger.Response
	if err := e.fn(e.ctx, inv, &out, slog.New(slog.NewJSONHandler(e.logs, nil))); err != nil {
		e.t.Fatalf("the report function returned %v; HTTP errors must be answered, not retried", err)
	}
	res, ok, err := out.HTTPOutput(report.OutBinding)
	if err != nil || !ok {
		e.t.Fatalf("no http output: %v", err)
	}
	return res
}

func TestReportFunction(t *testing.T) {
	st := functest.Records()
	ctx := context.Background()
	day := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)
	seed := []*arrops.Session{
		// 2 h Standard for ann, 30 min Premium for bob; one session of ann's
		// that started two days before the range and ran into it (1 h counts).
		{ID: "r-1", Size: arrops.SizeStandard, Status: arrops.SessionStopped, RequestedBy: "ann", CreatedAt: day.Add(9 * time.Hour),
			ReadyAt: day.Add(9 * time.Hour), StoppedAt: day.Add(11 * time.Hour)},
		{ID: "r-2", Size: arrops.SizePremium, Status: arrops.SessionStopped, RequestedBy: "bob", CreatedAt: day.Add(10 * time.Hour),
			ReadyAt: day.Add(10 * time.Hour), StoppedAt: day.Add(10*time.Hour + 30*time.Minute)},
		{ID: "r-3", Size: arrops.SizeStandard, Status: arrops.SessionStopped, RequestedBy: "ann", CreatedAt: day.Add(-24*time.Hour - time.Hour),
			ReadyAt: day.Add(-time.Hour), StoppedAt: day.Add(time.Hour)},
	}
	for _, s := range seed {
		if _, _, err := st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	e := newReportEnv(t, functions.Value[report.Records](st))
	rng := map[string]string{"from": "2026-11-18", "to": "2026-11-19"}
	with := func(k, v string) map[string]string {
		q := map[string]string{}
		for a, b := range rng {
			q[a] = b
		}
		q[k] = v
		return q
	}

	t.Run("ContentTypes", func(t *testing.T) {
		cases := []struct {
			name   string
			query  map[string]string
			accept string
			ctype  string
		}{
			{"default json", rng, "", "application/json; charset=utf-8"},
			{"format csv", with("format", "csv"), "", "text/csv; charset=utf-8"},
			{"format html", with("format", "HTML"), "", "text/html; charset=utf-8"},
			{"accept csv", rng, "text/csv", "text/csv; charset=utf-8"},
			{"accept html", rng, "text/html,application/xhtml+xml;q=0.9", "text/html; charset=utf-8"},
			{"format wins over accept", with("format", "json"), "text/csv", "application/json; charset=utf-8"},
		}
		for _, c := range cases {
			res := e.get(c.query, c.accept)
			if res.StatusCode != http.StatusOK || res.Headers["Content-Type"] != c.ctype {
				t.Errorf("%s: %d %q, want 200 %q (%s)", c.name, res.StatusCode, res.Headers["Content-Type"], c.ctype, res.Body)
			}
			if res.Headers["Cache-Control"] != "no-store" || res.Headers["X-Content-Type-Options"] != "nosniff" {
				t.Errorf("%s: headers %v", c.name, res.Headers)
			}
		}
	})

	t.Run("Totals", func(t *testing.T) {
		res := e.get(rng, "")
		var doc map[string]any
		if err := json.Unmarshal([]byte(res.Body), &doc); err != nil {
			t.Fatalf("JSON body: %v: %s", err, res.Body)
		}
		// 2 h + 1 h Standard for ann, 0.5 h Premium for bob: 3*3 + 0.5*12 = 15 EUR.
		for _, want := range []string{`"r-1"`, `"r-2"`, `"r-3"`, `"ann"`, `"bob"`, `"EUR"`} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("JSON report lacks %s", want)
			}
		}
		if !strings.Contains(res.Body, `"hours":3.5`) && !strings.Contains(res.Body, `"hours": 3.5`) {
			t.Errorf("JSON report does not total 3.5 hours: %s", res.Body)
		}
		if !strings.Contains(res.Body, `"cost":15`) {
			t.Errorf("JSON report does not cost 15: %s", res.Body)
		}
		rows, err := csv.NewReader(strings.NewReader(e.get(with("format", "csv"), "").Body)).ReadAll()
		if err != nil || len(rows) < 4 {
			t.Fatalf("CSV: %v %v", err, rows)
		}
		html := e.get(with("format", "html"), "").Body
		if !strings.HasPrefix(strings.TrimSpace(strings.ToLower(html)), "<!doctype html>") || !strings.Contains(html, "ann") {
			t.Errorf("HTML report: %.200s", html)
		}
	})

	// The page's form and links keep the function key (the caller's own,
	// already in its address bar); the log never shows it, and the page is
	// sent with no referrer so its links do not pass it on.
	t.Run("FunctionKey", func(t *testing.T) {
		const key = "REDACTED-function-key"
		e.logs.Reset()
		q := with("format", "html")
		q["code"] = key
		res := e.get(q, "")
		if n := strings.Count(res.Body, key); n < 4 { // the form's hidden field and three links
			t.Errorf("the page carries the key %d times, want it in the form and the links", n)
		}
		if strings.Contains(e.logs.String(), key) {
			t.Errorf("the key was logged: %s", e.logs.String())
		}
		if res.Headers["Referrer-Policy"] != "no-referrer" || !strings.Contains(res.Headers["Content-Security-Policy"], "form-action 'self'") {
			t.Errorf("headers %v", res.Headers)
		}
		if js := e.get(map[string]string{"from": "2026-11-18", "code": key}, ""); strings.Contains(js.Body, key) {
			t.Error("the JSON report carries the key")
		}
	})

	t.Run("ConversionsDataset", func(t *testing.T) {
		q := with("format", "csv")
		q["dataset"] = "conversions"
		res := e.get(q, "")
		rows, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
		if err != nil || res.StatusCode != http.StatusOK || len(rows) < 1 || strings.Join(rows[0], ",") != strings.Join(rep.ConversionsCSVHeader, ",") {
			t.Errorf("conversions CSV: %d %v %q", res.StatusCode, err, res.Body)
		}
	})

	t.Run("BadQuery", func(t *testing.T) {
		cases := []struct {
			name  string
			query map[string]string
			param string
		}{
			{"bad from", map[string]string{"from": "18.11.2026"}, "from"},
			{"bad to", map[string]string{"to": "2026-13-01"}, "to"},
			{"to before from", map[string]string{"from": "2026-11-18", "to": "2026-11-01"}, "to"},
			{"too long", map[string]string{"from": "2020-01-01", "to": "2026-01-01"}, "to"},
			{"ancient", map[string]string{"from": "1999-12-31"}, "from"},
			{"groupBy", with("groupBy", "colour"), "groupBy"},
			{"empty tag", with("groupBy", "tag:"), "groupBy"},
			{"format", with("format", "xml"), "format"},
			{"dataset", with("dataset", "commands"), "dataset"},
		}
		for _, c := range cases {
			res := e.get(c.query, "text/html")
			if res.StatusCode != http.StatusBadRequest || !strings.HasPrefix(res.Headers["Content-Type"], "application/json") {
				t.Errorf("%s: %d %q, want 400 JSON", c.name, res.StatusCode, res.Headers["Content-Type"])
				continue
			}
			var b struct {
				Error struct{ Code, Parameter, Message string }
			}
			if err := json.Unmarshal([]byte(res.Body), &b); err != nil || b.Error.Parameter != c.param || b.Error.Message == "" {
				t.Errorf("%s: body %s, want parameter %q (%v)", c.name, res.Body, c.param, err)
			}
		}
	})

	// Storage failures are answered 500 with a generic message: the detail
	// (which may quote a URL) goes to the log only.
	t.Run("StorageDown", func(t *testing.T) {
		detail := "dial tcp 127.0.0.1:1: refused (https://acct.table.core.windows.net/?sig=SECRETSIG)"
		down := newReportEnv(t, &functions.Lazy[report.Records]{New: func(context.Context) (report.Records, error) {
			return nil, errors.New(detail)
		}})
		res := down.get(rng, "")
		if res.StatusCode != http.StatusInternalServerError || strings.Contains(res.Body, "SECRETSIG") || !strings.Contains(res.Body, "InternalError") {
			t.Errorf("%d %s", res.StatusCode, res.Body)
		}
		if !strings.Contains(down.logs.String(), "report failed") {
			t.Errorf("the failure was not logged: %s", down.logs.String())
		}
	})
}
