package report

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops/internal/browsertest"
	"github.com/chromedp/chromedp"
)

// TestHTMLInBrowser serves the golden dataset's report over HTTP (parsing
// the query as the function does) in Debian's Chromium and checks what a
// reader sees: the totals, the bars and their values, the axis ticks, the
// sessions table, savings and waste, that the hostile requester stays text,
// and that the form lands on the range it was given, keeping the key. It
// saves screenshots for a human look.
func TestHTMLInBrowser(t *testing.T) {
	browsertest.Require(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := ParseQuery(r.URL.Query(), r.Header.Get("Accept"), fixedNow)
		if err != nil {
			status, _, body := ErrorResponse(err)
			w.WriteHeader(status)
			w.Write(body)
			return
		}
		ss, cs := dataset()
		w.Header().Set("Content-Type", q.Format.ContentType())
		if err := Render(r.Context(), w, q, testRates, fixedNow, seq(ss), seq(cs)); err != nil {
			t.Errorf("render: %v", err)
		}
	}))
	defer srv.Close()

	p, err := browsertest.Open(t, context.Background(), srv.URL+"/api/report?from=2026-11-01&to=2026-11-23&format=html&code=REDACTED-key", "total-hours", 30*time.Second)
	if err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	defer p.Close()

	type facts struct {
		Title        string `json:"title"`
		TotalHours   string `json:"totalHours"`
		TotalCost    string `json:"totalCost"`
		Saved        string `json:"saved"`
		Wasted       string `json:"wasted"`
		DayBars      int    `json:"dayBars"`
		ReqBars      int    `json:"reqBars"`
		ConvRows     int    `json:"convRows"`
		RejectedRows int    `json:"rejectedRows"`
		SessionIDs   string `json:"sessionIds"`
		PremiumNov05 string `json:"premiumNov05"`
		AliceHours   string `json:"aliceHours"`
		Scripts      int    `json:"scripts"`
		Images       int    `json:"images"`
		XSSText      bool   `json:"xssText"`
		XSSInMsg     bool   `json:"xssInMsg"`
		PageWidth    int    `json:"pageWidth"`
		CSVLink      string `json:"csvLink"`
	}
	got, err := chromedp.Run(p.Ctx, chromedp.Evaluate[facts](`(() => {
		const q = s => document.querySelector(s);
		const qa = s => document.querySelectorAll(s);
		const req = [...qa('#chart-requesters text')].some(e => e.textContent === '<script>alert(1)</script>');
		const msg = [...qa('#conversions td.msg')].some(e => e.textContent === '<script>alert(1)</script>');
		return {
			title: document.title,
			totalHours: q('#total-hours').textContent,
			totalCost: q('#total-cost').textContent,
			saved: q('#saved').textContent,
			wasted: q('#wasted').textContent,
			dayBars: qa('#chart-days rect.bar').length,
			reqBars: qa('#chart-requesters rect.bar').length,
			convRows: qa('#conversions tbody tr').length,
			rejectedRows: qa('#rejected tbody tr').length,
			sessionIds: [...qa('#sessions tbody tr')].map(r => r.dataset.id).join(' '),
			premiumNov05: q('#chart-days rect.bar[data-date="2026-11-05"][data-size="Premium"]').dataset.hours,
			aliceHours: q('#chart-requesters rect.bar[data-requester="alice"]').dataset.hours,
			scripts: qa('script').length,
			images: qa('img').length,
			xssText: req,
			xssInMsg: msg,
			pageWidth: document.documentElement.scrollWidth,
			csvLink: new URL(q('#link-csv').href).search,
		};
	})()`))
	if err != nil {
		t.Fatalf("reading the page: %v", err)
	}
	want := facts{
		Title: "ARR usage 2026-11-01 to 2026-11-23 by requester", TotalHours: "9.01 h", TotalCost: "72.23 USD",
		Saved: "10.52 USD", Wasted: "50.00 USD",
		DayBars: 7, ReqBars: 6, ConvRows: 6, RejectedRows: 2,
		// Newest created first; s-outside billed nothing in the range.
		SessionIDs:   "s-starting s-running s-formula s-xss s-ready-missing s-error-never s-error-ready s-midnight s-month-end",
		PremiumNov05: "2", AliceHours: "4",
		XSSText: true, XSSInMsg: true, PageWidth: 1280,
		CSVLink: "?code=REDACTED-key&format=csv&from=2026-11-01&groupBy=requester&to=2026-11-23",
	}
	if got != want {
		t.Errorf("page facts:\n got %+v\nwant %+v", got, want)
	}
	browsertest.CheckChartText(t, p, "#chart-days", "#chart-requesters")
	if err := p.Screenshot(t, "report", "report-"); err != nil {
		t.Fatal(err)
	}

	// Printed on A4: nothing wider than the page, no form or links.
	if err := p.EmulatePrint(browsertest.A4Width); err != nil {
		t.Fatal(err)
	}
	type printed struct {
		Width    int  `json:"width"`
		Controls bool `json:"controls"`
	}
	pr, err := chromedp.Run(p.Ctx, chromedp.Evaluate[printed](`({width: document.documentElement.scrollWidth,
		controls: document.getElementById('controls').getBoundingClientRect().height > 0 || document.getElementById('links').getBoundingClientRect().height > 0})`))
	if err != nil {
		t.Fatal(err)
	}
	if pr.Width > browsertest.A4Width || pr.Controls {
		t.Errorf("printed on A4: %d px wide (page %d), form or links shown: %v", pr.Width, browsertest.A4Width, pr.Controls)
	}
	if err := p.Screenshot(t, "report", "report-print-"); err != nil {
		t.Fatal(err)
	}
	if err := p.EmulateScreen(); err != nil {
		t.Fatal(err)
	}

	// The form: a new range and a tag grouping, submitted as a reader would.
	if err := chromedp.Do(p.Ctx,
		chromedp.SetValue(chromedp.ID("from"), "2026-11-05"),
		chromedp.SetValue(chromedp.ID("to"), "2026-11-10"),
		chromedp.SetValue(chromedp.ID("groupBy"), "tag"),
		chromedp.SetValue(chromedp.ID("tagKey"), "project"),
		chromedp.Click(chromedp.ID("submit")),
	); err != nil {
		t.Fatalf("submitting the form: %v", err)
	}
	if err := browsertest.WaitFor(p, `document.title.includes("2026-11-05") && document.readyState === "complete"`, 10*time.Second); err != nil {
		t.Fatalf("waiting for the new range: %v", err)
	}
	type after struct {
		Title, Search, Range, GroupRows string
	}
	a, err := chromedp.Run(p.Ctx, chromedp.Evaluate[after](`({
		Title: document.title, Search: location.search, Range: document.querySelector('#range').textContent,
		GroupRows: [...document.querySelectorAll('#groups td.key')].map(e => e.textContent).join('|'),
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "ARR usage 2026-11-05 to 2026-11-10 by tag project" || !strings.Contains(a.Search, "code=REDACTED-key") ||
		!strings.HasPrefix(a.Range, "2026-11-05 to 2026-11-10 (UTC") || a.GroupRows != "(untagged)|plant-7" {
		t.Errorf("after submitting the form: %+v", a)
	}
	if n := p.Dialogs(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
	if err := p.Screenshot(t, "report", "report-form-"); err != nil {
		t.Fatal(err)
	}
}
