package e2e

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/browsertest"
	"github.com/arrops/arrops/internal/devhost"
	"github.com/arrops/arrops/internal/stack"
)

// xssRequester is a hostile requester name: the page must show it as text.
const xssRequester = "<script>alert(1)</script>"

// xssMessage is a hostile conversion error message (an element, not a
// script: it would run even where scripts are blocked by parsing rules).
const xssMessage = `<img src=x onerror="alert(2)">`

// seedSession is one session the report test writes into Azurite, with the
// times as offsets from the first day of the report range so the expected
// numbers can be computed without the product's billing code.
type seedSession struct {
	id, requester string
	size          arrops.SessionSize
	status        arrops.SessionStatus
	created       time.Duration // from day 0 of the range
	ready, stop   time.Duration // 0: none (never Ready / still running)
}

// reportPolicyStops are the seeded sessions a policy stopped: the stop
// reason, the lease in minutes and, if extended, the extension's end (as an
// offset like the other times).
var reportPolicyStops = map[string]struct {
	reason   string
	lease    int
	extended time.Duration
}{
	"rep-bob-std": {"policy maxReadyMinutes: ready for 75 min (SHUTDOWN_MAX_READY_MINUTES=75)", 120, 0},
	"rep-xss":     {"policy quietHours: quiet hours 14:45-18:00", 60, 3*24*time.Hour + 16*time.Hour},
}

type seedConversion struct {
	id            string
	status        arrops.ConversionStatus
	created       time.Duration
	took          time.Duration // 0: still running
	code, message string
}

// reportSeed spans the five-day range [day0, day0+5d) ending yesterday: one
// session started the day before the range (only its part inside counts),
// one crosses midnight, one is still running (billed to the end of the
// range, which is in the past, so the figures do not move while the test
// runs), one never became Ready, and two lie outside the range.
func reportSeed() ([]seedSession, []seedConversion) {
	h := time.Hour
	m := time.Minute
	d := 24 * h
	ss := []seedSession{
		{"rep-erin-early", "erin", arrops.SizeStandard, arrops.SessionStopped, -d + 22*h + 55*m, -d + 23*h, 1 * h},
		{"rep-alice-std", "alice", arrops.SizeStandard, arrops.SessionStopped, 9*h + 55*m, 10 * h, 12*h + 30*m},
		{"rep-alice-prem", "alice", arrops.SizePremium, arrops.SessionExpired, d + 21*h + 50*m, d + 22*h, 2*d + 1*h},
		{"rep-bob-std", "bob", arrops.SizeStandard, arrops.SessionStopped, 2*d + 7*h + 58*m, 2*d + 8*h, 2*d + 9*h + 15*m},
		{"rep-xss", xssRequester, arrops.SizeStandard, arrops.SessionStopped, 3*d + 13*h + 57*m, 3*d + 14*h, 3*d + 14*h + 45*m},
		{"rep-dave-error", "dave", arrops.SizeStandard, arrops.SessionError, 3*d + 9*h, 0, 0},
		{"rep-carol-running", "carol", arrops.SizePremium, arrops.SessionReady, 4*d + 19*h + 55*m, 4*d + 20*h, 0},
		// Outside: before the lookback, and on the day after the range.
		{"rep-frank-old", "frank", arrops.SizeStandard, arrops.SessionStopped, -4 * d, -4*d + 5*m, -4*d + 2*h},
		{"rep-grace-after", "grace", arrops.SizeStandard, arrops.SessionError, 5 * d, 0, 0},
	}
	cs := []seedConversion{
		{"rep-conv-ok-1", arrops.ConversionSucceeded, d + 9*h, 5 * m, "", ""},
		{"rep-conv-ok-2", arrops.ConversionSucceeded, 2*d + 11*h, 12 * m, "", ""},
		{"rep-conv-bad-1", arrops.ConversionFailed, 3*d + 10*h, 1 * m, "InputContainerError", xssMessage},
		{"rep-conv-bad-2", arrops.ConversionFailed, 3*d + 10*h + 30*m, 2 * m, "InputContainerError", "Could not find the asset file in the storage account."},
		{"rep-conv-bad-3", arrops.ConversionFailed, 4*d + 8*h, 30 * m, "ConversionProcessFailed", "Invalid input provided."},
		{"rep-conv-running", arrops.ConversionRunning, 4*d + 12*h, 0, "", ""},
		{"rep-conv-rejected", arrops.ConversionRejected, 4*d + 13*h, 0, "UnsupportedFormat", ".txt is not a format ARR converts"},
		{"rep-conv-outside", arrops.ConversionFailed, -3 * d, 1 * m, "InternalServerError", "outside the range"},
	}
	return ss, cs
}

// expected is the report computed here, independently of package report:
// hours per (day, size) and per requester by interval overlap.
type expected struct {
	dayHours       map[string]float64 // "YYYY-MM-DD/Size" → hours, only > 0
	requesterHours map[string]float64 // every requester listed, even at 0 h
	hours, cost    float64
	sessions       int
	running        int
	runningHours   float64
	billedUntil    time.Time // the range end: it lies in the past
	convCount      int
	convSucceeded  int
	convFailed     int
	successRate    float64
	medianSeconds  float64
	topFailures    map[string]int
	rejected       map[string]int // by code: never sent to ARR
	sessionIDs     []string       // listed sessions, sorted
	// Savings: minutes from each policy stop in the range to the end of
	// the session's lease; waste: billed hours of Expired sessions.
	savedMinutes, savedCost map[string]float64 // by policy
	wasteHours, wasteCost   float64
	wasteSessions           int
}

// computeExpected is the report over the days [day0+first, day0+first+days)
// of records whose times are offsets from day0.
func computeExpected(day0 time.Time, first, days int, ss []seedSession, cs []seedConversion, rates map[arrops.SessionSize]float64) expected {
	start, end := day0.AddDate(0, 0, first), day0.AddDate(0, 0, first+days)
	e := expected{dayHours: map[string]float64{}, requesterHours: map[string]float64{}, topFailures: map[string]int{}, billedUntil: end,
		rejected: map[string]int{}, savedMinutes: map[string]float64{}, savedCost: map[string]float64{}}
	for _, s := range ss {
		var billed float64
		if s.ready != 0 {
			stop := end // running: billed until now, clipped to the range end
			if s.stop != 0 {
				stop = day0.Add(s.stop)
			}
			for i := range days {
				ds, de := start.AddDate(0, 0, i), start.AddDate(0, 0, i+1)
				lo, hi := later(ds, day0.Add(s.ready)), earlier(de, stop)
				if hi.After(lo) {
					h := hi.Sub(lo).Hours()
					e.dayHours[ds.Format(time.DateOnly)+"/"+string(s.size)] += h
					billed += h
				}
			}
		}
		created := day0.Add(s.created)
		inRange := billed > 0 || (!created.Before(start) && created.Before(end))
		if !inRange {
			continue
		}
		e.sessions++
		if !s.status.Terminal() {
			e.running++
			e.runningHours += billed
		}
		e.requesterHours[s.requester] += billed
		e.hours += billed
		e.cost += billed * rates[s.size]
		e.sessionIDs = append(e.sessionIDs, s.id)
		if s.status == arrops.SessionExpired {
			e.wasteSessions++
			e.wasteHours += billed
			e.wasteCost += billed * rates[s.size]
		}
	}
	sort.Strings(e.sessionIDs)
	for _, s := range ss {
		p, ok := reportPolicyStops[s.id]
		stop := day0.Add(s.stop)
		if !ok || stop.Before(start) || !stop.Before(end) {
			continue
		}
		leaseEnd := day0.Add(s.ready + time.Duration(p.lease)*time.Minute)
		if ext := day0.Add(p.extended); p.extended != 0 && ext.After(leaseEnd) {
			leaseEnd = ext
		}
		policy := strings.TrimPrefix(strings.SplitN(p.reason, ":", 2)[0], "policy ")
		saved := leaseEnd.Sub(stop).Minutes()
		e.savedMinutes[policy] += saved
		e.savedCost[policy] += saved / 60 * rates[s.size]
	}
	var durations []float64
	for _, c := range cs {
		created := day0.Add(c.created)
		if created.Before(start) || !created.Before(end) {
			continue
		}
		if c.status == arrops.ConversionRejected {
			e.rejected[c.code]++
			continue
		}
		e.convCount++
		switch c.status {
		case arrops.ConversionSucceeded:
			e.convSucceeded++
		case arrops.ConversionFailed:
			e.convFailed++
			e.topFailures[c.code]++
		}
		if c.took != 0 {
			durations = append(durations, c.took.Seconds())
		}
	}
	e.successRate = float64(e.convSucceeded) / float64(e.convSucceeded+e.convFailed)
	sort.Float64s(durations)
	e.medianSeconds = durations[len(durations)/2] // odd count by construction
	return e
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// TestReportInBrowser seeds session and conversion records into the stack's
// Azurite, loads GET /api/report through devhost (function key) in headless
// Chromium and checks what a reader sees against numbers computed here: the
// totals, the stacked day bars by size, the requester bars, the conversions
// summary, and that hostile record text stays text. JSON and CSV from the
// same endpoint must give the same totals; a bad parameter is a 400 naming it.
func TestReportInBrowser(t *testing.T) {
	browsertest.Require(t)
	rates := map[arrops.SessionSize]float64{arrops.SizeStandard: 3.2, arrops.SizePremium: 12.5}
	sys := startSystem(t, stack.Options{Settings: map[string]string{
		"ARR_RATE_STANDARD_PER_HOUR": "3.20",
		"ARR_RATE_PREMIUM_PER_HOUR":  "12.50",
		"ARR_CURRENCY":               "EUR",
		// The seeded sessions are unknown to the simulator: keep the timers
		// (which would reconcile or stop them) from firing during the test.
		"WATCH_SCHEDULE":    "0 0 0 1 1 *",
		"SHUTDOWN_SCHEDULE": "0 0 0 1 1 *",
	}})

	const days = 5
	today := time.Now().UTC().Truncate(24 * time.Hour)
	day0 := today.AddDate(0, 0, -days)
	from, to := day0.Format(time.DateOnly), today.AddDate(0, 0, -1).Format(time.DateOnly)
	ss, cs := reportSeed()
	seedReport(t, sys, day0, ss, cs)
	want := computeExpected(day0, 0, days, ss, cs, rates)

	form := formCase{day0: day0, first: 1, days: 2, from: day0.AddDate(0, 0, 1), to: day0.AddDate(0, 0, 2), ss: ss, cs: cs, rates: rates}

	query := "/api/report?from=" + from + "&to=" + to
	t.Run("html in chromium", func(t *testing.T) {
		code, ctype, body := sys.get(query + "&format=html")
		if code != http.StatusOK || !strings.HasPrefix(ctype, "text/html") {
			t.Fatalf("GET html: %d %s\n%s", code, ctype, body)
		}
		// Escaped in the source, not just harmless in this browser.
		if bytes.Contains(body, []byte(xssRequester)) || bytes.Contains(body, []byte("<img")) {
			t.Errorf("the page source holds record text unescaped")
		}
		checkPageInBrowser(t, sys, query+"&format=html", want, form)
	})

	var jsonTotals reportTotals
	t.Run("json", func(t *testing.T) {
		code, ctype, body := sys.get(query + "&format=json")
		if code != http.StatusOK || !strings.HasPrefix(ctype, "application/json") {
			t.Fatalf("GET json: %d %s\n%s", code, ctype, body)
		}
		var r struct {
			Currency string `json:"currency"`
			Sessions []struct {
				ID      string  `json:"id"`
				Running bool    `json:"running"`
				Hours   float64 `json:"billedHours"`
			} `json:"sessions"`
			Groups []struct {
				Key string `json:"key"`
				reportTotals
			} `json:"groups"`
			Days []struct {
				Date  string             `json:"date"`
				Hours map[string]float64 `json:"hours"`
			} `json:"days"`
			Totals  reportTotals `json:"totals"`
			Savings struct {
				reportTotals
				ByPolicy []struct {
					Key string `json:"key"`
					reportTotals
				} `json:"byPolicy"`
			} `json:"savings"`
			Waste      reportTotals `json:"waste"`
			StartTimes struct {
				Ready      int `json:"ready"`
				NeverReady int `json:"neverReady"`
			} `json:"startTimes"`
			Conversions struct {
				Count         int      `json:"count"`
				Succeeded     int      `json:"succeeded"`
				Failed        int      `json:"failed"`
				SuccessRate   *float64 `json:"successRate"`
				MedianSeconds *float64 `json:"medianSeconds"`
				TopFailures   []struct {
					Code  string `json:"code"`
					Count int    `json:"count"`
				} `json:"topFailureCodes"`
				Rejected struct {
					Count  int `json:"count"`
					ByCode []struct {
						Code  string `json:"code"`
						Count int    `json:"count"`
					} `json:"byCode"`
				} `json:"rejected"`
			} `json:"conversions"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("decode JSON report: %v\n%s", err, body)
		}
		jsonTotals = r.Totals
		checkTotals(t, "JSON", r.Totals, want)
		if r.Currency != "EUR" || len(r.Sessions) != want.sessions {
			t.Errorf("JSON: currency %q, %d session rows; want EUR, %d", r.Currency, len(r.Sessions), want.sessions)
		}
		got := map[string]float64{}
		for _, g := range r.Groups {
			got[g.Key] = g.Hours
		}
		assertHours(t, "JSON groups by requester", got, want.requesterHours)
		gotDays := map[string]float64{}
		for _, d := range r.Days {
			for size, h := range d.Hours {
				if h > 0 {
					gotDays[d.Date+"/"+size] = h
				}
			}
		}
		assertHours(t, "JSON days", gotDays, want.dayHours)
		c := r.Conversions
		if c.Count != want.convCount || c.Succeeded != want.convSucceeded || c.Failed != want.convFailed ||
			c.SuccessRate == nil || !near(*c.SuccessRate, want.successRate, 1e-9) ||
			c.MedianSeconds == nil || !near(*c.MedianSeconds, want.medianSeconds, 1e-9) {
			t.Errorf("JSON conversions %+v, want count %d succeeded %d failed %d rate %v median %v s",
				c, want.convCount, want.convSucceeded, want.convFailed, want.successRate, want.medianSeconds)
		}
		gotTop := map[string]int{}
		for _, f := range c.TopFailures {
			gotTop[f.Code] = f.Count
		}
		if fmt.Sprint(gotTop) != fmt.Sprint(want.topFailures) {
			t.Errorf("JSON top failure codes %v, want %v", gotTop, want.topFailures)
		}
		gotRej, sum := map[string]int{}, 0
		for _, f := range c.Rejected.ByCode {
			gotRej[f.Code] = f.Count
			sum += f.Count
		}
		if fmt.Sprint(gotRej) != fmt.Sprint(want.rejected) || c.Rejected.Count != sum {
			t.Errorf("JSON rejected %+v, want %v", c.Rejected, want.rejected)
		}
		gotSaved := map[string]float64{}
		for _, g := range r.Savings.ByPolicy {
			gotSaved[g.Key] = g.Minutes
			if !near(g.Cost, want.savedCost[g.Key], 0.005) {
				t.Errorf("JSON savings %s cost %v, want %v", g.Key, g.Cost, want.savedCost[g.Key])
			}
		}
		assertHours(t, "JSON savings minutes by policy", gotSaved, want.savedMinutes)
		if w := r.Waste; w.Sessions != want.wasteSessions || !near(w.Hours, want.wasteHours, 0.001) || !near(w.Cost, want.wasteCost, 0.005) {
			t.Errorf("JSON waste %+v, want %d sessions %.3f h %.2f", w, want.wasteSessions, want.wasteHours, want.wasteCost)
		}
	})

	t.Run("csv", func(t *testing.T) {
		code, ctype, body := sys.get(query + "&format=csv")
		if code != http.StatusOK || !strings.HasPrefix(ctype, "text/csv") {
			t.Fatalf("GET csv: %d %s\n%s", code, ctype, body)
		}
		rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("parse CSV (%d rows): %v\n%s", len(rows), err, body)
		}
		col := map[string]int{}
		for i, name := range rows[0] {
			col[name] = i
		}
		var sessions int
		var total, waste []string
		saved := map[string]float64{}
		for _, r := range rows[1:] {
			switch r[col["kind"]] {
			case "session":
				sessions++
			case "total":
				total = r
			case "waste":
				waste = r
			case "savings":
				saved[r[col["key"]]], _ = strconv.ParseFloat(r[col["minutes"]], 64)
			}
		}
		assertHours(t, "CSV savings minutes by policy", saved, want.savedMinutes)
		if waste == nil || waste[col["sessions"]] != strconv.Itoa(want.wasteSessions) || waste[col["cost"]] != strconv.FormatFloat(round2(want.wasteCost), 'f', -1, 64) {
			t.Errorf("CSV waste row %q, want %d sessions costing %.2f", waste, want.wasteSessions, want.wasteCost)
		}
		if total == nil {
			t.Fatalf("CSV has no total row:\n%s", body)
		}
		num := func(name string) float64 {
			f, err := strconv.ParseFloat(total[col[name]], 64)
			if err != nil {
				t.Errorf("CSV total %s %q: %v", name, total[col[name]], err)
			}
			return f
		}
		n, _ := strconv.Atoi(total[col["sessions"]])
		r, _ := strconv.Atoi(total[col["running"]])
		got := reportTotals{Minutes: num("minutes"), Hours: num("hours"), Cost: num("cost"), Sessions: n, Running: r}
		checkTotals(t, "CSV", got, want)
		if sessions != want.sessions || total[col["currency"]] != "EUR" {
			t.Errorf("CSV: %d session rows, currency %q; want %d, EUR", sessions, total[col["currency"]], want.sessions)
		}
		if jsonTotals != (reportTotals{}) && got != jsonTotals {
			t.Errorf("CSV totals %+v differ from JSON totals %+v", got, jsonTotals)
		}
	})

	t.Run("bad parameters", func(t *testing.T) {
		for _, tc := range []struct{ query, param string }{
			{"from=2026-13-45", "from"},
			{"from=" + from + "&to=" + day0.AddDate(0, 0, -1).Format(time.DateOnly), "to"},
			{"groupBy=colour", "groupBy"},
			{"format=pdf", "format"},
		} {
			code, ctype, body := sys.get("/api/report?" + tc.query)
			var e struct {
				Error struct {
					Code, Parameter, Message string
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || code != http.StatusBadRequest ||
				!strings.HasPrefix(ctype, "application/json") || e.Error.Parameter != tc.param || e.Error.Message == "" {
				t.Errorf("GET ?%s: %d %s %s; want 400 JSON naming %s", tc.query, code, ctype, body, tc.param)
			}
		}
	})
}

type reportTotals struct {
	Minutes  float64 `json:"minutes"`
	Hours    float64 `json:"hours"`
	Cost     float64 `json:"cost"`
	Sessions int     `json:"sessions"`
	Running  int     `json:"running"`
}

func checkTotals(t *testing.T, what string, got reportTotals, want expected) {
	t.Helper()
	if !near(got.Hours, want.hours, 0.001) || !near(got.Minutes, want.hours*60, 0.01) || !near(got.Cost, want.cost, 0.005) ||
		got.Sessions != want.sessions || got.Running != want.running {
		t.Errorf("%s totals %+v, want hours %.3f minutes %.2f cost %.2f sessions %d running %d",
			what, got, want.hours, want.hours*60, want.cost, want.sessions, want.running)
	}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func assertHours(t *testing.T, what string, got, want map[string]float64) {
	t.Helper()
	ok := len(got) == len(want)
	for k, w := range want {
		if g, found := got[k]; !found || !near(g, w, 0.001) {
			ok = false
		}
	}
	if !ok {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

// seedReport writes the records as the functions would (package store).
func seedReport(t *testing.T, sys *system, day0 time.Time, ss []seedSession, cs []seedConversion) {
	t.Helper()
	if err := sys.store.EnsureTables(sys.ctx); err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) time.Time { return day0.Add(d) }
	for _, s := range ss {
		rec := &arrops.Session{ID: s.id, Size: s.size, Status: s.status, Origin: arrops.OriginCommand,
			RequestedBy: s.requester, MaxLeaseMinutes: 1440, CreatedAt: at(s.created),
			Tags: map[string]string{"project": "e2e"}}
		if p, ok := reportPolicyStops[s.id]; ok {
			rec.StopReason, rec.MaxLeaseMinutes = p.reason, p.lease
			if p.extended != 0 {
				rec.ExtendedUntil = at(p.extended)
			}
		}
		if s.ready != 0 {
			rec.ReadyAt = at(s.ready)
			rec.Hostname = "arr-" + s.id + ".example"
		}
		if s.stop != 0 {
			rec.StoppedAt = at(s.stop)
		} else if s.status.Terminal() {
			rec.StoppedAt = at(s.created + 5*time.Minute)
			rec.ErrorCode = "InternalServerError"
		}
		if _, _, err := sys.store.CreateSession(sys.ctx, rec); err != nil {
			t.Fatalf("seed session %s: %v", s.id, err)
		}
	}
	for _, c := range cs {
		rec := &arrops.Conversion{ID: c.id, Status: c.status, InputContainer: "arr-input",
			InputPath: "models/" + c.id + ".fbx", OutputContainer: "arr-output", OutputPath: "models/" + c.id + ".arrAsset",
			CreatedAt: at(c.created), ErrorCode: c.code, ErrorMessage: c.message}
		if c.took != 0 {
			rec.CompletedAt = at(c.created + c.took)
		}
		if _, _, err := sys.store.CreateConversion(sys.ctx, rec); err != nil {
			t.Fatalf("seed conversion %s: %v", c.id, err)
		}
	}
}

// pageFacts is what the browser reads off the rendered page.
type pageFacts struct {
	Title        string             `json:"title"`
	TotalHours   string             `json:"totalHours"`
	TotalMinutes string             `json:"totalMinutes"`
	TotalCost    string             `json:"totalCost"`
	Sessions     string             `json:"sessions"`
	Running      string             `json:"running"`
	Conversions  string             `json:"conversions"`
	ConvSuccess  string             `json:"convSuccess"`
	ConvMedian   string             `json:"convMedian"`
	TopFailures  string             `json:"topFailures"`
	RunningNote  string             `json:"runningNote"`
	ConvRows     int                `json:"convRows"`
	DayBars      map[string]float64 `json:"dayBars"` // date/size → data-hours
	DayPxPerHour []float64          `json:"dayPxPerHour"`
	DayStacked   bool               `json:"dayStacked"`
	ReqBars      map[string]float64 `json:"reqBars"`
	ReqPxPerHour []float64          `json:"reqPxPerHour"`
	ReqLabels    []string           `json:"reqLabels"`
	SessionIDs   []string           `json:"sessionIds"`
	Savings      []string           `json:"savings"` // "policy|sessions|saved|cost" per row
	SavedHours   string             `json:"savedHours"`
	SavedCost    string             `json:"savedCost"`
	WasteHours   string             `json:"wasteHours"`
	WasteCost    string             `json:"wasteCost"`
	Rejected     string             `json:"rejected"`
	RejectedRows int                `json:"rejectedRows"`
	Scripts      int                `json:"scripts"`
	Images       int                `json:"images"`
	XSSCell      bool               `json:"xssCell"`     // a visible table cell whose text is the requester
	XSSMsg       bool               `json:"xssMsg"`      // the conversion message shown as text
	VisibleText  bool               `json:"visibleText"` // innerText holds the hostile requester
	ScrollWidth  float64            `json:"scrollWidth"`
}

// checkPageInBrowser loads path from devhost in headless Chromium, checks the
// page against want and saves a full-page screenshot.
func checkPageInBrowser(t *testing.T, sys *system, path string, want expected, form formCase) {
	t.Helper()
	// The function key goes in ?code=, as in a link an operator bookmarks.
	u := sys.stack.DevhostURL + path + "&code=" + url.QueryEscape(devhost.DevFunctionKey)
	p, err := browsertest.Open(t, sys.ctx, u, "total-hours", 30*time.Second)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	defer p.Close()
	got, err := chromedp.Run(p.Ctx, chromedp.Evaluate[pageFacts](jsCall(pageFactsJS, xssRequester, xssMessage)))
	if err != nil {
		t.Fatalf("reading the page: %v", err)
	}

	if err := p.Screenshot(t, "e2e", ""); err != nil {
		t.Error(err)
	}

	wantTop := topFailuresText(want.topFailures)
	var wantSavings []string
	var savedMin, savedCost float64
	var rejected int
	for _, p := range sortedKeys(want.savedMinutes) {
		wantSavings = append(wantSavings, fmt.Sprintf("%s|1|%.2f h|%.2f", p, want.savedMinutes[p]/60, want.savedCost[p]))
		savedMin += want.savedMinutes[p]
		savedCost += want.savedCost[p]
	}
	for _, n := range want.rejected {
		rejected += n
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"total hours", got.TotalHours, strconv.FormatFloat(want.hours, 'f', 2, 64) + " h"},
		{"sessions table rows (ids)", got.SessionIDs, want.sessionIDs},
		{"savings by policy", got.Savings, wantSavings},
		{"saved hours", got.SavedHours, fmt.Sprintf("%.2f h", savedMin/60)},
		{"saved cost", got.SavedCost, fmt.Sprintf("%.2f", savedCost)},
		{"waste hours", got.WasteHours, fmt.Sprintf("%.2f h", want.wasteHours)},
		{"waste cost", got.WasteCost, fmt.Sprintf("%.2f", want.wasteCost)},
		{"rejected uploads", got.Rejected, strconv.Itoa(rejected)},
		{"rejected rows", got.RejectedRows, rejected},
		{"total minutes", got.TotalMinutes, strconv.FormatFloat(want.hours*60, 'f', -1, 64)},
		{"total cost", got.TotalCost, strconv.FormatFloat(want.cost, 'f', 2, 64) + " EUR"},
		{"sessions", got.Sessions, strconv.Itoa(want.sessions)},
		{"running", got.Running, strconv.Itoa(want.running)},
		{"conversions", got.Conversions, strconv.Itoa(want.convCount)},
		{"success rate", got.ConvSuccess, strconv.FormatFloat(want.successRate*100, 'f', 1, 64) + " %"},
		{"median", got.ConvMedian, fmt.Sprintf("%d min", int(want.medianSeconds/60))},
		{"top failure codes", got.TopFailures, wantTop},
		{"running note", got.RunningNote, fmt.Sprintf("Includes %.2f h of %d session still running, counted up to %s UTC.",
			want.runningHours, want.running, want.billedUntil.Format("2006-01-02 15:04"))},
		{"conversion rows", got.ConvRows, want.convCount},
		{"script elements", got.Scripts, 0},
		{"img elements", got.Images, 0},
		{"requester shown as text in the totals table", got.XSSCell, true},
		{"requester in the page's visible text", got.VisibleText, true},
		{"error message shown as text", got.XSSMsg, true},
		{"page width (no horizontal scroll at 1280px)", got.ScrollWidth, 1280.0},
		{"day bars of one day stacked", got.DayStacked, true},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	assertHours(t, "day chart bars (date/size → hours)", got.DayBars, want.dayHours)
	assertHours(t, "requester chart bars", got.ReqBars, want.requesterHours)
	// The bars must be drawn to scale: one pixels-per-hour ratio per chart.
	for name, ratios := range map[string][]float64{"day": got.DayPxPerHour, "requester": got.ReqPxPerHour} {
		if len(ratios) == 0 {
			t.Errorf("%s chart: no bars with hours to measure", name)
			continue
		}
		for _, r := range ratios {
			if !near(r, ratios[0], 0.02*ratios[0]) || r <= 0 {
				t.Errorf("%s chart bars are not to scale: pixels per hour %v", name, ratios)
				break
			}
		}
	}
	// The requester chart is sorted by hours, largest first.
	for i := 1; i < len(got.ReqLabels); i++ {
		if got.ReqBars[got.ReqLabels[i]] > got.ReqBars[got.ReqLabels[i-1]] {
			t.Errorf("requester bars not sorted by hours: %v", got.ReqLabels)
			break
		}
	}
	browsertest.CheckChartText(t, p, "#chart-days", "#chart-requesters")

	// The form, as a reader uses it: a narrower range, submitted; the page
	// must land on it, with the function key kept.
	if err := chromedp.Do(p.Ctx,
		chromedp.SetValue(chromedp.ID("from"), form.from.Format(time.DateOnly)),
		chromedp.SetValue(chromedp.ID("to"), form.to.Format(time.DateOnly)),
		chromedp.SetValue(chromedp.ID("groupBy"), "size"),
		chromedp.Click(chromedp.ID("submit")),
	); err != nil {
		t.Fatalf("submitting the form: %v", err)
	}
	wantTitle := "ARR usage " + form.from.Format(time.DateOnly) + " to " + form.to.Format(time.DateOnly) + " by size"
	if err := browsertest.WaitFor(p, jsCall(`(t) => document.title === t && document.readyState === "complete"`, wantTitle), 15*time.Second); err != nil {
		t.Fatalf("the form did not land on the new range: %v", err)
	}
	type landed struct {
		Search   string   `json:"search"`
		Sessions string   `json:"sessions"`
		Hours    string   `json:"hours"`
		Groups   []string `json:"groups"`
	}
	l, err := chromedp.Run(p.Ctx, chromedp.Evaluate[landed](`({search: location.search,
		sessions: document.getElementById('total-sessions').textContent, hours: document.getElementById('total-hours').textContent,
		groups: [...document.querySelectorAll('#groups td.key')].map(e => e.textContent)})`))
	if err != nil {
		t.Fatal(err)
	}
	nw := computeExpected(form.day0, form.first, form.days, form.ss, form.cs, form.rates)
	if !strings.Contains(l.Search, "code=") || l.Sessions != strconv.Itoa(nw.sessions) ||
		l.Hours != strconv.FormatFloat(nw.hours, 'f', 2, 64)+" h" || len(l.Groups) == 0 {
		t.Errorf("after the form: %+v; want the key kept, %d sessions, %.2f h, groups by size", l, nw.sessions, nw.hours)
	}
	if err := p.Screenshot(t, "e2e", "form-"); err != nil {
		t.Error(err)
	}
	if n := p.Dialogs(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
}

// formCase is the range the browser test submits with the page's form,
// and what the expected figures are computed from.
type formCase struct {
	day0, from, to time.Time
	first, days    int
	ss             []seedSession
	cs             []seedConversion
	rates          map[arrops.SessionSize]float64
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// pageFactsJS reads the page; arguments: the hostile requester and message.
const pageFactsJS = `((xss, msg) => {
	const q = s => document.querySelector(s);
	const qa = s => [...document.querySelectorAll(s)];
	const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; };
	const dayBars = {}, dayPx = [], byX = {};
	for (const r of qa('#chart-days rect.bar')) {
		const h = parseFloat(r.dataset.hours);
		dayBars[r.dataset.date + '/' + r.dataset.size] = h;
		const b = r.getBBox();
		dayPx.push(b.height / h);
		(byX[b.x] = byX[b.x] || []).push(b);
	}
	// Stacked: the bars of one day share x and touch end to end.
	let stacked = Object.keys(byX).length > 0 && Object.values(byX).some(bs => bs.length > 1);
	for (const bs of Object.values(byX)) {
		bs.sort((a, b) => a.y - b.y);
		for (let i = 1; i < bs.length; i++) {
			if (Math.abs(bs[i-1].y + bs[i-1].height - bs[i].y) > 0.05) stacked = false;
		}
	}
	const reqBars = {}, reqPx = [], labels = [];
	for (const r of qa('#chart-requesters rect.bar')) {
		const h = parseFloat(r.dataset.hours);
		reqBars[r.dataset.requester] = h;
		labels.push(r.dataset.requester);
		if (h > 0) reqPx.push(r.getBBox().width / h);
	}
	const top = q('#top-failures');
	return {
		title: document.title,
		totalHours: q('#total-hours').textContent,
		totalMinutes: q('#total-minutes').textContent,
		totalCost: q('#total-cost') ? q('#total-cost').textContent : '',
		sessions: q('#total-sessions').textContent,
		running: q('#total-running').textContent,
		conversions: q('#total-conversions').textContent,
		convSuccess: q('#conv-success').textContent,
		convMedian: q('#conv-median').textContent,
		topFailures: top ? top.textContent.replace(/\s+/g, ' ').trim() : '',
		runningNote: q('#running-note') ? q('#running-note').textContent : '',
		convRows: qa('#conversions tbody tr').length,
		sessionIds: qa('#sessions tbody tr[data-id]').map(r => r.dataset.id).sort(),
		savings: qa('#savings tbody tr').map(r => [...r.cells].map(c => c.textContent).join('|')),
		savedHours: q('#saved-hours') ? q('#saved-hours').textContent : '',
		savedCost: q('#saved-cost') ? q('#saved-cost').textContent : '',
		wasteHours: q('#waste-hours') ? q('#waste-hours').textContent : '',
		wasteCost: q('#waste-cost') ? q('#waste-cost').textContent : '',
		rejected: q('#conv-rejected').textContent,
		rejectedRows: qa('#rejected tbody tr.Rejected').length,
		dayBars: dayBars, dayPxPerHour: dayPx, dayStacked: stacked,
		reqBars: reqBars, reqPxPerHour: reqPx, reqLabels: labels,
		scripts: qa('script').length,
		images: qa('img').length,
		xssCell: qa('#groups td').some(e => e.textContent === xss && visible(e)),
		xssMsg: qa('#conversions td').some(e => e.textContent === msg && visible(e)),
		visibleText: document.body.innerText.includes(xss),
		scrollWidth: document.documentElement.scrollWidth,
	};
})`

// jsCall is a JavaScript expression calling fn with args as JSON literals
// (record text passed as data, never spliced into code).
func jsCall(fn string, args ...string) string {
	var b strings.Builder
	b.WriteString("(" + fn + ")(")
	for i, a := range args {
		if i > 0 {
			b.WriteByte(',')
		}
		j, _ := json.Marshal(a)
		b.Write(j)
	}
	b.WriteString(")")
	return b.String()
}

// topFailuresText is the "Top failure codes" line as the page prints it:
// most frequent first, ties by code.
func topFailuresText(m map[string]int) string {
	codes := make([]string, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if m[codes[i]] != m[codes[j]] {
			return m[codes[i]] > m[codes[j]]
		}
		return codes[i] < codes[j]
	})
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s (%d)", c, m[c])
	}
	return "Top failure codes: " + strings.Join(parts, ", ")
}
