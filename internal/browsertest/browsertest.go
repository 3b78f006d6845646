// Package browsertest opens pages in Debian's Chromium, headless, for tests
// that check what a reader sees: one tab with a fresh profile and a 1280×900
// window, a count of the JavaScript dialogs the page opens, and full-page
// screenshots kept for a human look.
//
// It is test support: only _test.go files import it, never production code.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium, which .ci/run installs.
const ChromiumPath = "/usr/bin/chromium"

// Width and Height are the window and viewport size of every page.
const (
	Width  = 1280
	Height = 900
)

// Require skips tb under -short or when Chromium is not installed, but fails
// it under CI (CI=true) without Chromium, where a silent skip would hide a
// broken setup.
func Require(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("starts Chromium: skipped under -short")
	}
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("CI is set but %s is missing (.ci/run installs Debian's chromium): %v", ChromiumPath, err)
		}
		tb.Skipf("%s not installed", ChromiumPath)
	}
}

// Page is a loaded page in its own headless Chromium.
type Page struct {
	// Ctx runs steps in the page's tab, bounded by Open's timeout.
	Ctx     context.Context
	dialogs atomic.Int32
	cancels []context.CancelFunc
}

// Open starts Chromium under parent (with a profile in tb's temporary
// directory), loads url and waits until the element with id readyID is
// ready. timeout bounds the loading and every later step on Ctx. Close the
// page to stop the browser; on an error Open has already stopped it.
func Open(tb testing.TB, parent context.Context, url, readyID string, timeout time.Duration) (*Page, error) {
	tb.Helper()
	p := &Page{}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent,
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(Width, Height),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	p.cancels = append(p.cancels, cancelAlloc, cancel)
	// The first Run starts the browser and must not carry the timeout (it
	// would stop the browser with it); later steps use a bounded child.
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			p.dialogs.Add(1)
		}
	}); err != nil {
		p.Close()
		return nil, fmt.Errorf("starting chromium: %w", err)
	}
	var tcancel context.CancelFunc
	p.Ctx, tcancel = context.WithTimeout(ctx, timeout)
	p.cancels = append(p.cancels, tcancel)
	if err := chromedp.Do(p.Ctx,
		chromedp.EmulateViewport(Width, Height),
		chromedp.Navigate(url),
		chromedp.WaitReady(chromedp.ID(readyID)),
	); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Dialogs is how many JavaScript dialogs the page has opened so far.
func (p *Page) Dialogs() int { return int(p.dialogs.Load()) }

// Close stops the browser.
func (p *Page) Close() {
	for i := len(p.cancels) - 1; i >= 0; i-- {
		p.cancels[i]()
	}
}

// Screenshot writes a full-page PNG of the page, named prefix and tb's name,
// under $ARROPS_ARTIFACTS/sub (when set, so CI keeps it) or tb's temporary
// directory, and logs its path.
func (p *Page) Screenshot(tb testing.TB, sub, prefix string) error {
	tb.Helper()
	shot, err := chromedp.Run(p.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	dir := tb.TempDir()
	if out := os.Getenv("ARROPS_ARTIFACTS"); out != "" {
		dir = filepath.Join(out, sub)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	path := filepath.Join(dir, prefix+strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name())+".png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		return err
	}
	tb.Logf("screenshot: %s", path)
	return nil
}

// chartTextJS lists, for the SVG chart matching the selector, the tick
// labels that are not plain decimals (float artifacts such as
// 0.30000000000000004 have more than three decimals), every text whose box
// leaves the chart's viewBox, and the axis titles.
const chartTextJS = `((sel) => {
	const svg = document.querySelector(sel);
	if (!svg) return {missing: true};
	const vb = svg.viewBox.baseVal;
	const bad = [], outside = [], titles = [];
	let ticks = 0;
	for (const t of svg.querySelectorAll('text')) {
		const b = t.getBBox();
		if (t.textContent.trim() !== '' && (b.x < vb.x - 0.5 || b.y < vb.y - 0.5 || b.x + b.width > vb.x + vb.width + 0.5 || b.y + b.height > vb.y + vb.height + 0.5)) {
			outside.push(t.textContent + ' at ' + [b.x, b.y, b.width, b.height].map(v => v.toFixed(1)).join(','));
		}
		if (t.classList.contains('ytick') || (t.classList.contains('xtick') && !/^\d\d-\d\d$/.test(t.textContent))) {
			ticks++;
			if (!/^\d+(\.\d{1,3})?$/.test(t.textContent)) bad.push(t.textContent);
		}
		if (t.classList.contains('axis-title')) titles.push(t.textContent);
	}
	return {missing: false, ticks: ticks, bad: bad, outside: outside, titles: titles};
})`

// CheckChartText fails tb unless each SVG chart (a CSS selector) has
// numeric tick labels without float artifacts, every text inside its
// viewBox, and axis titles that name a unit in parentheses.
func CheckChartText(tb testing.TB, p *Page, selectors ...string) {
	tb.Helper()
	type result struct {
		Missing bool     `json:"missing"`
		Ticks   int      `json:"ticks"`
		Bad     []string `json:"bad"`
		Outside []string `json:"outside"`
		Titles  []string `json:"titles"`
	}
	for _, sel := range selectors {
		arg, _ := json.Marshal(sel)
		r, err := chromedp.Run(p.Ctx, chromedp.Evaluate[result]("("+chartTextJS+")("+string(arg)+")"))
		if err != nil {
			tb.Errorf("%s: %v", sel, err)
			continue
		}
		if r.Missing {
			tb.Errorf("%s: no such chart", sel)
			continue
		}
		if r.Ticks < 2 || len(r.Bad) > 0 {
			tb.Errorf("%s: %d tick labels, not plain numbers: %q", sel, r.Ticks, r.Bad)
		}
		if len(r.Outside) > 0 {
			tb.Errorf("%s: text outside the chart: %q", sel, r.Outside)
		}
		if len(r.Titles) == 0 {
			tb.Errorf("%s: no axis title", sel)
		}
		for _, title := range r.Titles {
			if !strings.Contains(title, "(") {
				tb.Errorf("%s: axis title %q names no unit", sel, title)
			}
		}
	}
}

// WaitFor polls the JavaScript condition every 50 ms until it is true or
// timeout passes. Errors while the page navigates (its context goes away
// under the evaluation) are retried, which chromedp's Poll does not do.
func WaitFor(p *Page, condition string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(p.Ctx, chromedp.Evaluate[bool](condition))
		if err == nil && ok {
			return nil
		}
		last = err
		select {
		case <-p.Ctx.Done():
			return p.Ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if last != nil {
		return fmt.Errorf("%s: not true after %s (last error: %w)", condition, timeout, last)
	}
	return fmt.Errorf("%s: not true after %s", condition, timeout)
}

// A4Width is the printable width of an A4 page with 12 mm margins
// (186 mm) in CSS pixels, the width a print stylesheet must fit.
const A4Width = 703

// EmulatePrint lays the page out as the browser prints it: print media
// and a viewport width wide (A4Width for A4). EmulateScreen undoes it.
func (p *Page) EmulatePrint(width int64) error {
	return p.emulate(width, "print")
}

// EmulateScreen restores screen media and the Width×Height viewport.
func (p *Page) EmulateScreen() error {
	return p.emulate(Width, "")
}

func (p *Page) emulate(width int64, media string) error {
	return chromedp.Do(p.Ctx, chromedp.EmulateViewport(width, Height),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: media})
			return err
		}))
}
