package report

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/arrops/arrops/internal/browsertest"
	"github.com/chromedp/chromedp"
)

// TestHTMLInBrowser renders the golden dataset's page in Debian's Chromium and
// checks what a reader sees: the totals, the bars and their values, and that
// the hostile requester stays text. It saves a screenshot for a human look.
func TestHTMLInBrowser(t *testing.T) {
	browsertest.Require(t)
	pageHTML := renderHTML(t, novemberQuery(FormatHTML, GroupRequester, ""), testRates)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", FormatHTML.ContentType())
		w.Write([]byte(pageHTML))
	}))
	defer srv.Close()

	p, err := browsertest.Open(t, context.Background(), srv.URL, "total-hours", 30*time.Second)
	if err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	defer p.Close()

	type facts struct {
		Title        string  `json:"title"`
		TotalHours   string  `json:"totalHours"`
		TotalCost    string  `json:"totalCost"`
		DayBars      int     `json:"dayBars"`
		ReqBars      int     `json:"reqBars"`
		ConvRows     int     `json:"convRows"`
		PremiumNov05 string  `json:"premiumNov05"`
		AliceHours   string  `json:"aliceHours"`
		Scripts      int     `json:"scripts"`
		Images       int     `json:"images"`
		XSSText      bool    `json:"xssText"`
		XSSInMsg     bool    `json:"xssInMsg"`
		PageWidth    float64 `json:"pageWidth"`
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
			dayBars: qa('#chart-days rect.bar').length,
			reqBars: qa('#chart-requesters rect.bar').length,
			convRows: qa('#conversions tbody tr').length,
			premiumNov05: q('#chart-days rect.bar[data-date="2026-11-05"][data-size="Premium"]').dataset.hours,
			aliceHours: q('#chart-requesters rect.bar[data-requester="alice"]').dataset.hours,
			scripts: qa('script').length,
			images: qa('img').length,
			xssText: req,
			xssInMsg: msg,
			pageWidth: document.documentElement.scrollWidth,
		};
	})()`))
	if err != nil {
		t.Fatalf("reading the page: %v", err)
	}
	want := facts{
		Title: "ARR usage 2026-11-01 to 2026-11-23", TotalHours: "9.01", TotalCost: "72.23 USD",
		DayBars: 7, ReqBars: 6, ConvRows: 7, PremiumNov05: "2", AliceHours: "4",
		XSSText: true, XSSInMsg: true, PageWidth: 1280,
	}
	if got != want {
		t.Errorf("page facts:\n got %+v\nwant %+v", got, want)
	}
	if n := p.Dialogs(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}

	if err := p.Screenshot(t, "report", "report-"); err != nil {
		t.Fatal(err)
	}
}
