package report

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops"
)

func renderHTML(t testing.TB, q Query, rates Rates) string {
	t.Helper()
	ss, cs := dataset()
	var buf bytes.Buffer
	if err := Render(context.Background(), &buf, q, rates, fixedNow, seq(ss), seq(cs)); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestHTMLEscapesRecordStrings(t *testing.T) {
	for _, groupBy := range []string{GroupRequester, GroupTag} {
		t.Run(groupBy, func(t *testing.T) {
			page := renderHTML(t, novemberQuery(FormatHTML, groupBy, "project"), testRates)
			for _, bad := range []string{"<script", "<img", "onerror=alert"} {
				// onerror= survives only inside escaped text, where its < is &lt;.
				if bad == "onerror=alert" {
					if regexp.MustCompile(`<[^>]*onerror=`).MatchString(page) {
						t.Errorf("an element carries onerror")
					}
					continue
				}
				if strings.Contains(page, bad) {
					t.Errorf("page contains %q unescaped", bad)
				}
			}
			if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Error("the XSS requester is not shown as escaped text")
			}
			if groupBy == GroupTag && !strings.Contains(page, "&lt;img src=x onerror=alert(2)&gt;") {
				t.Error("the XSS tag value is not shown as escaped text")
			}
		})
	}
}

func TestHTMLContent(t *testing.T) {
	page := renderHTML(t, novemberQuery(FormatHTML, GroupRequester, ""), testRates)
	checks := []string{
		"<title>ARR usage 2026-11-01 to 2026-11-23 by requester</title>",
		`<h1 id="title">ARR usage 2026-11-01 to 2026-11-23 by requester</h1>`,
		`id="total-hours">9.01 h<`,
		`id="saved">10.52 <span class="cur">USD</span><`,
		`id="wasted">50.00 <span class="cur">USD</span><`,
		`<a href="https://devstoreaccount1.blob.core.windows.net/arr-output/plant/robot.arrAsset" rel="noreferrer">arr-output/plant/robot.arrAsset</a>`,
		`<meta name="referrer" content="no-referrer">`,
		`<code>UndecodableEvent</code> (1)`,
		`role="img" aria-labelledby="chart-days-title chart-days-desc"`,
		`<option value="requester" selected>requester</option>`,
		`href="?format=csv&amp;from=2026-11-01&amp;groupBy=requester&amp;to=2026-11-23"`,
		`href="?dataset=conversions&amp;format=csv&amp;from=2026-11-01&amp;groupBy=requester&amp;to=2026-11-23"`,
		"@page{size:A4",
		`id="total-cost">72.23 <span class="cur">USD</span><`,
		`data-date="2026-11-05" data-size="Premium" data-hours="2"`,
		`data-requester="alice" data-hours="4"`,
		`<td class="msg">the FBX file is corrupt</td>`,
	}
	for _, c := range checks {
		if !strings.Contains(page, c) {
			t.Errorf("page lacks %s", c)
		}
	}
	// Seven non-empty (day, size) cells; six requesters (carol at 0 h); six
	// conversions ARR ran and two rejected records in range; nine sessions.
	if n := strings.Count(page, `<rect class="bar" x=`); n != 13 {
		t.Errorf("%d bars, want 13", n)
	}
	for table, want := range map[string]int{"conversions": 6, "rejected": 2, "sessions": 9} {
		m := regexp.MustCompile(`(?s)<table id="` + table + `"[^>]*>.*?</table>`).FindString(page)
		if n := strings.Count(m, `<tr class="`); n != want {
			t.Errorf("%d %s rows, want %d", n, table, want)
		}
	}
	if strings.Contains(page, "rates-note") {
		t.Error("rates note shown although rates are set")
	}
	for _, ext := range []string{"<script", "src=\"http", "<link", "url("} {
		if strings.Contains(page, ext) {
			t.Errorf("page is not self-contained: %s", ext)
		}
	}
	// The only absolute addresses are links to output assets, which load nothing.
	if m := regexp.MustCompile(`<[^a][^>]*href="http`).FindString(page); m != "" {
		t.Errorf("page is not self-contained: %s", m)
	}

	noRates := renderHTML(t, novemberQuery(FormatHTML, GroupRequester, ""), Rates{})
	if !strings.Contains(noRates, "no rates configured") || strings.Contains(noRates, "total-cost") {
		t.Error("without rates the page must say so and show no cost")
	}
}

func TestHTMLManyRequestersAndEmpty(t *testing.T) {
	var ss []*arrops.Session
	for i := range 40 {
		ss = append(ss, &arrops.Session{ID: fmt.Sprint("s", i), Size: arrops.SizeStandard, Status: arrops.SessionStopped,
			RequestedBy: fmt.Sprintf("requester-%02d-with-a-rather-long-name-that-goes-on", i),
			ReadyAt:     ts("2026-11-03T10:00:00Z"), StoppedAt: ts("2026-11-03T10:00:00Z").Add(time.Duration(i+1) * time.Minute)})
	}
	q := novemberQuery(FormatHTML, GroupRequester, "")
	r, err := Build(context.Background(), q, Rates{}, fixedNow, seq(ss), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), `data-requester=`); n != maxRequesterBars {
		t.Errorf("%d requester bars, want %d", n, maxRequesterBars)
	}
	if !strings.Contains(buf.String(), "26 other requesters") {
		t.Error("no others bar")
	}

	r, err = Build(context.Background(), q, Rates{}, fixedNow, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "No billed session time") || strings.Contains(buf.String(), `class="bar"`) {
		t.Error("empty report should say so and draw no bars")
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0 s", 45 * time.Second: "45 s", 4 * time.Minute: "4 min", 250 * time.Second: "4 min 10 s",
		time.Hour: "1 h 00 min", 26*time.Hour + 5*time.Minute + 40*time.Second: "26 h 05 min",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestRunningNote: time billed to running sessions is counted up to now, or
// to the end of the range when that is earlier, and the page says which.
func TestRunningNote(t *testing.T) {
	ready := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	running := []*arrops.Session{{ID: "r1", Size: arrops.SizeStandard, Status: arrops.SessionReady,
		RequestedBy: "ann", CreatedAt: ready.Add(-5 * time.Minute), ReadyAt: ready}}
	stopped := []*arrops.Session{{ID: "s1", Size: arrops.SizeStandard, Status: arrops.SessionStopped,
		RequestedBy: "ann", CreatedAt: ready.Add(-5 * time.Minute), ReadyAt: ready, StoppedAt: ready.Add(time.Hour)}}
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		sessions []*arrops.Session
		now      time.Time
		want     string // "" : no note
	}{
		{"running, now inside the range", running, ready.Add(90 * time.Minute),
			"Includes 1.50 h of 1 session still running, counted up to 2026-11-23 11:30 UTC."},
		{"running, range already over", running, day.Add(48 * time.Hour),
			"Includes 14.00 h of 1 session still running, counted up to 2026-11-24 00:00 UTC."},
		{"nothing running", stopped, ready.Add(3 * time.Hour), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := Query{From: day, To: day, GroupBy: GroupRequester, Format: FormatHTML}
			var buf bytes.Buffer
			if err := Render(context.Background(), &buf, q, Rates{}, tc.now, seq(tc.sessions), nil); err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`<p class="muted" id="running-note">([^<]*)</p>`).FindStringSubmatch(buf.String())
			got := ""
			if m != nil {
				got = m[1]
			}
			if got != tc.want {
				t.Errorf("running note %q, want %q", got, tc.want)
			}
		})
	}
}

func renderPage(t testing.TB, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestSmallValuesInMinutes: a range with minutes of use draws its axes in
// minutes, and a value that would print as "0.00 h" prints in minutes.
func TestSmallValuesInMinutes(t *testing.T) {
	ready := ts("2026-11-03T10:00:00Z")
	ss := []*arrops.Session{
		{ID: "a", Size: arrops.SizeStandard, Status: arrops.SessionStopped, RequestedBy: "ann", CreatedAt: ready, ReadyAt: ready, StoppedAt: ready.Add(18 * time.Minute)},
		{ID: "b", Size: arrops.SizeStandard, Status: arrops.SessionStopped, RequestedBy: "bo", CreatedAt: ready, ReadyAt: ready, StoppedAt: ready.Add(12 * time.Second)},
	}
	r, err := Build(context.Background(), novemberQuery(FormatHTML, GroupRequester, ""), Rates{}, fixedNow, seq(ss), nil)
	if err != nil {
		t.Fatal(err)
	}
	page := renderPage(t, r)
	for _, want := range []string{">Session minutes (min)</text>", `>0.2 min</text>`, `<td class="n">0.2 min</td>`, `id="total-hours">0.30 h<`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// "0.00 h" only for what is really zero (savings, waste and pool idle time here).
	if strings.Contains(page, " h h") || strings.Contains(page, " min h") {
		t.Errorf("a unit printed twice")
	}
	if n := strings.Count(page, "0.00 h"); n != 3 {
		t.Errorf(`page prints "0.00 h" %d times, want 3 (saved, wasted, pool idle)`, n)
	}
	ticks := regexp.MustCompile(`class="tick ytick"[^>]*>([^<]*)<`).FindAllStringSubmatch(page, -1)
	var labels []string
	for _, m := range ticks {
		labels = append(labels, m[1])
	}
	if strings.Join(labels, " ") != "0 5 10 15 20" {
		t.Errorf("minute ticks %v", labels)
	}
}
