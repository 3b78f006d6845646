package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/arrops/arrops/internal/loadresult"
)

// row is one line of the table. Value, Baseline and Ratio are also kept as
// numbers (V, B, R) so runs can be compared from the JSON.
type row struct {
	Metric   string  `json:"metric"`
	Value    string  `json:"value"`
	Baseline string  `json:"baseline"`
	Ratio    string  `json:"ratio"`
	Target   string  `json:"target"`
	Met      string  `json:"met"` // "yes", "NO", or "-" when there is no target
	V        float64 `json:"v"`
	B        float64 `json:"b,omitempty"`
	R        float64 `json:"r,omitempty"`
}

const none = "-"

// inputs is everything the table is made from; a nil part is reported as
// missing with its reason from errs.
type inputs struct {
	bench   benchSet
	load    *loadresult.Result
	timing  *loadresult.Timing
	startup *startupResult
	burst   *burstResult
	errs    map[string]string
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

func num(v float64) string {
	switch {
	case v >= 100 || v == math.Trunc(v):
		return groupThousands(strconv.FormatFloat(v, 'f', 0, 64))
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func ratio(r float64) string { return strconv.FormatFloat(r, 'f', 2, 64) + "x" }

func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }

// missing is the row for a measurement that did not run.
func missing(metric, target, why string) row {
	if why == "" {
		why = "not measured"
	}
	met := none
	if target != none {
		met = "NO"
	}
	return row{Metric: metric, Value: why, Baseline: none, Ratio: none, Target: target, Met: met}
}

// buildRows turns the measurements into the table, in a fixed order.
func buildRows(in inputs) []row {
	var rows []row
	b := in.bench
	benchMissing := in.errs["bench"]
	if benchMissing == "" {
		benchMissing = "no result in the benchmark output"
	}

	// Decode+dispatch per core: invocations per CPU-second, so a busy
	// machine does not count against the handler.
	for _, p := range []struct{ name, metric, target string }{
		{"start", "commands decode+dispatch, start (per core)", "≥ 5,000/s"},
		{"rejected", "commands decode+dispatch, rejected (per core)", none},
	} {
		v, ok1 := b.metric("commands", "DecodeDispatch/"+p.name, "inv/cpu-s")
		base, ok2 := b.metric("commands", "DecodeDispatch/baseline=decode", "inv/cpu-s")
		wall, _ := b.metric("commands", "DecodeDispatch/"+p.name, "inv/s")
		if !ok1 || !ok2 {
			rows = append(rows, missing(p.metric, p.target, benchMissing))
			continue
		}
		r := row{Metric: p.metric, Value: num(v) + "/s (wall " + num(wall) + "/s)", Baseline: num(base) + "/s bare decode",
			Ratio: ratio(base / v), Target: p.target, Met: none, V: v, B: base, R: base / v}
		if p.target != none {
			r.Met = met(v >= 5000)
		}
		rows = append(rows, r)
	}

	// Each function path through the handler's route with real backends.
	for _, p := range []string{"commands-start", "commands-rejected", "watch", "shutdown", "convert-rejected", "report"} {
		metric := "route " + p + " (Azurite + simulator)"
		v, ok1 := b.metric("handler", "Routes/route/"+p, "inv/s")
		base, ok2 := b.metric("handler", "Routes/decode/"+p, "inv/s")
		if !ok1 || !ok2 {
			rows = append(rows, missing(metric, none, benchMissing))
			continue
		}
		rows = append(rows, row{Metric: metric, Value: num(v) + " inv/s", Baseline: num(base) + " inv/s bare decode",
			Ratio: ratio(base / v), Target: none, Met: none, V: v, B: base, R: base / v})
	}

	// Route and bare calls ran in turn, pair by pair: the median pair ratio
	// is the figure a drifting Azurite moves least.
	routeNs, ok1 := b.metric("handler", "HandlerOverhead", "route-ns/op")
	bareNs, ok2 := b.metric("handler", "HandlerOverhead", "bare-ns/op")
	pair, ok3 := b.metric("handler", "HandlerOverhead", "x-bare-median-pair")
	if ok1 && ok2 && ok3 {
		rows = append(rows, row{Metric: "handler overhead, commands start", Value: num(routeNs/1e6) + " ms/op",
			Baseline: num(bareNs/1e6) + " ms bare ARR+table+queue calls", Ratio: ratio(pair) + " (totals " + ratio(routeNs/bareNs) + ")",
			Target: "≤ 1.10x", Met: met(pair <= 1.10), V: routeNs, B: bareNs, R: pair})
	} else {
		rows = append(rows, missing("handler overhead, commands start", "≤ 1.10x", benchMissing))
	}

	if su := in.startup; su != nil {
		r := su.HandlerMedian / su.HelloMedian
		rows = append(rows, row{Metric: fmt.Sprintf("start-up to first GET / (median of %d)", su.Runs),
			Value: num(su.HandlerMedian) + " ms", Baseline: num(su.HelloMedian) + " ms hello-world server",
			Ratio: ratio(r) + " (pairs " + ratio(su.PairRatio) + ")", Target: "≤ 1.5x and < 20 ms",
			Met: met(r <= 1.5 && su.HandlerMedian < 20), V: su.HandlerMedian, B: su.HelloMedian, R: r})
		rows = append(rows, row{Metric: "idle RSS (VmRSS after start)", Value: num(mb(su.IdleRSS)) + " MB", Baseline: none,
			Ratio: none, Target: "< 25 MB", Met: met(mb(su.IdleRSS) < 25), V: mb(su.IdleRSS)})
	} else {
		rows = append(rows, missing("start-up to first GET /", "≤ 1.5x and < 20 ms", in.errs["startup"]),
			missing("idle RSS (VmRSS after start)", "< 25 MB", in.errs["startup"]))
	}
	if bu := in.burst; bu != nil {
		rows = append(rows, row{Metric: fmt.Sprintf("peak RSS (VmHWM) after %d invocations", bu.Invocations),
			Value:    fmt.Sprintf("%s MB (now %s MB, %d failed, %s s)", num(mb(bu.PeakRSS)), num(mb(bu.RSS)), bu.Failed, num(bu.Seconds)),
			Baseline: num(mb(bu.IdleRSS)) + " MB idle, configured", Ratio: ratio(float64(bu.PeakRSS) / float64(bu.IdleRSS)),
			Target: "0 failed", Met: met(bu.Failed == 0), V: mb(bu.PeakRSS), B: mb(bu.IdleRSS), R: float64(bu.PeakRSS) / float64(bu.IdleRSS)})
	} else {
		rows = append(rows, missing("peak RSS (VmHWM) after a burst", none, in.errs["burst"]))
	}

	c, ok1 := b.metric("handler", "Lifecycle", "arr-create/session")
	s, ok2 := b.metric("handler", "Lifecycle", "arr-stop/session")
	g, ok3 := b.metric("handler", "Lifecycle", "arr-get/session")
	if ok1 && ok2 && ok3 {
		rows = append(rows, row{Metric: "ARR calls per session lifecycle", Value: fmt.Sprintf("create %s, stop %s, GET %s", num(c), num(s), num(g)),
			Baseline: none, Ratio: none, Target: "create 1, stop 1, GET 1", Met: met(c == 1 && s == 1 && g == 1), V: c + s + g})
	} else {
		rows = append(rows, missing("ARR calls per session lifecycle", "create 1, stop 1, GET 1", benchMissing))
	}

	w1, ok1 := b.metric("watch", "UnchangedSweep/sweep", "table-writes/sweep")
	w2, ok2 := b.metric("handler", "Routes/route/watch", "table-writes/sweep")
	if ok1 || ok2 {
		rows = append(rows, row{Metric: "table writes per unchanged watch sweep", Value: num(max(w1, w2)), Baseline: none, Ratio: none,
			Target: "0", Met: met(max(w1, w2) == 0), V: max(w1, w2)})
	} else {
		rows = append(rows, missing("table writes per unchanged watch sweep", "0", benchMissing))
	}
	if v, ok := b.metric("watch", "UnchangedSweep/sweep", "ns/op"); ok {
		base, _ := b.metric("watch", "UnchangedSweep/baseline=list", "ns/op")
		calls, _ := b.metric("watch", "UnchangedSweep/sweep", "arr-calls/sweep")
		pages, _ := b.metric("watch", "UnchangedSweep/sweep", "list-pages/sweep")
		rows = append(rows, row{Metric: "watch sweep, 200 unchanged sessions",
			Value:    fmt.Sprintf("%s ms, %s ARR calls (%s List pages)", num(v/1e6), num(calls), num(pages)),
			Baseline: num(base/1e6) + " ms List alone", Ratio: ratio(v / base), Target: none, Met: none, V: v, B: base, R: v / base})
	}

	stops, ok1 := b.metric("shutdown", "Sweep1000/sweep", "stops/sweep")
	pages, _ := b.metric("shutdown", "Sweep1000/sweep", "list-pages/sweep")
	gets, _ := b.metric("shutdown", "Sweep1000/sweep", "gets/sweep")
	creates, _ := b.metric("shutdown", "Sweep1000/sweep", "creates/sweep")
	v, ok2 := b.metric("shutdown", "Sweep1000/sweep", "ns/op")
	base, ok3 := b.metric("shutdown", "Sweep1000/baseline=list", "ns/op")
	if ok1 && ok2 && ok3 {
		// The benchmark fails unless the sweep made exactly one List call
		// (all its pages) and stopped all 1,000.
		rows = append(rows, row{Metric: "shutdown sweep, 1,000 sessions: ARR calls",
			Value:    fmt.Sprintf("1 List (%s pages) + %s stops + %s GETs", num(pages), num(stops), num(gets)),
			Baseline: none, Ratio: none, Target: "1 List + the stops", Met: met(stops == 1000 && gets == 0 && creates == 0), V: stops})
		rows = append(rows, row{Metric: "shutdown sweep, 1,000 sessions: wall", Value: num(v/1e6) + " ms",
			Baseline: num(base/1e6) + " ms List alone", Ratio: ratio(v / base), Target: none, Met: none, V: v, B: base, R: v / base})
	} else {
		rows = append(rows, missing("shutdown sweep, 1,000 sessions", "1 List + the stops", benchMissing))
	}

	rows = append(rows, timingRows(in)...)

	if l := in.load; l != nil {
		rows = append(rows,
			row{Metric: fmt.Sprintf("load: %d commands, 50 requesters", l.Commands), Value: num(l.CommandsPerSecond) + " commands/s",
				Baseline: none, Ratio: none, Target: none, Met: none, V: l.CommandsPerSecond},
			row{Metric: "load: latency p50 / p99", Value: num(l.P50Ms) + " / " + num(l.P99Ms) + " ms", Baseline: none, Ratio: none,
				Target: none, Met: none, V: l.P99Ms},
			row{Metric: "load: sessions / malformed / duplicates / poison",
				Value:    fmt.Sprintf("%d / %d / %d / %d", l.Sessions, l.Malformed, l.Duplicates, l.Poison),
				Baseline: none, Ratio: none, Target: "poison = malformed only", Met: met(l.Poison <= l.Malformed), V: float64(l.Poison)})
	} else {
		rows = append(rows, missing("load scenario (e2e TestLoad)", none, in.errs["load"]))
	}
	return rows
}

// timingRows are the precise-time measurements: latencies from the e2e
// timing scenarios (timing.json) and the ARR calls of a follow-up tick.
func timingRows(in inputs) []row {
	var rows []row
	secs := func(l *loadresult.Latency) string {
		return fmt.Sprintf("p50 %s / p95 %s / max %s s (n=%d)", num(l.P50Ms/1000), num(l.P95Ms/1000), num(l.MaxMs/1000), l.N)
	}
	tm := in.timing
	why := in.errs["timing"]
	const readyMetric, readyTarget = "ARR Ready -> SessionReady, follow-ups", "p95 ≤ 5 s"
	if tm != nil && tm.ReadyFollowUps != nil && tm.ReadyFollowUps.N > 0 {
		l := tm.ReadyFollowUps
		r := row{Metric: readyMetric, Value: secs(l), Baseline: none, Ratio: none, Target: readyTarget, Met: met(l.P95Ms <= 5000), V: l.P95Ms}
		if b := tm.ReadyBaseline; b != nil && b.N > 0 {
			r.Baseline, r.B, r.R = secs(b)+" follow-ups off", b.P95Ms, b.P95Ms/l.P95Ms
			r.Ratio = ratio(r.R) + " faster (p95)"
		}
		rows = append(rows, r)
	} else {
		rows = append(rows, missing(readyMetric, readyTarget, why))
	}
	for _, p := range []struct {
		metric, target string
		l              *loadresult.Latency
		ok             func(*loadresult.Latency) bool
	}{
		{"conversion finished -> ConversionSucceeded", "p95 ≤ 5 s", timingPart(tm, func(t *loadresult.Timing) *loadresult.Latency { return t.Conversion }),
			func(l *loadresult.Latency) bool { return l.P95Ms <= 5000 }},
		{"policy limit -> ARR stop call", "p95 ≤ 10 s, max ≤ 30 s, never early", timingPart(tm, func(t *loadresult.Timing) *loadresult.Latency { return t.PolicyStop }),
			func(l *loadresult.Latency) bool { return l.P95Ms <= 10000 && l.MaxMs <= 30000 && l.MinMs >= -1 }},
		{"warning instant -> SessionStopWarning", "p95 ≤ 10 s, max ≤ 30 s, never early", timingPart(tm, func(t *loadresult.Timing) *loadresult.Latency { return t.PolicyWarning }),
			func(l *loadresult.Latency) bool { return l.P95Ms <= 10000 && l.MaxMs <= 30000 && l.MinMs >= -1 }},
	} {
		if p.l == nil || p.l.N == 0 {
			rows = append(rows, missing(p.metric, p.target, why))
			continue
		}
		rows = append(rows, row{Metric: p.metric, Value: secs(p.l) + ", earliest " + num(p.l.MinMs/1000) + " s", Baseline: none, Ratio: none,
			Target: p.target, Met: met(p.ok(p.l)), V: p.l.P95Ms})
	}

	rows = append(rows, poolRows(tm, why)...)

	b := in.bench
	var vals []string
	ok, all := true, true
	var total float64
	for _, n := range []string{"1", "10", "100"} {
		l, ok1 := b.metric("watch", "StartingTick/starting="+n, "arr-lists/tick")
		g, ok2 := b.metric("watch", "StartingTick/starting="+n, "arr-gets/tick")
		if !ok1 || !ok2 {
			all = false
			break
		}
		vals = append(vals, fmt.Sprintf("%s: %s List + %s GET", n, num(l), num(g)))
		ok = ok && l == 1 && g == 0
		total += l + g
	}
	const tickMetric, tickTarget = "ARR calls per follow-up tick, 1 / 10 / 100 starting", "1 List, 0 GETs each"
	if all {
		rows = append(rows, row{Metric: tickMetric, Value: strings.Join(vals, "; "), Baseline: "SDK pollers: 1 / 10 / 100 GETs per 2-10 s",
			Ratio: none, Target: tickTarget, Met: met(ok), V: total})
	} else {
		why := in.errs["bench"]
		if why == "" {
			why = "no result in the benchmark output"
		}
		rows = append(rows, missing(tickMetric, tickTarget, why))
	}
	return rows
}

// poolRows are the warm pool's figures (e2e TestPoolLatency, TestPoolBurst).
func poolRows(tm *loadresult.Timing, why string) []row {
	var rows []row
	ms := func(l *loadresult.Latency) string {
		return fmt.Sprintf("p50 %s / p95 %s / max %s ms (n=%d)", num(l.P50Ms), num(l.P95Ms), num(l.MaxMs), l.N)
	}
	const warmMetric, warmTarget = "start on the queue -> reply with hostname, pool hours", "p95 < 1 s, n ≥ 50"
	if w := timingPart(tm, func(t *loadresult.Timing) *loadresult.Latency { return t.PoolWarm }); w != nil && w.N > 0 {
		r := row{Metric: warmMetric, Value: ms(w), Baseline: none, Ratio: none, Target: warmTarget, Met: met(w.P95Ms < 1000 && w.N >= 50), V: w.P95Ms}
		if c := tm.PoolCold; c != nil && c.N > 0 {
			r.Baseline, r.B, r.R = ms(c)+" cold start -> SessionReady", c.P95Ms, c.P95Ms/w.P95Ms
			r.Ratio = ratio(r.R) + " faster (p95)"
		}
		rows = append(rows, r)
	} else {
		rows = append(rows, missing(warmMetric, warmTarget, why))
	}
	const burstMetric, burstTarget = "200 concurrent starts vs a pool of 20", "20 warm, 180 cold, 0 double claims"
	if tm != nil && tm.PoolBurst != nil {
		p := tm.PoolBurst
		rows = append(rows, row{Metric: burstMetric, Value: fmt.Sprintf("%d warm, %d cold, %d double claims", p.Warm, p.Cold, p.DoubleClaims),
			Baseline: none, Ratio: none, Target: burstTarget, Met: met(p.Warm == p.Pool && p.Cold == p.Starts-p.Pool && p.DoubleClaims == 0), V: float64(p.Warm)})
	} else {
		rows = append(rows, missing(burstMetric, burstTarget, why))
	}
	return rows
}

func timingPart(t *loadresult.Timing, f func(*loadresult.Timing) *loadresult.Latency) *loadresult.Latency {
	if t == nil {
		return nil
	}
	return f(t)
}

// printTable writes the rows as an aligned table and a line naming the
// targets not met.
func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tVALUE\tBASELINE\tRATIO\tTARGET\tMET?")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Metric, r.Value, r.Baseline, r.Ratio, r.Target, r.Met)
	}
	tw.Flush()
	var gaps []string
	for _, r := range rows {
		if r.Met == "NO" {
			gaps = append(gaps, r.Metric)
		}
	}
	if len(gaps) == 0 {
		fmt.Fprintln(w, "every target met")
	} else {
		fmt.Fprintf(w, "targets not met (%d): %s\n", len(gaps), strings.Join(gaps, "; "))
	}
}
