package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	rep "github.com/arrops/arrops/report"
)

func runReport(ctx context.Context, e *env, args []string) error {
	fs := newFlags("report")
	from := fs.String("from", "", "first day, YYYY-MM-DD UTC (default: the first of --to's month)")
	to := fs.String("to", "", "last day, YYYY-MM-DD UTC (default: today)")
	groupBy := fs.String("group-by", rep.GroupRequester, "requester, size, day or tag:KEY")
	format := fs.String("format", formatTable, "table, json or csv (json and csv are exactly what GET /api/report returns)")
	dataset := fs.String("dataset", rep.DatasetSessions, "rows of json and csv: sessions or conversions")
	if _, err := parseFlags(e, fs, args, "report [--from DATE] [--to DATE] [--group-by requester|size|day|tag:KEY] [--format table|json|csv] [--dataset sessions|conversions]", 0); err != nil {
		return err
	}
	f, err := checkFormat(*format)
	if err != nil {
		return err
	}
	if f == formatTable && *dataset != rep.DatasetSessions {
		return usagef("--dataset %s needs --format json or csv (the table summarises both; arrctl conversions lists conversions)", *dataset)
	}
	// The HTTP report's parser validates the same parameters, so both accept
	// and reject the same ranges and groupings.
	v := url.Values{"groupBy": {*groupBy}, "dataset": {*dataset}}
	if *from != "" {
		v.Set("from", *from)
	}
	if *to != "" {
		v.Set("to", *to)
	}
	v.Set("format", string(rep.FormatJSON))
	if f == formatCSV {
		v.Set("format", string(rep.FormatCSV))
	}
	now := e.now().UTC()
	q, err := rep.ParseQuery(v, "", now)
	if err != nil {
		var pe *rep.ParamError
		if errors.As(err, &pe) {
			return usagef("--%s: %s", flagOfParam(pe.Param), pe.Problem)
		}
		return usagef("%v", err)
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	recs, err := e.records(ctx)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := rep.Write(ctx, &buf, recs, q, cfg.ReportRates(), now); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if f != formatTable {
		_, err := e.stdout.Write(buf.Bytes())
		return err
	}
	var r reportTotals
	if err := json.Unmarshal(buf.Bytes(), &r); err != nil {
		return fmt.Errorf("report: decoding the JSON report: %w", err)
	}
	return writeReportTable(e.stdout, &r)
}

func flagOfParam(p string) string {
	if p == "groupBy" {
		return "group-by"
	}
	return p
}

// reportTotals is the part of the JSON report the table shows. Decoding the
// JSON that rep.Write produced (instead of aggregating again) is what
// keeps the table's numbers equal to the HTTP report's.
type reportTotals struct {
	From            string                `json:"from"`
	To              string                `json:"to"`
	GroupBy         string                `json:"groupBy"`
	RatesConfigured bool                  `json:"ratesConfigured"`
	Currency        string                `json:"currency"`
	Note            string                `json:"note"`
	Groups          []rep.Group           `json:"groups"`
	Totals          rep.Totals            `json:"totals"`
	Savings         rep.Savings           `json:"savings"`
	Waste           rep.Waste             `json:"waste"`
	StartTimes      rep.StartTimes        `json:"startTimes"`
	Conversions     rep.ConversionSummary `json:"conversions"`
}

func writeReportTable(w io.Writer, r *reportTotals) error {
	fmt.Fprintf(w, "Sessions %s .. %s (UTC), by %s\n\n", r.From, r.To, r.GroupBy)
	head := []string{groupHeader(r.GroupBy), "SESSIONS", "RUNNING", "MINUTES", "HOURS"}
	if r.RatesConfigured {
		head = append(head, "COST ("+text(r.Currency)+")")
	}
	rows := [][]string{head}
	row := func(key string, t rep.Totals) {
		cells := []string{key, strconv.Itoa(t.Count), strconv.Itoa(t.Running),
			strconv.FormatFloat(t.Minutes, 'f', 1, 64), strconv.FormatFloat(t.Hours, 'f', 2, 64)}
		if r.RatesConfigured {
			cells = append(cells, strconv.FormatFloat(t.Cost, 'f', 2, 64))
		}
		rows = append(rows, cells)
	}
	for _, g := range r.Groups {
		row(text(g.Key), g.Totals)
	}
	row("TOTAL", r.Totals)
	if err := writeAligned(w, rows); err != nil {
		return err
	}
	money := func(t rep.Totals) string {
		s := fmt.Sprintf("%d session%s, %.1f min (%.2f h)", t.Count, plural(t.Count), t.Minutes, t.Hours)
		if r.RatesConfigured {
			s += fmt.Sprintf(", %.2f %s", t.Cost, text(r.Currency))
		}
		return s
	}
	fmt.Fprintf(w, "\nSaved by policy stops (stop to lease end): %s\n", money(r.Savings.Totals))
	for _, g := range r.Savings.ByPolicy {
		fmt.Fprintf(w, "  %s: %s\n", text(g.Key), money(g.Totals))
	}
	if n := r.Savings.LeaseUnknown; n > 0 {
		fmt.Fprintf(w, "  %d policy stop%s without a recorded lease, not counted\n", n, plural(n))
	}
	fmt.Fprintf(w, "Spent on expired leases: %s\n", money(r.Waste.Totals))

	st := r.StartTimes
	fmt.Fprintf(w, "\nStart (created to Ready): %d session%s", st.Ready, plural(st.Ready))
	if st.P50Seconds != nil {
		fmt.Fprintf(w, ", p50 %.0fs, p95 %.0fs", *st.P50Seconds, *st.P95Seconds)
	}
	fmt.Fprintln(w)
	for _, g := range st.BySize {
		fmt.Fprintf(w, "  %s: %d, p50 %.0fs, p95 %.0fs\n", text(g.Key), g.Count, g.P50Seconds, g.P95Seconds)
	}
	fmt.Fprintf(w, "Never Ready: %d\n", st.NeverReady)
	for _, f := range st.ByCode {
		fmt.Fprintf(w, "  %s: %d\n", text(f.Code), f.Count)
	}

	c := r.Conversions
	fmt.Fprintf(w, "\nConversions run by ARR: %d (%d succeeded, %d failed, %d running)", c.Count, c.Succeeded, c.Failed, c.Running)
	if c.SuccessRate != nil {
		fmt.Fprintf(w, ", success rate %.0f%%", *c.SuccessRate*100)
	}
	if c.MedianSeconds != nil {
		fmt.Fprintf(w, ", median %.0fs", *c.MedianSeconds)
	}
	if c.P95Seconds != nil {
		fmt.Fprintf(w, ", p95 %.0fs", *c.P95Seconds)
	}
	fmt.Fprintln(w)
	for _, f := range c.TopFailures {
		fmt.Fprintf(w, "  %s: %d\n", text(f.Code), f.Count)
	}
	fmt.Fprintf(w, "Rejected uploads (never sent to ARR): %d\n", c.Rejected.Count)
	for _, f := range c.Rejected.ByCode {
		fmt.Fprintf(w, "  %s: %d\n", text(f.Code), f.Count)
	}
	if r.Note != "" {
		fmt.Fprintf(w, "Note: %s\n", text(r.Note))
	}
	return nil
}

// writeAligned prints rows as columns two spaces apart: the first column
// left-aligned, the numbers right-aligned (tabwriter aligns all columns one
// way).
func writeAligned(w io.Writer, rows [][]string) error {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			switch {
			case i == 0:
				b.WriteString(c)
				if len(r) > 1 {
					b.WriteString(pad)
				}
			default:
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func groupHeader(groupBy string) string {
	switch groupBy {
	case rep.GroupRequester:
		return "REQUESTER"
	case rep.GroupSize:
		return "SIZE"
	case rep.GroupDay:
		return "DAY"
	}
	return "TAG " + text(groupBy[len(rep.GroupTag)+1:])
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
