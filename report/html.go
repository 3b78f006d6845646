package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

//go:embed report.html.tmpl
var templates embed.FS

// pageTemplate is parsed on first use, not at process start: the handler
// starts cold for every function, and most invocations never render HTML.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
		"hours": hoursText,
		"mins":  minutesText,
		"money": func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
		"num":   num,
		"pct": func(p *float64) string {
			if p == nil {
				return "–"
			}
			return strconv.FormatFloat(*p*100, 'f', 1, 64) + " %"
		},
		"secs": func(p *float64) string {
			if p == nil {
				return "–"
			}
			return humanDuration(time.Duration(*p * float64(time.Second)))
		},
		"sec": func(f float64) string { return humanDuration(time.Duration(f * float64(time.Second))) },
		"dur": func(d time.Duration) string {
			if d <= 0 {
				return "–"
			}
			return humanDuration(d)
		},
		"ts": func(t time.Time) string {
			if t.IsZero() {
				return "–"
			}
			return t.UTC().Format("2006-01-02 15:04")
		},
		"assetLabel": assetLabel,
		"deref":      func(p *float64) float64 { return *p },
	}).ParseFS(templates, "report.html.tmpl"))
})

// hoursText prints billed time for a reader: "2.50 h", or minutes where two
// decimals of hours would round to "0.00 h" ("0.3 min", "18 min").
func hoursText(h float64) string {
	if h > 0 && h < 0.005 {
		return minutesText(h * 60)
	}
	return strconv.FormatFloat(h, 'f', 2, 64) + " h"
}

func minutesText(m float64) string {
	return strconv.FormatFloat(round(m, 1), 'f', -1, 64) + " min"
}

// assetLabel is the link text of an output asset: its path without the
// storage host (the link keeps the whole URI).
func assetLabel(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Path == "" {
		return uri
	}
	return strings.TrimPrefix(u.Path, "/")
}

// Chart geometry, in SVG user units; the page is laid out for 1280px.
const (
	chartW      = 1180
	dayChartH   = 340
	marginLeft  = 72
	marginRight = 16
	marginTop   = 36
	marginBot   = 56
	barRowH     = 26
	labelW      = 230
	reqAxisH    = 44 // tick labels and the axis title under the requester bars
	// maxRequesterBars: the rest are summed into one "others" bar so a
	// report with hundreds of requesters stays readable.
	maxRequesterBars = 15
)

var sizeColors = map[string]string{"Standard": "#4e79a7", "Premium": "#f28e2b"}

const (
	otherColor     = "#9c755f"
	requesterColor = "#59a14f"
	othersColor    = "#a0a7b0" // the "others" bar: grey, so it does not read as one requester
)

func sizeColor(size string) string {
	if c, ok := sizeColors[size]; ok {
		return c
	}
	return otherColor
}

type svgBar struct {
	X, Y, W, H       string
	Fill             string
	Date, Size, Key  string
	Hours, Title     string
	LabelX, LabelY   string
	Label, FullLabel string
	Value            string // the bar's value as printed next to it
}

type svgText struct {
	X, Y, Text string
}

type svgTick struct {
	X, Y, Label    string
	X1, X2, Y1, Y2 string
	TX, TY         string
}

type legendItem struct {
	X, Y, TX, TY, Fill, Label string
}

// chartUnit is what a chart's axis counts: hours, or minutes when the
// largest value is under an hour (an axis of 0.05 h steps reads poorly).
type chartUnit struct {
	Name, Abbr string
	PerHour    float64
}

var (
	unitHours   = chartUnit{"hours", "h", 1}
	unitMinutes = chartUnit{"minutes", "min", 60}
)

func unitFor(maxHours float64) chartUnit {
	if maxHours > 0 && maxHours < 1 {
		return unitMinutes
	}
	return unitHours
}

type dayChart struct {
	W, H             int
	Bars             []svgBar
	XLabels          []svgText
	YTicks           []svgTick
	Legend           []legendItem
	AxisX0, AxisY0   string
	AxisX1, AxisY1   string
	YTitleX, YTitleY string
	YTitle           string
	XTitleX, XTitleY string
	Empty            bool
	Unit             chartUnit
	Desc             string
}

type requesterChart struct {
	W, H           int
	Bars           []svgBar
	Ticks          []svgTick
	AxisX0, AxisX1 string
	AxisY0, AxisY1 string
	XTitle         string
	XTitleX        string
	XTitleY        string
	Empty          bool
	Unit           chartUnit
	Desc           string
	Rows           []Group // every requester, for the table fallback
}

// link is a query string for the page's links; the function key rides along.
type link struct {
	JSON, CSV, ConversionsCSV string
}

type view struct {
	*Report
	Title      string
	Days       dayChart
	Requesters requesterChart
	GroupTitle string
	Form       form
	Links      link
}

// form is the state of the page's GET form.
type form struct {
	From, To, GroupBy, TagKey, Code string
	Options                         []option
}

type option struct {
	Value, Label string
	Selected     bool
}

func (r *Report) queryString(format Format, dataset string) string {
	v := url.Values{"from": {r.From}, "to": {r.To}, "groupBy": {r.GroupBy}, "format": {string(format)}}
	if dataset != "" {
		v.Set("dataset", dataset)
	}
	if r.query.Code != "" {
		v.Set("code", r.query.Code)
	}
	return "?" + v.Encode()
}

// WriteHTML writes r as one self-contained HTML page (inline CSS and SVG, no
// script, no external asset). Every record string goes through html/template
// escaping.
func WriteHTML(w io.Writer, r *Report) error {
	group := r.GroupBy
	if r.query.GroupBy == GroupTag {
		group = "tag " + r.query.TagKey
	}
	v := view{
		Report:     r,
		Title:      fmt.Sprintf("ARR usage %s to %s by %s", r.From, r.To, group),
		Days:       buildDayChart(r),
		Requesters: buildRequesterChart(r),
		GroupTitle: group,
		Form:       form{From: r.From, To: r.To, GroupBy: r.query.GroupBy, TagKey: r.query.TagKey, Code: r.query.Code},
		Links: link{JSON: r.queryString(FormatJSON, ""), CSV: r.queryString(FormatCSV, ""),
			ConversionsCSV: r.queryString(FormatCSV, DatasetConversions)},
	}
	for _, g := range []struct{ v, l string }{{GroupRequester, "requester"}, {GroupSize, "size"}, {GroupDay, "day"}, {GroupTag, "tag"}} {
		v.Form.Options = append(v.Form.Options, option{Value: g.v, Label: g.l, Selected: g.v == r.query.GroupBy})
	}
	// Execute into memory first so a template error never leaves half a page.
	var buf bytes.Buffer
	if err := pageTemplate().Execute(&buf, v); err != nil {
		return fmt.Errorf("report: rendering HTML: %w", err)
	}
	// Records may hold invalid UTF-8 (ARR error texts, adopted sessions'
	// names); the page must still be valid UTF-8.
	if _, err := w.Write(bytes.ToValidUTF8(buf.Bytes(), []byte("\uFFFD"))); err != nil {
		return fmt.Errorf("report: writing HTML: %w", err)
	}
	return nil
}

func f1(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// niceScale returns a round axis maximum ≥ max and its tick step (1, 2 or 5
// times a power of ten), aiming at about five ticks.
func niceScale(max float64) (top, step float64) {
	if !(max > 0) || math.IsInf(max, 0) {
		return 1, 0.2
	}
	raw := max / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		step = m * mag
		if step >= raw {
			break
		}
	}
	return math.Ceil(max/step-1e-9) * step, step
}

// ticks are the axis values 0, step, … top as labels: each value is
// computed as i×step (never by adding steps, which accumulates float
// error) and printed with the decimals the step has, so 0.1+0.2 prints
// "0.3", not "0.30000000000000004".
func ticks(top, step float64) (vals []float64, labels []string) {
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	n := int(math.Round(top / step))
	for i := 0; i <= n; i++ {
		v := float64(i) * step
		vals = append(vals, v)
		labels = append(labels, strconv.FormatFloat(v, 'f', decimals, 64))
	}
	return vals, labels
}

func buildDayChart(r *Report) dayChart {
	c := dayChart{W: chartW, H: dayChartH}
	plotW := float64(chartW - marginLeft - marginRight)
	plotH := float64(dayChartH - marginTop - marginBot)
	x0, y0 := float64(marginLeft), float64(dayChartH-marginBot)
	c.AxisX0, c.AxisY0, c.AxisX1, c.AxisY1 = f1(x0), f1(y0), f1(x0+plotW), f1(float64(marginTop))
	c.XTitleX, c.XTitleY = f1(x0+plotW/2), f1(float64(dayChartH)-8)

	var max float64
	busiest := ""
	for _, d := range r.Days {
		if d.Total > max {
			max, busiest = d.Total, d.Date
		}
	}
	c.Empty = max == 0
	c.Unit = unitFor(max)
	// The title sits above the axis, left-aligned at the chart's edge so
	// it can never be cut off.
	c.YTitle = "Session " + c.Unit.Name + " (" + c.Unit.Abbr + ")"
	c.YTitleX, c.YTitleY = "4", f1(float64(marginTop)-16)
	top, step := niceScale(max * c.Unit.PerHour)
	vals, labels := ticks(top, step)
	for i, v := range vals {
		y := y0 - v/top*plotH
		c.YTicks = append(c.YTicks, svgTick{Y: f1(y), Label: labels[i], X1: f1(x0), X2: f1(x0 + plotW), TX: f1(x0 - 6)})
	}
	c.Desc = fmt.Sprintf("Stacked bars of billed session %s per UTC day from %s to %s, one colour per size.", c.Unit.Name, r.From, r.To)
	if !c.Empty {
		c.Desc += fmt.Sprintf(" The busiest day is %s with %s.", busiest, hoursText(max))
	}
	n := len(r.Days)
	if n == 0 {
		return c
	}
	slot := plotW / float64(n)
	bw := math.Min(math.Max(1, slot*0.78), 56) // a few days' bars stay bars, not slabs
	every := (n + 15) / 16                     // at most 16 date labels
	for i, d := range r.Days {
		x := x0 + float64(i)*slot + (slot-bw)/2
		y := y0
		for _, size := range r.Sizes {
			h := d.Hours[size]
			if h <= 0 {
				continue
			}
			ph := h * c.Unit.PerHour / top * plotH
			y -= ph
			c.Bars = append(c.Bars, svgBar{X: f1(x), Y: strconv.FormatFloat(y, 'f', 2, 64), W: f1(bw),
				H: strconv.FormatFloat(ph, 'f', 2, 64), Fill: sizeColor(size), Date: d.Date, Size: size,
				Hours: num(h), Title: fmt.Sprintf("%s %s: %s", d.Date, size, hoursText(h))})
		}
		if i%every == 0 {
			c.XLabels = append(c.XLabels, svgText{X: f1(x + bw/2), Y: f1(y0 + 18), Text: d.Date[5:]})
		}
	}
	lx := x0 + plotW - float64(len(r.Sizes))*110
	for i, size := range r.Sizes {
		x := lx + float64(i)*110
		c.Legend = append(c.Legend, legendItem{X: f1(x), Y: "8", TX: f1(x + 18), TY: "19", Fill: sizeColor(size), Label: size})
	}
	return c
}

// shorten cuts a label to n runes so a long requester name cannot push the
// bars off the chart; the full text stays in the bar's tooltip.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	return string(rs[:n-1]) + "…"
}

func buildRequesterChart(r *Report) requesterChart {
	groups := r.Requesters
	others := 0
	if len(groups) > maxRequesterBars {
		others = len(groups) - maxRequesterBars + 1
		rest := Group{Key: fmt.Sprintf("%d other requesters", others)}
		for _, g := range groups[maxRequesterBars-1:] {
			rest.Minutes += g.Minutes
			rest.Count += g.Count
		}
		rest.Hours = round(rest.Minutes/60, 3)
		groups = append(groups[:maxRequesterBars-1:maxRequesterBars-1], rest)
	}
	c := requesterChart{W: chartW, Empty: len(groups) == 0, Rows: r.Requesters}
	plotH := len(groups) * barRowH
	c.H = 8 + plotH + reqAxisH
	var max float64
	for _, g := range groups {
		max = math.Max(max, g.Hours)
	}
	c.Unit = unitFor(max)
	top, step := niceScale(max * c.Unit.PerHour)
	plotW := float64(chartW - labelW - 90) // room for the value printed after the longest bar
	yAxis := float64(8 + plotH)
	c.AxisX0, c.AxisX1, c.AxisY0, c.AxisY1 = strconv.Itoa(labelW), f1(float64(labelW)+plotW), "4", f1(yAxis)
	vals, labels := ticks(top, step)
	for i, v := range vals {
		x := f1(float64(labelW) + v/top*plotW)
		c.Ticks = append(c.Ticks, svgTick{X: x, Label: labels[i], X1: x, X2: x, Y1: "4", Y2: f1(yAxis), TX: x, TY: f1(yAxis + 16)})
	}
	c.XTitle = "Session " + c.Unit.Name + " (" + c.Unit.Abbr + ")"
	c.XTitleX, c.XTitleY = f1(float64(labelW)+plotW/2), f1(yAxis+36)
	c.Desc = fmt.Sprintf("Horizontal bars of billed session %s per requester from %s to %s, largest first.", c.Unit.Name, r.From, r.To)
	if others > 0 {
		c.Desc += fmt.Sprintf(" The last bar sums the %d requesters with the least time.", others)
	}
	for i, g := range groups {
		y := float64(8 + i*barRowH)
		w := g.Hours * c.Unit.PerHour / top * plotW
		fill := requesterColor
		if others > 0 && i == len(groups)-1 {
			fill = othersColor
		}
		c.Bars = append(c.Bars, svgBar{
			X: strconv.Itoa(labelW), Y: f1(y + 4), W: strconv.FormatFloat(w, 'f', 2, 64), H: strconv.Itoa(barRowH - 8),
			Fill: fill, Key: g.Key, Hours: num(g.Hours),
			Title: fmt.Sprintf("%s: %s in %d sessions", g.Key, hoursText(g.Hours), g.Count),
			Label: shorten(g.Key, 28), FullLabel: g.Key, Value: hoursText(g.Hours),
			LabelX: f1(float64(labelW) + w + 6), LabelY: f1(y + 4 + float64(barRowH-8)/2 + 4),
		})
	}
	return c
}

// humanDuration prints "45 s", "4 min 10 s" or "1 h 05 min": conversions
// take seconds to hours, and Go's "1h0m0s" reads poorly in a table.
func humanDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600 && s%60 == 0:
		return fmt.Sprintf("%d min", s/60)
	case s < 3600:
		return fmt.Sprintf("%d min %d s", s/60, s%60)
	}
	return fmt.Sprintf("%d h %02d min", s/3600, s%3600/60)
}
