package report

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// TestHTMLInBrowser renders the golden dataset's page in Debian's Chromium and
// checks what a reader sees: the totals, the bars and their values, and that
// the hostile requester stays text. It saves a screenshot for a human look.
func TestHTMLInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("%s not installed", chromiumPath)
	}
	pageHTML := renderHTML(t, novemberQuery(FormatHTML, GroupRequester, ""), testRates)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", FormatHTML.ContentType())
		w.Write([]byte(pageHTML))
	}))
	defer srv.Close()

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()

	// The first Run starts the browser and must not carry the timeout (it
	// would stop the browser); later steps are bounded through a derived ctx.
	var dialogs atomic.Int32
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
		}
	}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
	defer tcancel()

	if err := chromedp.Do(tctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(srv.URL),
		chromedp.WaitReady(chromedp.ID("total-hours")),
	); err != nil {
		t.Fatalf("loading the page: %v", err)
	}

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
	got, err := chromedp.Run(tctx, chromedp.Evaluate[facts](`(() => {
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
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}

	shot, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := t.TempDir()
	if out := os.Getenv("ARROPS_ARTIFACTS"); out != "" {
		dir = filepath.Join(out, "report")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "report-"+strings.ReplaceAll(t.Name(), "/", "_")+".png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
