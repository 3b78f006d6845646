package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
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
		"hours": func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
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
		"dur": func(d time.Duration) string {
			if d <= 0 {
				return "–"
			}
			return humanDuration(d)
		},
		"ts": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
	}).ParseFS(templates, "report.html.tmpl"))
})

// Chart geometry, in SVG user units; the page is laid out for 1280px.
const (
	chartW      = 1180
	dayChartH   = 340
	marginLeft  = 64
	marginRight = 16
	marginTop   = 36
	marginBot   = 56
	barRowH     = 26
	labelW      = 230
	// maxRequesterBars: the rest are summed into one "others" bar so a
	// report with hundreds of requesters stays readable.
	maxRequesterBars = 15
)

var sizeColors = map[string]string{"Standard": "#4e79a7", "Premium": "#f28e2b"}

const otherColor = "#9c755f"

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
}

type svgText struct {
	X, Y, Text string
}

type svgTick struct {
	Y, Label   string
	X1, X2, TX string
}

type legendItem struct {
	X, Y, TX, TY, Fill, Label string
}

type dayChart struct {
	W, H             int
	Bars             []svgBar
	XLabels          []svgText
	YTicks           []svgTick
	Legend           []legendItem
	AxisX0, AxisY0   string
	AxisX1, AxisY1   string
	YTitleX, YTitle  string
	XTitleX, XTitleY string
	Empty            bool
}

type requesterChart struct {
	W, H  int
	Bars  []svgBar
	Empty bool
}

type view struct {
	*Report
	Title      string
	Days       dayChart
	Requesters requesterChart
	GroupTitle string
}

// WriteHTML writes r as one self-contained HTML page (inline CSS and SVG, no
// script, no external asset). Every record string goes through html/template
// escaping.
func WriteHTML(w io.Writer, r *Report) error {
	v := view{
		Report:     r,
		Title:      fmt.Sprintf("ARR usage %s to %s", r.From, r.To),
		Days:       buildDayChart(r),
		Requesters: buildRequesterChart(r),
		GroupTitle: r.GroupBy,
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

func buildDayChart(r *Report) dayChart {
	c := dayChart{W: chartW, H: dayChartH}
	plotW := float64(chartW - marginLeft - marginRight)
	plotH := float64(dayChartH - marginTop - marginBot)
	x0, y0 := float64(marginLeft), float64(dayChartH-marginBot)
	c.AxisX0, c.AxisY0, c.AxisX1, c.AxisY1 = f1(x0), f1(y0), f1(x0+plotW), f1(float64(marginTop))
	c.YTitle, c.YTitleX = "Session hours", f1(float64(marginTop)-14)
	c.XTitleX, c.XTitleY = f1(x0+plotW/2), f1(float64(dayChartH)-8)

	var max float64
	for _, d := range r.Days {
		max = math.Max(max, d.Total)
	}
	c.Empty = max == 0
	top, step := niceScale(max)
	for v := 0.0; v <= top+step/2; v += step {
		y := y0 - v/top*plotH
		c.YTicks = append(c.YTicks, svgTick{Y: f1(y), Label: strconv.FormatFloat(v, 'f', -1, 64),
			X1: f1(x0), X2: f1(x0 + plotW), TX: f1(x0 - 6)})
	}
	n := len(r.Days)
	if n == 0 {
		return c
	}
	slot := plotW / float64(n)
	bw := math.Max(1, slot*0.78)
	every := (n + 15) / 16 // at most 16 date labels
	for i, d := range r.Days {
		x := x0 + float64(i)*slot + (slot-bw)/2
		y := y0
		for _, size := range r.Sizes {
			h := d.Hours[size]
			if h <= 0 {
				continue
			}
			ph := h / top * plotH
			y -= ph
			c.Bars = append(c.Bars, svgBar{X: f1(x), Y: strconv.FormatFloat(y, 'f', 2, 64), W: f1(bw),
				H: strconv.FormatFloat(ph, 'f', 2, 64), Fill: sizeColor(size), Date: d.Date, Size: size,
				Hours: num(h), Title: fmt.Sprintf("%s %s: %s h", d.Date, size, num(h))})
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
	if len(groups) > maxRequesterBars {
		rest := Group{Key: fmt.Sprintf("(%d others)", len(groups)-maxRequesterBars+1)}
		for _, g := range groups[maxRequesterBars-1:] {
			rest.Minutes += g.Minutes
			rest.Count += g.Count
		}
		rest.Hours = round(rest.Minutes/60, 3)
		groups = append(groups[:maxRequesterBars-1:maxRequesterBars-1], rest)
	}
	c := requesterChart{W: chartW, H: len(groups)*barRowH + 16, Empty: len(groups) == 0}
	var max float64
	for _, g := range groups {
		max = math.Max(max, g.Hours)
	}
	if max == 0 {
		max = 1
	}
	plotW := float64(chartW - labelW - 110)
	for i, g := range groups {
		y := float64(8 + i*barRowH)
		w := g.Hours / max * plotW
		c.Bars = append(c.Bars, svgBar{
			X: strconv.Itoa(labelW), Y: f1(y), W: strconv.FormatFloat(w, 'f', 2, 64), H: strconv.Itoa(barRowH - 8),
			Fill: "#59a14f", Key: g.Key, Hours: num(g.Hours),
			Title: fmt.Sprintf("%s: %s h in %d sessions", g.Key, num(g.Hours), g.Count),
			Label: shorten(g.Key, 32), FullLabel: g.Key,
			LabelX: f1(float64(labelW) + w + 6), LabelY: f1(y + float64(barRowH-8)/2 + 4),
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
