package report

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/arrops/arrops"
)

// Render writes the report for q in q.Format to w. JSON and CSV session rows
// are written as the sessions arrive, the totals after them, so memory stays
// bounded by the aggregates; HTML needs the totals first and is written once
// Build is done. On an error part of the output may have been written: an
// HTTP handler that wants a clean 500 should render into a buffer or check
// the first record before committing headers.
func Render(ctx context.Context, w io.Writer, q Query, rates Rates, now time.Time,
	sessions iter.Seq2[*arrops.Session, error], conversions iter.Seq2[*arrops.Conversion, error]) error {
	switch q.Format {
	case FormatCSV:
		return renderCSV(ctx, w, q, rates, now, sessions, conversions)
	case FormatHTML:
		r, err := Build(ctx, q, rates, now, sessions, conversions)
		if err != nil {
			return err
		}
		return WriteHTML(w, r)
	}
	return renderJSON(ctx, w, q, rates, now, sessions, conversions)
}

type jsonHead struct {
	From            string             `json:"from"`
	To              string             `json:"to"`
	GroupBy         string             `json:"groupBy"`
	GeneratedAt     time.Time          `json:"generatedAt"`
	RatesConfigured bool               `json:"ratesConfigured"`
	Currency        string             `json:"currency,omitempty"`
	RatesPerHour    map[string]float64 `json:"ratesPerHour,omitempty"`
	Note            string             `json:"note,omitempty"`
}

type jsonTail struct {
	Groups      []Group           `json:"groups"`
	Days        []Day             `json:"days"`
	Totals      Totals            `json:"totals"`
	Conversions ConversionSummary `json:"conversions"`
}

func head(q Query, rates Rates, now time.Time) jsonHead {
	h := jsonHead{
		From: q.From.Format(dateLayout), To: q.To.Format(dateLayout), GroupBy: q.GroupLabel(),
		GeneratedAt: now.UTC(), RatesConfigured: rates.Set,
	}
	if rates.Set {
		h.Currency = rates.Currency
		h.RatesPerHour = map[string]float64{string(arrops.SizeStandard): rates.Standard, string(arrops.SizePremium): rates.Premium}
	} else {
		h.Note = NoRates
	}
	return h
}

func renderJSON(ctx context.Context, w io.Writer, q Query, rates Rates, now time.Time,
	sessions iter.Seq2[*arrops.Session, error], conversions iter.Seq2[*arrops.Conversion, error]) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	hb, err := json.Marshal(head(q, rates, now))
	if err != nil {
		return fmt.Errorf("report: encoding JSON head: %w", err)
	}
	// Splice "sessions" into the head object so its fields come first.
	bw.Write(hb[:len(hb)-1])
	bw.WriteString(`,"sessions":[`)
	first := true
	enc := &rowEncoder{html: true}
	r, err := build(ctx, q, rates, now, sessions, conversions, func(row *SessionRow) error {
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.WriteByte('\n')
		_, err := bw.Write(enc.encode(row))
		return err
	})
	if err != nil {
		return err
	}
	tb, err := json.Marshal(jsonTail{Groups: r.Groups, Days: r.Days, Totals: r.Totals, Conversions: r.Conversions})
	if err != nil {
		return fmt.Errorf("report: encoding JSON totals: %w", err)
	}
	bw.WriteString("\n],")
	bw.Write(tb[1:])
	bw.WriteByte('\n')
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: writing JSON: %w", err)
	}
	return nil
}

// CSVHeader is the fixed column order of the CSV report.
var CSVHeader = []string{
	"kind", "id", "key", "size", "status", "requestedBy", "tags",
	"createdAt", "readyAt", "stoppedAt",
	"minutes", "hours", "cost", "currency", "sessions", "running", "note",
}

func renderCSV(ctx context.Context, w io.Writer, q Query, rates Rates, now time.Time,
	sessions iter.Seq2[*arrops.Session, error], conversions iter.Seq2[*arrops.Conversion, error]) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // RFC 4180
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("report: writing CSV: %w", err)
	}
	cur := ""
	if rates.Set {
		cur = rates.Currency
	}
	rec := make([]string, len(CSVHeader))
	tagEnc := &rowEncoder{}
	var tagBuf []byte
	r, err := build(ctx, q, rates, now, sessions, nil, func(row *SessionRow) error {
		tags := ""
		if len(row.Tags) > 0 {
			// JSON keeps keys and values unambiguous whatever they contain;
			// no HTML escaping, CSV is not HTML.
			tagBuf = tagEnc.tags(tagBuf[:0], row.Tags)
			tags = string(tagBuf)
		}
		cost := ""
		if row.Cost != nil {
			cost = num(*row.Cost)
		}
		rec = append(rec[:0], "session", cell(row.ID), cell(row.Group), cell(row.Size), cell(row.Status), cell(row.RequestedBy), cell(tags),
			csvTime(row.CreatedAt), csvTime(row.ReadyAt), csvTime(row.StoppedAt),
			num(row.Minutes), num(row.Hours), cost, cell(cur), "1", strconv.FormatBool(row.Running), row.Note)
		return cw.Write(rec)
	})
	if err != nil {
		return err
	}
	for _, g := range r.Groups {
		if err := cw.Write(totalsRecord("group", g.Key, g.Totals, rates.Set, cur, "")); err != nil {
			return fmt.Errorf("report: writing CSV: %w", err)
		}
	}
	if err := cw.Write(totalsRecord("total", "", r.Totals, rates.Set, cur, r.Note)); err != nil {
		return fmt.Errorf("report: writing CSV: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: writing CSV: %w", err)
	}
	return nil
}

func totalsRecord(kind, key string, t Totals, ratesSet bool, cur, note string) []string {
	cost := ""
	if ratesSet {
		cost = num(t.Cost)
	}
	return []string{kind, "", cell(key), "", "", "", "", "", "", "",
		num(t.Minutes), num(t.Hours), cost, cell(cur), strconv.Itoa(t.Count), strconv.Itoa(t.Running), note}
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// cell defuses spreadsheet formulas: a requester or tag starting with = + - @
// would otherwise run when the CSV is opened in Excel (CSV injection).
// It also replaces invalid UTF-8, which spreadsheet imports reject.
func cell(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
